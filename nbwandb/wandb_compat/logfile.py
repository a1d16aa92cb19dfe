"""Frame reader for wandb's ``.wandb`` transaction log (LevelDB-log framing).

The file starts with a 7-byte header (``:W&B``, magic ``0xBEE1`` little-endian,
version ``0``). After it comes a stream of 32 KiB blocks; each chunk inside a
block has a 7-byte header ``crc32(4) length(2) type(1)`` followed by ``length``
bytes. A record is one FULL chunk, or FIRST, MIDDLE..., LAST. When fewer than 7
bytes are left in a block the writer pads them with zeros and starts a new block.
The checksum is the IEEE CRC-32 (``zlib.crc32``) of the type byte and the data,
which is what wandb-core writes (checked against its files, not LevelDB's CRC32C).

Only the standard library is used here, so the framing can be tested on its own.

>>> reader = LogReader(next(run_dir.glob("*.wandb")))
>>> payloads = reader.read_available()           # complete records only
>>> len(payloads) > 20, reader.truncated         # any bytes after the last complete record?
(True, False)
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from nbwandb.errors import NbwandbError

FILE_IDENT = b":W&B"
FILE_MAGIC = 0xBEE1
FILE_VERSION = 0
FILE_HEADER = FILE_IDENT + struct.pack("<HB", FILE_MAGIC, FILE_VERSION)
FILE_HEADER_LEN = len(FILE_HEADER)  # 7
BLOCK_LEN = 32 * 1024
CHUNK_HEADER_LEN = 7

FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4

_unpack_header = struct.Struct("<IHB").unpack_from
# crc32 of the type byte alone; the data's crc continues from it (saves a concat per chunk).
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}


class LogReader:
    """Reads complete records from a ``.wandb`` file, and reads on as the file grows.

    ``offset`` is the byte position just after the last complete record; the next
    ``read_available()`` starts there, so a run that is still being written can be
    followed without re-reading it. ``truncated`` is True when bytes after
    ``offset`` do not (yet) form a complete, valid record: a run killed mid-write,
    a file cut short, or a write in progress.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.offset = 0
        self.truncated = False
        self.corrupt_reason = ""
        self.more = False  # the last read stopped at max_bytes: call again for the rest

    def read_available(self, max_bytes: int | None = None) -> list[bytes]:
        """Return the payloads of all complete records from ``offset`` on.

        ``max_bytes`` bounds how much is read in one call (memory stays flat on a
        large file); ``more`` then says whether to call again. A record larger than
        ``max_bytes`` is still returned whole (the window grows for it).
        """
        with open(self.path, "rb") as fh:
            if self.offset == 0:
                head = fh.read(FILE_HEADER_LEN)
                if len(head) < FILE_HEADER_LEN:
                    # wandb writes the header first; a shorter file is still being created.
                    self.truncated = len(head) > 0
                    self.more = False
                    return []
                check_file_header(head, self.path)
                self.offset = FILE_HEADER_LEN
            window = max_bytes
            while True:
                fh.seek(self.offset)
                data = fh.read() if window is None else fh.read(window)
                payloads, consumed, reason = parse_chunks(data, self.offset)
                self.more = window is not None and len(data) == window
                if self.more and consumed == 0 and reason.startswith("cut"):
                    window = (
                        2 * window if window else BLOCK_LEN
                    )  # one record bigger than the window
                    continue
                break
        self.offset += consumed
        if self.more and (consumed > 0 or reason.startswith("cut")):
            self.truncated, self.corrupt_reason = False, ""  # the window ended, not the file
        else:
            self.more = False
            self.truncated = consumed < len(data) and bool(data[consumed:].strip(b"\0"))
            self.corrupt_reason = reason if self.truncated else ""
        return payloads


def check_file_header(head: bytes, path: Path | str = "") -> None:
    """Raise ``NbwandbError`` unless ``head`` is the 7-byte header of a wandb log."""
    if head[:4] != FILE_IDENT:
        raise NbwandbError(
            f"{str(path)!r} is not a wandb run file: it starts with {head[:4]!r}, "
            f"expected {FILE_IDENT!r} (pass a wandb/offline-run-* folder or its .wandb file)"
        )
    magic, version = struct.unpack_from("<HB", head, 4)
    if magic != FILE_MAGIC or version != FILE_VERSION:
        raise NbwandbError(
            f"{str(path)!r} has wandb log magic {magic:#x} version {version}; "
            f"only magic {FILE_MAGIC:#x} version {FILE_VERSION} is supported"
        )


def parse_chunks(data: bytes, start: int) -> tuple[list[bytes], int, str]:
    """Split ``data`` (file bytes from absolute position ``start``) into record payloads.

    Returns ``(payloads, consumed, reason)``: ``consumed`` ends at the last complete
    record; ``reason`` says why parsing stopped early ("" when it reached the end).
    """
    payloads: list[bytes] = []
    pos = 0  # index into data
    end = len(data)
    consumed = 0
    parts: list[bytes] | None = None  # chunks of a record split over blocks
    while True:
        left_in_block = BLOCK_LEN - (start + pos) % BLOCK_LEN
        if left_in_block < CHUNK_HEADER_LEN:
            pos += left_in_block  # zero padding at the end of a block
            if parts is None:
                consumed = min(pos, end)
            continue
        if pos + CHUNK_HEADER_LEN > end:
            return payloads, consumed, "" if pos >= end else "cut inside a chunk header"
        crc, length, kind = _unpack_header(data, pos)
        body_start = pos + CHUNK_HEADER_LEN
        body_end = body_start + length
        if kind == 0 and length == 0 and crc == 0:
            return payloads, consumed, "zero bytes where a chunk header was expected"
        if body_end > end:
            return payloads, consumed, "cut inside a record"
        if length > left_in_block - CHUNK_HEADER_LEN:
            return payloads, consumed, f"chunk of {length} bytes overruns its block"
        body = data[body_start:body_end]
        type_crc = _TYPE_CRC.get(kind)
        if type_crc is None:
            return payloads, consumed, f"unknown chunk type {kind}"
        if zlib.crc32(body, type_crc) != crc:
            return payloads, consumed, "checksum mismatch"
        pos = body_end
        if kind == FULL:
            if parts is not None:
                return payloads, consumed, "FULL chunk inside a split record"
            payloads.append(body)
            consumed = pos
        elif kind == FIRST:
            if parts is not None:
                return payloads, consumed, "FIRST chunk inside a split record"
            parts = [body]
        elif parts is None:
            return payloads, consumed, "MIDDLE/LAST chunk without a FIRST"
        elif kind == MIDDLE:
            parts.append(body)
        else:  # LAST
            parts.append(body)
            payloads.append(b"".join(parts))
            parts = None
            consumed = pos


def last_record(path: str | os.PathLike[str], max_len: int = 512) -> bytes | None:
    """The payload of the file's last record if it is one FULL chunk of at most ``max_len``
    bytes that ends the file (checksum valid), else None. Reads only the file's tail.

    >>> last_record(next(run_dir.glob("*.wandb"))) is not None   # a finished run ends with its exit record
    True
    """
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            start = max(FILE_HEADER_LEN, size - max_len - CHUNK_HEADER_LEN)
            fh.seek(start)
            tail = fh.read()
    except OSError:
        return None
    for length in range(min(max_len, len(tail) - CHUNK_HEADER_LEN) + 1):
        pos = len(tail) - length - CHUNK_HEADER_LEN
        crc, got, kind = _unpack_header(tail, pos)
        if got == length and kind == FULL:
            body = tail[pos + CHUNK_HEADER_LEN :]
            if zlib.crc32(body, _TYPE_CRC[FULL]) == crc:
                return body
    return None


def frame_records(payloads: list[bytes]) -> bytes:
    """The bytes of a ``.wandb`` file holding ``payloads``, framed as wandb-core frames them.

    Used to write a repaired copy of a run file (complete records only) for ``wandb sync``.

    >>> data = frame_records([b"abc"])
    >>> parse_chunks(data[FILE_HEADER_LEN:], FILE_HEADER_LEN)[0]
    [b'abc']
    """
    out = bytearray(FILE_HEADER)
    for payload in payloads:
        rest = memoryview(payload)
        first = True
        while True:
            left_in_block = BLOCK_LEN - len(out) % BLOCK_LEN
            if left_in_block < CHUNK_HEADER_LEN:
                out += b"\0" * left_in_block  # too small for a header: pad, as LevelDB does
                continue
            room = left_in_block - CHUNK_HEADER_LEN
            piece, rest = rest[:room], rest[room:]
            last = len(rest) == 0
            kind = (FULL if last else FIRST) if first else (LAST if last else MIDDLE)
            crc = zlib.crc32(piece, _TYPE_CRC[kind])
            out += struct.pack("<IHB", crc, len(piece), kind) + piece
            first = False
            if last:
                break
    return bytes(out)
