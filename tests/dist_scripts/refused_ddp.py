"""Two ranks under torchrun log one run through rank 0 (``distributed="main"``); the key is
refused right after ``init``. Run by ``tests/online/test_upload_refused.py``:

    python -m torch.distributed.run --standalone --nproc_per_node=2 refused_ddp.py OUT_DIR

Each rank writes ``OUT_DIR/rank-N.json``: its handle, the warnings it showed, and the run's
state and folder as that rank sees them.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
import warnings
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

import nbwandb

STEPS = 20


def main(out_dir: Path) -> None:
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    rank = dist.get_rank()
    shown: list[dict] = []
    warnings.showwarning = lambda message, category, *args, **kwargs: shown.append(
        {"category": category.__name__, "text": str(message)}
    )
    warnings.simplefilter("always")
    run = nbwandb.init(
        "ddp-refused",
        distributed="main",
        quiet=True,
        settings={"x_file_stream_transmit_interval": 0.2},
    )
    dist.barrier()
    if rank == 0:  # the key is revoked once the run exists
        url = os.environ["WANDB_BASE_URL"] + "/_test_proxy/refuse/401"
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).close()
    dist.barrier()
    for step in range(STEPS):
        run.log({"loss": torch.tensor(1.0 / (step + 1) + rank)}, step=step, reduce="mean")
    run.finish(timeout=30)
    record = {
        "rank": rank,
        "handle": type(run).__name__,
        "warnings": shown,
        "state": getattr(run, "state", None),
        "run_dir": str(run.run_dir) if getattr(run, "run_dir", None) else None,
        "id": run.id,
    }
    (out_dir / f"rank-{rank}.json").write_text(json.dumps(record))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
