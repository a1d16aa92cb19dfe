"""Frame plain-scalar history rows as the bytes wandb's service client would send.

wandb-core reads ``ServerRequest`` protobuf messages, each framed as ``b"W"``, a
little-endian uint32 length, and the message. Building one message object per row
(``CopyFrom`` a template, one ``HistoryItem`` per key, ``SerializeToString``) is Python
work held under the GIL while the training thread waits for it. The protobuf wire format is simple enough to write
directly: everything but the items is the same for every row, so it is serialized
once, and each key's leading bytes are cached. A row then costs a few string joins.

The result is checked against the protobuf library in the tests (parsed back, equal
to the message built the slow way), and ``RowFramer.for_template`` refuses any
template whose message layout differs from the one this module writes.

>>> from wandb.proto import wandb_server_pb2 as spb   # (only this docstring imports wandb)
>>> framer = RowFramer.for_template(spb.ServerRequest())
>>> frame = framer.frame({"loss": 0.5}, 1700000000.25)
>>> message = spb.ServerRequest.FromString(frame[5:])
>>> [(i.key, i.value_json) for i in message.record_publish.request.partial_history.item]
[('loss', '0.5'), ('_timestamp', '1700000000.25')]
"""

from __future__ import annotations

import json
import struct
from typing import Any

_FRAME_HEADER = struct.Struct("<BI")  # wandb's framing: b"W", the length, the message
_W = 87
MAX_CACHED_KEYS = 4096
_BYTE = [bytes((n,)) for n in range(128)]  # a one-byte varint, looked up instead of built


def varint(value: int) -> bytes:
    """``value`` as a protobuf base-128 varint.

    >>> varint(1), varint(300)
    (b'\\x01', b'\\xac\\x02')
    """
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def json_text(value: float | int | bool) -> str:
    """The JSON wandb writes for a Python number or bool (its encoder's output, at less cost).

    >>> [json_text(v) for v in (0.5, 3, True, float("nan"))]
    ['0.5', '3', 'true', 'NaN']
    """
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is float and value - value != 0:
        return json.dumps(value)  # NaN, Infinity, -Infinity, as wandb writes them
    return repr(value)  # what json.dumps writes for an int or a finite float


class RowFramer:
    """Writes one framed ``ServerRequest`` per row from a template without items."""

    def __init__(self, request_rest: bytes, record_rest: bytes, req_rest: bytes, ph_rest: bytes):
        # The four layers of the message, each serialized without the layer below it.
        self._request_rest = request_rest
        self._record_rest = record_rest
        self._req_rest = req_rest
        self._ph_rest = ph_rest
        self._key_bytes: dict[str, bytes] = {}

    @classmethod
    def for_template(cls, template: Any) -> RowFramer:
        """A framer for rows shaped like ``template`` (a ``ServerRequest`` without items).

        Raises ``ValueError`` if the message layout is not the one this module writes.
        """
        request = type(template)()
        request.CopyFrom(template)
        record = request.record_publish
        req = record.request
        ph = req.partial_history
        _check_layout(request, record, req, ph)
        ph.ClearField("item")
        ph_rest = ph.SerializeToString()
        req.ClearField("partial_history")
        req_rest = req.SerializeToString()
        record.ClearField("request")
        record_rest = record.SerializeToString()
        request.ClearField("record_publish")
        return cls(request.SerializeToString(), record_rest, req_rest, ph_rest)

    def _key(self, key: str) -> bytes:
        # HistoryItem.key (field 1) and the tag of value_json (field 16), cached per key
        head = self._key_bytes.get(key)
        if head is None:
            if len(self._key_bytes) >= MAX_CACHED_KEYS:
                self._key_bytes.clear()  # a run logging new keys each step keeps memory flat
            encoded = key.encode()
            head = b"\x0a" + varint(len(encoded)) + encoded + b"\x82\x01"
            self._key_bytes[key] = head
        return head

    def frame(self, row: dict[str, Any], logged_at: float) -> bytes:
        """The framed request for ``row`` (plain numbers and bools) logged at ``logged_at``."""
        heads = self._key_bytes
        parts: list[bytes] = []
        add = parts.append
        for name, value in row.items():
            if type(value) is float and value - value == 0:
                text = repr(value).encode()  # json_text's answer for a finite float, inlined
            else:
                text = json_text(value).encode()
            head = heads.get(name) or self._key(name)
            size = len(head) + 1 + len(text)
            if size < 128:  # one-byte lengths: any number with a key under ~120 bytes
                add(b"".join((b"\x0a", _BYTE[size], head, _BYTE[len(text)], text)))
            else:
                item = head + varint(len(text)) + text
                add(b"\x0a" + varint(len(item)) + item)  # PartialHistoryRequest.item = 1
        text = json_text(logged_at).encode()
        size = len(_TIMESTAMP_HEAD) + 1 + len(text)
        add(b"".join((b"\x0a", _BYTE[size], _TIMESTAMP_HEAD, _BYTE[len(text)], text)))
        ph = self._ph_rest + b"".join(parts)
        # Request.partial_history = 10, Record.request = 100, ServerRequest.record_publish = 1
        req = b"".join((self._req_rest, b"\x52", _length(len(ph)), ph))
        record = b"".join((self._record_rest, b"\xa2\x06", _length(len(req)), req))
        message = b"".join((self._request_rest, b"\x0a", _length(len(record)), record))
        return _FRAME_HEADER.pack(_W, len(message)) + message


def _length(n: int) -> bytes:
    # a varint for a message length: one or two bytes for any row under 16 KiB
    if n < 128:
        return _BYTE[n]
    if n < 16384:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    return varint(n)


_TIMESTAMP_HEAD = b"\x0a\x0a_timestamp\x82\x01"  # HistoryItem.key "_timestamp", value_json's tag


# (message, field name, number the hard-coded tags above assume)
_EXPECTED = (
    ("ServerRequest", "record_publish", 1),
    ("Record", "request", 100),
    ("Request", "partial_history", 10),
    ("PartialHistoryRequest", "item", 1),
    ("HistoryItem", "key", 1),
    ("HistoryItem", "value_json", 16),
)


def _check_layout(request: Any, record: Any, req: Any, ph: Any) -> None:
    item = ph.item.add()
    try:
        messages = {m.DESCRIPTOR.name: m for m in (request, record, req, ph, item)}
        for name, field_name, number in _EXPECTED:
            fields = messages[name].DESCRIPTOR.fields_by_name
            if field_name not in fields or fields[field_name].number != number:
                raise ValueError(f"{name}.{field_name} is not field {number} in this wandb")
    finally:
        del ph.item[-1]
