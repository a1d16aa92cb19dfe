"""A tiny DDP training script for the distributed tests (run it under torchrun).

    python -m torch.distributed.run --standalone --nproc_per_node=2 train_ddp.py main OUT_DIR

Modes: ``main`` (rank 0 logs the mean over ranks), ``group`` (one run per rank),
``fail`` (rank 1 raises at step 2). Each rank writes ``OUT_DIR/rank-N.json`` with
what it logged locally, so the test can compute the expected combined values.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import nbwandb
from nbwandb.distributed import wait_for_all_ranks
from nbwandb.errors import NbwandbError

STEPS = 3


def main(mode: str, out_dir: Path) -> None:
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    rank = dist.get_rank()
    torch.manual_seed(rank)  # each rank sees different data, so the losses differ
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    record: dict = {"rank": rank, "losses": [], "handle": None}
    strategy = "group" if mode == "group" else "main"
    with nbwandb.init(
        project="ddp-test", config={"lr": 0.1}, distributed=strategy, quiet=True
    ) as run:
        record["handle"] = type(run).__name__
        record["group"], record["name"] = run.group, run.name
        for step in range(STEPS):
            x, y = torch.randn(8, 4), torch.randn(8, 1)
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if mode == "fail" and rank == 1 and step == 2:
                raise RuntimeError("rank 1 fails on purpose")
            record["losses"].append(loss.item())
            if mode == "group":
                run.log({"loss": loss.item()}, step=step, prefix="train")
                continue
            run.log(
                {"loss": loss, "rank_value": rank + 1.0}, step=step, prefix="train", reduce="mean"
            )
            # Keys in another order on each rank: they are sorted, so this is fine.
            pair = {"biggest_rank": rank, "samples": 8}
            run.log(dict(reversed(pair.items())) if rank else pair, step=step, reduce="max")
            run.log({"samples_seen": 8 * (step + 1)}, step=step, reduce="sum")
        if mode == "main":
            try:
                run.log({f"only_rank_{rank}": 1.0}, step=STEPS, reduce="mean")
            except NbwandbError as exc:
                record["mismatch_error"] = str(exc)
            run.log({"train/after_mismatch": float(rank)}, step=STEPS, reduce="sum")
            # A rank that is late: the bounded barrier gives up instead of hanging.
            if rank == 1:
                time.sleep(3)
            start = time.monotonic()
            record["barrier_reached"] = wait_for_all_ranks(timeout=1.0 if rank == 0 else 30.0)
            record["barrier_s"] = time.monotonic() - start
        record["wandb_imported"] = "wandb" in sys.modules
        (out_dir / f"rank-{rank}.json").write_text(json.dumps(record))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
