"""nbwandb.local.read_run against real offline runs, cross-checked with `wandb leet inspect`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from leet import leet_records, leet_summary

import nbwandb
from nbwandb.local import iter_records, read_run
from nbwandb.wandb_compat.logfile import BLOCK_LEN, FILE_HEADER_LEN, LogReader


def assert_matches_leet(run_dir: Path) -> None:
    ours = read_run(run_dir)
    theirs = leet_summary(run_dir)
    assert ours.id == theirs["run_id"]
    assert ours.project == theirs["project"]
    assert ours.config == theirs.get("config", {})
    assert ours.summary == theirs.get("summary", {})
    assert ours.step == theirs["step"]
    assert ours.exit_code == theirs["exit_code"]
    assert ours.state == theirs["state"]
    assert ours.tags == theirs.get("tags", [])
    history = [r["history"] for r in leet_records(run_dir) if r["type"] == "history"]
    assert len(ours.history) == len(history)
    # leet prints nested keys flat ("img.caption"); compare the scalar metrics row by row
    for mine, row in zip(ours.history, history, strict=True):
        for key, value in row["item"].items():
            if "." not in key:
                assert mine[key] == value, key


@pytest.fixture
def nbwandb_run(isolated: Path) -> Path:
    run = nbwandb.init(
        "reader",
        config={"lr": 0.01, "layers": [8, 4], "opt": {"name": "adam"}},
        mode="offline",
        group="g1",
        tags=["a", "b"],
        quiet=True,
    )
    for step in range(30):
        run.log({"loss": 1.0 / (step + 1), "lr": 0.01}, step=step, prefix="train")
        if step % 10 == 9:
            run.log({"acc": step / 30}, step=step, prefix="val")
    run.finish()
    return Path(run.run_dir)


def test_nbwandb_run_matches_leet(nbwandb_run: Path) -> None:
    run = read_run(nbwandb_run)
    assert run.state == "finished" and run.exit_code == 0 and not run.truncated
    assert run.config == {"lr": 0.01, "layers": [8, 4], "opt": {"name": "adam"}}
    assert run.group == "g1" and run.tags == ["a", "b"]
    assert [row["global_step"] for row in run.history] == list(range(30))
    assert [row["_step"] for row in run.history] == list(range(30))
    assert run.history[4]["train/loss"] == pytest.approx(0.2)
    assert [row["val/acc"] for row in run.history if "val/acc" in row] == pytest.approx(
        [0.3, 19 / 30, 29 / 30]
    )
    assert run.summary["train/loss"] == pytest.approx(1 / 30)
    assert run.start_time is not None and run.runtime is not None and run.runtime >= 0
    assert_matches_leet(nbwandb_run)


def test_accepts_file_handle_and_wandb_dir(nbwandb_run: Path, isolated: Path) -> None:
    by_dir = read_run(nbwandb_run)
    by_file = read_run(by_dir.run_file)
    by_latest = read_run(isolated / "wandb")  # follows wandb/latest-run
    assert by_file.history == by_dir.history == by_latest.history
    with pytest.raises(nbwandb.NbwandbError, match="does not exist"):
        read_run(isolated / "nope")
    with pytest.raises(TypeError, match="run folder"):
        read_run(42)
    bogus = isolated / "bogus.wandb"
    bogus.write_bytes(b"not a run file")
    with pytest.raises(nbwandb.NbwandbError, match="not a wandb run file"):
        read_run(bogus)


def test_raw_wandb_run_failed_with_media_artifacts_console(isolated: Path) -> None:
    import numpy as np
    import wandb

    run = wandb.init(project="raw", name="raw-run", job_type="eval", config={"batch": 32})
    run.config.update({"later": "yes"})
    for i in range(3):
        run.log({"train/loss": 3 - i})
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    run.log(
        {
            "sample": wandb.Image(image, caption="eight"),
            "preds": wandb.Table(columns=["x", "y"], data=[[1, 2], [3, 4], [5, 6]]),
        }
    )
    print("hello from the run")
    ckpt = isolated / "model.pt"
    ckpt.write_bytes(b"weights" * 10)
    art = wandb.Artifact("model-test", type="model", metadata={"epoch": 3})
    art.add_file(str(ckpt))
    run.log_artifact(art, aliases=["best"])
    run.summary["best_acc"] = 0.9
    print("no newline at the end", end="")
    run.finish(exit_code=3)
    run_dir = Path(run.dir).parent

    local = read_run(run_dir)
    assert local.name == "raw-run" and local.job_type == "eval"
    assert local.config == {"batch": 32, "later": "yes"}
    assert local.exit_code == 3 and local.state == "failed"
    assert local.summary["best_acc"] == 0.9
    kinds = {m["key"]: m for m in local.media}
    assert kinds["sample"]["type"] == "image" and kinds["sample"]["width"] == 8
    assert kinds["sample"]["caption"] == "eight" and Path(kinds["sample"]["file"]).is_file()
    assert (
        kinds["preds"]["type"] == "table"
        and kinds["preds"]["nrows"] == 3
        and kinds["preds"]["ncols"] == 2
    )
    assert kinds["sample"]["step"] == 3
    model = next(a for a in local.artifacts if a["name"] == "model-test")
    assert (
        model["type"] == "model"
        and "best" in model["aliases"]
        and model["metadata"] == {"epoch": 3}
    )
    assert model["manifest"][0]["path"] == "model.pt" and model["manifest"][0]["size"] == 70
    assert model["digest"]
    assert "hello from the run" in local.console
    assert local.console[-1] == "no newline at the end"
    frame = local.to_dataframe()
    assert list(frame["train/loss"].dropna()) == [3, 2, 1] and len(frame) == local.steps
    assert_matches_leet(run_dir)


def test_record_split_over_blocks(isolated: Path) -> None:
    import wandb

    big = "x" * (3 * BLOCK_LEN)  # one config value spanning FIRST/MIDDLE/LAST chunks
    run = wandb.init(project="big", config={"big": big})
    for i in range(5):
        run.log({"v": i, "blob": "y" * 20000})
    run.finish()
    run_dir = Path(run.dir).parent
    local = read_run(run_dir)
    assert local.config["big"] == big
    assert [row["v"] for row in local.history] == list(range(5))
    assert local.history[-1]["blob"] == "y" * 20000
    assert local.run_file.stat().st_size > 3 * BLOCK_LEN
    assert_matches_leet(run_dir)
    kinds = [r.WhichOneof("record_type") for r in iter_records(run_dir)]
    assert kinds[0] == "header" and kinds.count("history") == 5 and kinds[-1] == "exit"
    # reading in small windows (bounded memory) gives the same records, big ones included
    whole = LogReader(local.run_file).read_available()
    windowed, reader = [], LogReader(local.run_file)
    while True:
        windowed += reader.read_available(max_bytes=1000)
        if not reader.more:
            break
    assert windowed == whole and not reader.truncated and len(whole) == local.record_count


def record_ends(data: bytes) -> list[int]:
    """Offsets where a whole record ends, found by walking the chunk headers (independent of LogReader)."""
    ends, pos = [], FILE_HEADER_LEN
    while pos + 7 <= len(data):
        if BLOCK_LEN - pos % BLOCK_LEN < 7:  # a block's last bytes are padding
            pos += BLOCK_LEN - pos % BLOCK_LEN
            continue
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST chunk: a record ends here
            ends.append(pos)
    return ends


def test_truncated_file_reads_complete_records(nbwandb_run: Path, isolated: Path) -> None:
    full = read_run(nbwandb_run)
    data = full.run_file.read_bytes()
    cut_dir = isolated / "cut"
    cut_dir.mkdir()
    cut_file = cut_dir / full.run_file.name
    # Cuts 3 bytes into a record's chunk header (never on a record boundary or in block padding,
    # where the file is whole), near the start, a third, half way and the end of the file.
    assert len(record_ends(data)) == full.record_count  # the walk and the reader agree
    mid_record = [
        e + 3 for e in record_ends(data) if BLOCK_LEN - e % BLOCK_LEN >= 7 and e + 3 < len(data)
    ]
    targets = (0, len(data) // 3, len(data) // 2, len(data))
    for cut in sorted({min(mid_record, key=lambda c, t=t: abs(c - t)) for t in targets}):
        cut_file.write_bytes(data[:cut])
        part = read_run(cut_dir)
        assert part.truncated
        assert part.state == "crashed" and part.exit_code is None
        assert part.history == full.history[: len(part.history)]
        # leet reads the same cut file: it must see the same number of complete history rows
        leet_rows = [r for r in leet_records(cut_file) if r["type"] == "history"]
        assert len(part.history) == len(leet_rows)
    cut_file.write_bytes(data[: len(data) // 2 + 1])
    assert 0 < len(read_run(cut_dir).history) < len(full.history)


def test_refresh_reads_on_from_last_offset(nbwandb_run: Path, isolated: Path) -> None:
    full = read_run(nbwandb_run)
    data = full.run_file.read_bytes()
    live_dir = isolated / "live"
    live_dir.mkdir()
    live_file = live_dir / full.run_file.name
    live_file.write_bytes(data[: len(data) // 2 + 7])  # the writer is mid-record
    shutil.copytree(nbwandb_run / "logs", live_dir / "logs")
    live = read_run(live_dir)
    seen = len(live.history)
    offset = live._reader.offset
    with open(live_file, "ab") as fh:
        fh.write(data[len(data) // 2 + 7 :])
    new = live.refresh()
    assert new > 0 and live._reader.offset > offset
    assert not live.truncated and live.state == "finished"
    assert seen < len(live.history) == len(full.history)
    assert live.history == full.history and live.summary == full.summary


def test_log_reader_rejects_bad_chunk(nbwandb_run: Path, isolated: Path) -> None:
    data = bytearray(read_run(nbwandb_run).run_file.read_bytes())
    data[FILE_HEADER_LEN + 200] ^= 0xFF  # flip a byte inside an early record: checksum fails
    bad = isolated / "run-bad.wandb"
    bad.write_bytes(bytes(data))
    reader = LogReader(bad)
    payloads = reader.read_available()
    assert reader.truncated and reader.corrupt_reason
    assert len(payloads) < 5


def test_empty_and_odd_keys_match_leet(isolated: Path) -> None:
    import wandb

    run = wandb.init(project="odd", config={"": 1, "a.b": 2, "ünï": "ok"})
    for i in range(3):
        run.log({"": i, "x y": i * 2, "nan": float("nan") if i == 1 else i, 'quote"key': i})
    run.summary[""] = "empty"
    run.finish()
    run_dir = Path(run.dir).parent
    local = read_run(run_dir)
    assert local.config == {"": 1, "a.b": 2, "ünï": "ok"}
    # wandb itself drops an empty metric key from history rows; the others survive
    assert [row['quote"key'] for row in local.history] == [0, 1, 2]
    assert [row["x y"] for row in local.history] == [0, 2, 4]
    assert local.history[1]["nan"] != local.history[1]["nan"]  # NaN survives the round trip
    assert local.summary[""] == "empty"
    theirs = leet_summary(run_dir)
    assert local.config == theirs["config"] and local.step == theirs["step"]
    assert local.summary[""] == theirs["summary"][""]


def test_summary_updates_replay_in_order() -> None:
    """Overlapping summary paths (``img`` and ``img.caption``): the last write wins."""
    from wandb.proto import wandb_internal_pb2 as pb

    from nbwandb.local.reader import _apply_summary, _materialise_summary

    def record(updates=(), removes=()):  # noqa: ANN001, ANN202 - test helper
        rec = pb.SummaryRecord()
        for path, text in updates:
            item = rec.update.add()
            if len(path) == 1:
                item.key = path[0]
            else:
                item.nested_key.extend(path)
            item.value_json = text
        for path in removes:
            rec.remove.add().nested_key.extend(path)
        return rec

    store: dict = {}
    heads: set[str] = set()
    steps = [
        record([(("loss",), "1.5"), (("img",), '{"caption": "a", "w": 1}')]),
        record([(("img", "caption"), '"b"')]),
        record([(("img",), '{"caption": "c", "w": 2}'), (("loss",), "0.5")]),
    ]
    for rec in steps:
        _apply_summary(store, heads, rec)
    assert _materialise_summary(store) == {"loss": 0.5, "img": {"caption": "c", "w": 2}}
    _apply_summary(store, heads, record([(("img", "caption"), '"d"')]))
    assert _materialise_summary(store)["img"] == {"caption": "d", "w": 2}
    _apply_summary(store, heads, record(removes=[("img",)]))
    assert _materialise_summary(store) == {"loss": 0.5}
    _apply_summary(store, heads, record([(("",), '"empty key"'), (("_wandb", "runtime"), "3")]))
    assert _materialise_summary(store) == {"loss": 0.5, "": "empty key"}


def test_undecodable_record_is_skipped(nbwandb_run: Path, isolated: Path) -> None:
    """A record whose checksum is right but whose bytes are no protobuf is skipped, not fatal."""
    import struct
    import zlib

    full = read_run(nbwandb_run)
    data = bytearray(full.run_file.read_bytes())
    left = BLOCK_LEN - len(data) % BLOCK_LEN
    if left < 7:
        data += b"\0" * left
    junk = b"\xff\xff\xff\xff"  # an invalid varint tag
    data += struct.pack("<IHB", zlib.crc32(junk, zlib.crc32(bytes([1]))), len(junk), 1) + junk
    odd = isolated / "odd"
    odd.mkdir()
    (odd / full.run_file.name).write_bytes(bytes(data))
    local = read_run(odd)
    assert local.skipped_records == 1 and not local.truncated
    assert local.history == full.history and local.exit_code == 0
