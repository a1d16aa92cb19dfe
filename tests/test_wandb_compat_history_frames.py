"""Rows framed as bytes by ``wandb_compat.history_frames`` are the messages wandb's own path builds.

Each frame is parsed back with wandb's protobuf classes and compared with the message
built the slow way (a template copy plus one ``HistoryItem`` per key); a run written
through the byte path is read back by nbwandb's reader and by ``wandb leet``.
"""

from __future__ import annotations

import random
import struct

import pytest
from leet import leet_history
from wandb.proto import wandb_internal_pb2 as pb
from wandb.proto import wandb_server_pb2 as spb

import nbwandb
from nbwandb.local import read_run
from nbwandb.wandb_compat.history_frames import RowFramer, json_text, varint


def reference(template, row, logged_at):
    request = spb.ServerRequest()
    request.CopyFrom(template)
    items = request.record_publish.request.partial_history.item
    for key, value in [*row.items(), ("_timestamp", logged_at)]:
        items.add(key=key, value_json=json_text(value))
    return request


def parse(frame: bytes):
    marker, length = struct.unpack("<BI", frame[:5])
    assert marker == ord("W") and length == len(frame) - 5
    return spb.ServerRequest.FromString(frame[5:])


@pytest.fixture
def template(tmp_path):
    # the template a live run builds: stream id, control flags, partial history action
    with nbwandb.init(project="p", quiet=True, dir=str(tmp_path)) as run:
        run.log({"x": 1.0}, step=0)
        run.flush()
        publisher = run._publisher
        assert publisher is not None and publisher._framer is not None
        return publisher._template


def test_varint_matches_protobuf_for_lengths_across_byte_boundaries():
    for n in (1, 127, 128, 300, 16383, 16384, 2**21 + 5):  # proto3 leaves out an empty key
        item = pb.HistoryItem(key="k" * n)
        encoded = item.SerializeToString()
        assert encoded == b"\x0a" + varint(n) + b"k" * n


def test_frames_parse_back_to_the_message_built_the_slow_way(template):
    framer = RowFramer.for_template(template)
    rng = random.Random(7)
    keys = ["loss", "train/acc", "val/ünïcode", "x" * 200, "global_step", "a/b/c/d"]
    values = [0.5, -3, 0, 10**18, 1e-300, 1.7976931348623157e308, True, False]
    values += [float("nan"), float("inf"), -float("inf"), 2.5e-8]
    for _ in range(300):
        row = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(1, len(keys)))}
        logged_at = 1.7e9 + rng.random()
        got = parse(framer.frame(row, logged_at))
        assert got == reference(template, row, logged_at)


def test_a_burst_of_frames_splits_back_into_rows(template):
    framer = RowFramer.for_template(template)
    rows = [({"step": i, "loss": 1 / (i + 1)}, 1.7e9 + i) for i in range(50)]
    data = b"".join(framer.frame(r, t) for r, t in rows)
    messages, offset = [], 0
    while offset < len(data):
        _, length = struct.unpack_from("<BI", data, offset)
        messages.append(parse(data[offset : offset + 5 + length]))
        offset += 5 + length
    assert messages == [reference(template, r, t) for r, t in rows]


def test_a_template_with_another_layout_is_refused(monkeypatch):
    import nbwandb.wandb_compat.history_frames as history_bytes

    monkeypatch.setattr(
        history_bytes, "_EXPECTED", (*history_bytes._EXPECTED, ("HistoryItem", "value_json", 17))
    )
    with pytest.raises(ValueError, match="value_json is not field 17"):
        RowFramer.for_template(spb.ServerRequest())


def test_a_run_written_through_the_byte_path_reads_back_whole():
    n = 2000
    with nbwandb.init(project="p", quiet=True) as run:
        for step in range(n):
            run.log({"loss": 1 / (step + 1), "ok": step % 3 == 0, "n": -step}, step=step)
        assert run._publisher is not None and run._publisher._framer is not None
    history = read_run(run.run_dir).history
    assert [r["_step"] for r in history] == list(range(n))
    assert [r["loss"] for r in history] == [1 / (s + 1) for s in range(n)]
    assert [r["ok"] for r in history] == [s % 3 == 0 for s in range(n)]
    assert [r["n"] for r in history] == [-s for s in range(n)]
    assert [r["global_step"] for r in leet_history(run.run_dir)] == list(range(n))


def test_a_wandb_with_another_layout_falls_back_to_building_messages(monkeypatch):
    import nbwandb.wandb_compat.history_frames as history_bytes

    # as if this wandb numbered value_json differently: the framer is refused at the first
    # row and every row goes through the message-building path instead
    monkeypatch.setattr(
        history_bytes, "_EXPECTED", (*history_bytes._EXPECTED, ("HistoryItem", "value_json", 17))
    )
    with nbwandb.init(project="p", quiet=True) as run:
        for step in range(300):
            run.log({"x": step, "y": step / 7}, step=step)
        run.flush()
        assert run._publisher is not None and run._publisher._framer is None
    history = read_run(run.run_dir).history
    assert [(r["x"], r["y"]) for r in history] == [(s, s / 7) for s in range(300)]


def test_the_key_cache_stays_bounded_when_every_row_has_new_keys(template, monkeypatch):
    import nbwandb.wandb_compat.history_frames as history_bytes

    monkeypatch.setattr(history_bytes, "MAX_CACHED_KEYS", 50)
    framer = RowFramer.for_template(template)
    for step in range(500):
        row = {f"loss_{step}": 0.5, "global_step": step}
        assert parse(framer.frame(row, 1.7e9)) == reference(template, row, 1.7e9)
        assert len(framer._key_bytes) <= 50
