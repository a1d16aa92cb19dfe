"""The logging hot path: rows written in bursts, many per hop into wandb-core, and the
public ``Run.log`` fallback. Correctness only (every row back, in order), never timing.

Each test reads the offline run file back (nbwandb's reader, cross-checked with wandb leet).
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
from leet import leet_history

import nbwandb
from nbwandb.local import read_run
from nbwandb.run.writer import BackgroundWriter
from nbwandb.wandb_compat.batch_publish import FRAME_CHUNK, BatchPublisher, is_plain


def metric_rows(run):
    return [
        {k: v for k, v in row.items() if not k.startswith("_")}
        for row in read_run(run.run_dir).history
    ]


@pytest.fixture
def publish_calls(monkeypatch):
    """Counts rows that went through the batch path (and how many hops they took)."""
    calls: list[int] = []
    real = BatchPublisher.publish

    def counting(self, rows):
        calls.append(len(rows))
        return real(self, rows)

    monkeypatch.setattr(BatchPublisher, "publish", counting)
    return calls


def test_a_burst_of_rows_is_read_back_whole_and_in_order(publish_calls):
    n = 3000
    with nbwandb.init(project="p", quiet=True) as run:
        for step in range(n):
            run.log(
                {"loss": step * 0.5, "acc": 1.0 / (step + 1), "lr": 0.1}, step=step, prefix="train"
            )
            run.log({"loss": -step, "ok": step % 2 == 0}, step=step, prefix="val")
    rows = metric_rows(run)
    assert len(rows) == n
    assert [r["global_step"] for r in rows] == list(range(n))
    assert rows[1234] == {
        "global_step": 1234,
        "train/loss": 617.0,
        "train/acc": 1 / 1235,
        "train/lr": 0.1,
        "val/loss": -1234,
        "val/ok": True,
    }
    history = read_run(run.run_dir).history
    assert [r["_step"] for r in history] == list(range(n))  # wandb's own step: one per row
    assert all(r["_timestamp"] > 0 for r in history)
    assert (
        sum(publish_calls) == n and len(publish_calls) < n
    )  # the batch path, several rows per hop
    assert max(publish_calls) > 2 * FRAME_CHUNK  # bursts framed in several chunks, kept in order
    assert [r["global_step"] for r in leet_history(run.run_dir)] == list(range(n))


def test_media_rows_mixed_with_plain_rows_keep_their_order(publish_calls):
    import wandb

    with nbwandb.init(project="p", quiet=True) as run:
        for step in range(60):
            if step % 7 == 3:
                run.log(
                    {"sample": wandb.Image(np.full((4, 4, 3), step, dtype=np.uint8)), "loss": step},
                    step=step,
                )
            else:
                run.log({"loss": step}, step=step)
            if step % 10 == 0:
                run.log(
                    {"hist": np.float32(step)}, step=step, prefix="np"
                )  # numpy: wandb's own encoder
    rows = read_run(run.run_dir).history
    assert [r["global_step"] for r in rows] == list(range(60))
    assert [r["loss"] for r in rows] == list(range(60))
    media = [r["global_step"] for r in rows if "sample" in r]
    assert media == [s for s in range(60) if s % 7 == 3]
    assert all(rows[s]["sample"]["_type"] == "image-file" for s in media)
    assert [r["global_step"] for r in rows if "np/hist" in r] == list(range(0, 60, 10))
    assert rows[10]["np/hist"] == 10.0
    assert sum(publish_calls) == sum(1 for r in rows if "sample" not in r and "np/hist" not in r)


def test_a_row_listener_sees_every_row_in_order():
    seen = []
    with nbwandb.init(project="p", quiet=True) as run:
        run.add_listener(lambda row: seen.append(row["global_step"]))
        for step in range(500):
            run.log({"x": step}, step=step)
    assert seen == list(range(500))


def test_the_public_run_log_fallback_writes_every_row(monkeypatch, publish_calls):
    # A wandb without the internals the batch path needs: attach gives None.
    monkeypatch.setattr(BatchPublisher, "attach", classmethod(lambda cls, wandb_run: None))
    with nbwandb.init(project="p", quiet=True) as run:
        assert run._publisher is None
        for step in range(400):
            run.log({"loss": step * 1.0}, step=step, prefix="train")
            run.log({"loss": -1.0 * step}, step=step, prefix="val")
    rows = metric_rows(run)
    assert [r["global_step"] for r in rows] == list(range(400))
    assert all(r["val/loss"] == -r["train/loss"] for r in rows)
    assert publish_calls == []


@pytest.mark.parametrize("missing", ["_interface", "_client", "_asyncer", "_local_step"])
def test_attach_falls_back_when_an_internal_is_missing(missing):
    iface = SimpleNamespace(
        _make_request=print,
        _assign=print,
        _asyncer=SimpleNamespace(run=print),
        _client=SimpleNamespace(publish=print),
    )
    fake = SimpleNamespace(_interface=iface, _local_step=0, settings=SimpleNamespace())
    assert BatchPublisher.attach(fake) is not None  # the fake is complete ...
    delattr(iface if missing in ("_client", "_asyncer") else fake, missing)
    assert BatchPublisher.attach(fake) is None  # ... and without one piece it is refused


def test_a_wrapped_wandb_log_is_respected(monkeypatch, publish_calls):
    with nbwandb.init(project="p", quiet=True) as run:
        seen = []
        real = run.wandb_run.log
        monkeypatch.setattr(
            run.wandb_run, "log", lambda row, *a, **k: (seen.append(dict(row)), real(row, *a, **k))
        )
        for step in range(5):
            run.log({"x": step}, step=step)
    assert [r["x"] for r in seen] == list(range(5))
    assert [r["x"] for r in metric_rows(run)] == list(range(5))
    assert publish_calls == []


def test_wandb_run_stays_shared_with_an_integration(publish_calls):
    import wandb

    with nbwandb.init(project="p", quiet=True) as run:
        assert wandb.run is run.wandb_run
        for step in range(50):
            run.log({"loss": step * 1.0}, step=step)
        run.use_x_axis("trainer/global_step")
        for k in range(3):  # what Lightning's WandbLogger does with the active run
            wandb.run.log({"trainer/global_step": k, "lightning/loss": 0.5 + k})
        run.use_x_axis()
        for step in range(50, 60):
            run.log({"loss": step * 1.0}, step=step)
    history = read_run(run.run_dir).history
    assert [r["_step"] for r in history] == list(
        range(63)
    )  # wandb's step continues past the batch rows
    assert [r.get("global_step") for r in history if "loss" in r] == list(range(60))
    assert [r["lightning/loss"] for r in history if "lightning/loss" in r] == [0.5, 1.5, 2.5]
    assert sum(publish_calls) == 60


def test_plain_row_check():
    assert is_plain({"a": 1, "b": 2.5, "d": True})
    assert not is_plain({"a": "text"})
    assert not is_plain({"a": 1, "img": object()})
    assert not is_plain({"a": np.float64(1.0)})  # numpy scalars take wandb's own encoder


def test_the_writer_keeps_order_across_batched_and_plain_items():
    done: list[object] = []

    def as_list(items):
        done.append(list(items))

    def as_tuple(items):
        done.append(tuple(items))

    writer = BackgroundWriter(maxsize=16)
    gate = threading.Event()
    writer.submit(gate.wait)  # hold the writer so the next items wait in the queue together
    for i in range(3):
        writer.submit_batched(as_list, i)
    writer.submit(done.append, "plain")
    writer.submit_batched(as_tuple, 3)
    writer.submit_batched(as_list, 4)
    gate.set()
    assert writer.flush(timeout=10)
    assert done == [[0, 1, 2], "plain", (3,), [4]]
    done.clear()
    for i in range(200):  # more than the queue holds: back-pressure, nothing lost
        writer.submit_batched(as_list, i)
    assert writer.close(timeout=10)
    assert [i for batch in done for i in batch] == list(range(200))


def test_rows_sent_one_request_at_a_time_when_the_client_cannot_take_one_write(
    monkeypatch, publish_calls
):
    import nbwandb.wandb_compat.batch_publish as batch_publish

    # A wandb whose service client frames requests differently: one client.publish per row.
    monkeypatch.setattr(batch_publish, "_can_write_framed", lambda client: False)
    with nbwandb.init(project="p", quiet=True) as run:
        assert run._publisher is not None and run._publisher._one_write is False
        for step in range(300):
            run.log({"x": step, "y": 0.5 * step}, step=step)
    assert [(r["x"], r["y"]) for r in metric_rows(run)] == [(s, 0.5 * s) for s in range(300)]
    assert sum(publish_calls) == 300


def test_the_one_write_path_is_the_one_in_use():
    with nbwandb.init(project="p", quiet=True) as run:
        assert run._publisher is not None and run._publisher._one_write is True
        run.log({"x": 1.5}, step=0)
    assert metric_rows(run) == [{"x": 1.5, "global_step": 0}]


def test_rows_are_handed_over_without_waiting_and_a_flush_settles_them():
    import nbwandb.wandb_compat.batch_publish as batch_publish

    with nbwandb.init(project="p", quiet=True) as run:
        publisher = run._publisher
        assert publisher is not None and publisher._loop is not None  # the path without a wait
        for step in range(2000):
            run.log({"x": step, "y": 0.25 * step}, step=step)
        assert run.flush(timeout=30)
        # every byte scheduled was written by wandb's asyncio thread once the flush returns
        # (what asyncio still buffers is under its flow-control mark, as for wandb's own sends)
        assert publisher._scheduled == publisher._written > 0
        assert publisher.unsent() < batch_publish.MAX_UNSENT
    assert [(r["x"], r["y"]) for r in metric_rows(run)] == [(s, 0.25 * s) for s in range(2000)]


def test_a_socket_that_fails_after_the_handover_is_reported_at_the_flush(monkeypatch):
    run = nbwandb.init(project="p", quiet=True)
    try:
        run.log({"x": 0}, step=0)
        assert run.flush(timeout=30)
        client = run._publisher._iface._client
        real_write = client._writer.write

        def refuse(data):
            raise ConnectionResetError("socket gone (test)")

        monkeypatch.setattr(client._writer, "write", refuse)
        for step in range(1, 50):
            run.log({"x": step}, step=step)
        # the rows went to wandb's asyncio thread without a wait; the flush finds they failed
        with pytest.raises(nbwandb.errors.WriterError, match="ConnectionResetError: socket gone"):
            run.flush(timeout=30)
        assert run._publisher._written < run._publisher._scheduled
    finally:
        monkeypatch.setattr(client._writer, "write", real_write)
        client._broken_exc = client._broken_tb = None  # let wandb finish the run
        run.finish()  # the error was reported at the flush; finish does not raise it again
    assert [r["x"] for r in metric_rows(run)] == [0]  # only the row sent before the failure


def test_past_the_unsent_limit_a_burst_waits_for_the_socket_and_nothing_is_lost(monkeypatch):
    import nbwandb.wandb_compat.batch_publish as batch_publish

    monkeypatch.setattr(batch_publish, "MAX_UNSENT", 1)  # every burst takes the waiting send
    with nbwandb.init(project="p", quiet=True) as run:
        for step in range(1500):
            run.log({"x": step}, step=step)
            if step % 500 == 0:
                assert run.flush(timeout=30)
        assert run.flush(timeout=30)
        assert run._publisher._scheduled == 0  # no burst went without waiting
    assert [r["x"] for r in metric_rows(run)] == list(range(1500))
