"""``nbwandb.run.writer.BackgroundWriter`` on its own: no wandb, no run (runs in well under a second)."""

from __future__ import annotations

import threading
import time

import pytest

from nbwandb.errors import WriterError
from nbwandb.run.writer import BackgroundWriter


@pytest.fixture
def writer():
    w = BackgroundWriter(maxsize=4, name="test-writer", linger=0.001)
    yield w
    w.close(timeout=5)


def test_calls_run_in_order_in_the_writer_thread(writer):
    seen: list[tuple[int, str]] = []
    for i in range(20):  # more than maxsize: submit waits, nothing is dropped
        writer.submit(lambda i=i: seen.append((i, threading.current_thread().name)))
    assert writer.flush(timeout=5)
    assert [i for i, _ in seen] == list(range(20))
    assert {name for _, name in seen} == {"test-writer"}


def test_consecutive_batched_items_reach_their_function_as_lists():
    batches: list[list[int]] = []
    gate = threading.Event()
    w = BackgroundWriter(maxsize=100, linger=0.001)
    w.submit(gate.wait, 5)  # hold the thread so the next items queue up as one burst
    for i in range(5):
        w.submit_batched(batches.append, i)
    w.submit(lambda: None)  # a plain call ends the batch
    w.submit_batched(batches.append, 99)
    gate.set()
    assert w.close(timeout=5)
    assert batches == [[0, 1, 2, 3, 4], [99]]


def test_an_error_is_reraised_once_in_full_then_briefly_and_later_work_is_skipped(writer):
    ran: list[int] = []

    def boom() -> None:
        raise ConnectionError("service gone")

    writer.submit(boom)
    writer.submit(ran.append, 1)
    with pytest.raises(WriterError, match=r"ConnectionError: service gone.*wandb-core"):
        writer.flush(timeout=5)
    with pytest.raises(WriterError, match="stopped after an earlier error"):
        writer.submit(ran.append, 2)
    assert ran == []


def test_flush_times_out_while_a_call_is_still_running(writer):
    gate = threading.Event()
    writer.submit(gate.wait, 5)
    start = time.monotonic()
    assert writer.flush(timeout=0.05) is False
    assert time.monotonic() - start < 2
    gate.set()
    assert writer.flush(timeout=5) is True


def test_close_stops_the_thread_and_later_submits_fail(writer):
    assert writer.close(timeout=5) and not writer.alive
    assert writer.flush() is True  # nothing left to wait for
    with pytest.raises(WriterError, match="closed"):
        writer.submit(print)


def test_queue_size_must_be_positive():
    with pytest.raises(ValueError, match="queue_size=0"):
        BackgroundWriter(maxsize=0)


def test_a_long_linger_never_delays_a_flush_the_first_item_or_a_filling_queue():
    ran: list[int] = []
    w = BackgroundWriter(maxsize=40, linger=600)  # a linger no test would wait out
    try:
        w.submit(ran.append, 0)  # the writer was idle: the first item wakes it
        deadline = time.monotonic() + 10
        while not ran and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ran == [0]
        time.sleep(0.05)  # the writer now lingers
        for i in range(1, 11):  # a quarter of the queue: wakes it before the linger ends
            w.submit_batched(ran.extend, i)
        deadline = time.monotonic() + 10
        while len(ran) < 11 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ran == list(range(11))
        w.submit(ran.append, 11)
        assert w.flush(timeout=10) and ran[-1] == 11  # a flush wakes it at once
        for i in range(12, 500):  # far more than the queue holds: callers wait, nothing is lost
            w.submit_batched(ran.extend, i)
            assert w.pending() <= 40
    finally:
        assert w.close(timeout=10)
    assert ran == list(range(500))


def test_an_idle_hook_that_raises_a_base_exception_does_not_end_the_writer() -> None:
    import asyncio
    import time

    from nbwandb.run.writer import BackgroundWriter

    writer = BackgroundWriter(8)
    calls: list[int] = []

    def hook() -> None:
        calls.append(1)
        raise asyncio.CancelledError  # a BaseException, as a cancelled future raises

    writer.on_idle, writer.idle_after = hook, 0.05
    done: list[int] = []
    writer.submit(done.append, 1)
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls, "the idle hook never ran"
    writer.submit(done.append, 2)  # the writer is still alive and takes work
    assert writer.flush(10) and done == [1, 2]
    assert writer.close(10)
