"""Decode wandb's protobuf ``Record`` messages into plain Python values.

wandb stores each metric, summary and config value as JSON text (``value_json``)
under a key (``key``) or a key path (``nested_key``: ``["img", "caption"]``). The
helpers here turn them into dicts; a history row is decoded with one ``json.loads``
for the whole row (much faster than one per value).

>>> from nbwandb.local.reader import iter_records
>>> rec = next(r for r in iter_records(run_dir) if r.WhichOneof("record_type") == "history")
>>> row = decode_history(rec.history)
>>> row["global_step"], row["train/loss"]
(0, 1)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from nbwandb.values.config import merge_config

_dumps = json.dumps
loads_json = json.loads
# json.dumps(key) for keys seen before: history rows repeat the same few keys.
_KEY_JSON: dict[str, str] = {}
_KEY_JSON_LIMIT = 100_000

# `_type` values of wandb media/data types that live in history rows.
MEDIA_TYPES = {
    "image-file": "image",
    "images/separated": "images",
    "table-file": "table",
    "partitioned-table": "table",
    "joined-table": "table",
    "audio-file": "audio",
    "video-file": "video",
    "html-file": "html",
    "object3D-file": "object3d",
    "molecule-file": "molecule",
    "plotly-file": "plotly",
    "bokeh-file": "bokeh",
    "histogram": "histogram",
}


def item_path(item: Any) -> tuple[str, ...]:
    """The key path of a HistoryItem/SummaryItem/ConfigItem."""
    # An empty key ("" is a legal config/metric key in wandb) is a path of one part, not none.
    return tuple(item.nested_key) if not item.key and item.nested_key else (item.key,)


def item_json(item: Any) -> str:
    """The JSON text of an item's value (newer wandb may use typed fields instead)."""
    text = item.value_json
    if text:
        return text
    which = item.WhichOneof("value") if item.DESCRIPTOR.oneofs else None
    if which is None or which == "none":
        return "null"
    if which == "json":
        return item.json or "null"
    return _dumps(getattr(item, which))


def _key_json(key: str) -> str:
    text = _KEY_JSON.get(key)
    if text is None:
        text = _dumps(key)
        if len(_KEY_JSON) < _KEY_JSON_LIMIT:
            _KEY_JSON[key] = text
    return text


def decode_json(text: str) -> Any:
    try:
        return loads_json(text)
    except ValueError:
        # wandb writes NaN/Infinity as bare words, which json accepts; anything else
        # unreadable is kept as its text rather than dropping the value.
        return text


def set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """``target[a][b][c] = value`` for ``path == (a, b, c)``, creating dicts on the way."""
    node = target
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def merge_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Like ``set_path``, but as wandb-core applies config: dicts merge, empty dicts store nothing.

    >>> cfg = {"opt": {"lr": 1, "betas": [0.9]}}
    >>> merge_path(cfg, ("opt",), {"lr": 2}); merge_path(cfg, ("empty",), {}); cfg
    {'opt': {'lr': 2, 'betas': [0.9]}}
    """
    if isinstance(value, dict):
        wrapped: dict[str, Any] = value
        for part in reversed(path):
            wrapped = {part: wrapped}
        merge_config(target, wrapped)
        return
    set_path(target, path, value)


def remove_path(target: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = target
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)


def decode_items(items: Iterable[Any]) -> dict[str, Any]:
    """Decode repeated items into a (possibly nested) dict."""
    out: dict[str, Any] = {}
    for item in items:
        set_path(out, item_path(item), decode_json(item_json(item)))
    return out


def history_json(history: Any) -> str:
    """One HistoryRecord as the text of a JSON object (nested keys become nested objects).

    Joining the values' own JSON texts is much faster than decoding each value and
    lets a whole batch of rows go through one ``json.loads``.
    """
    parts: list[str] = []
    append = parts.append
    known = _KEY_JSON.get
    has_step = False
    for item in history.item:
        key = item.key
        if not key:
            nk = item.nested_key
            if len(nk) != 1:
                return _dumps(decode_history(history))
            key = nk[0]
        if key == "_step":
            has_step = True
        append((known(key) or _key_json(key)) + ":" + (item.value_json or item_json(item)))
    if not has_step and history.HasField("step"):
        parts.append(f'"_step":{history.step.num}')
    return "{" + ",".join(parts) + "}"


def decode_row_json(text: str) -> dict[str, Any]:
    """Decode one row's JSON text; a row with an unreadable value is kept as far as possible."""
    try:
        return loads_json(text)
    except ValueError:
        return {"_unreadable_row": text}


def decode_history(history: Any) -> dict[str, Any]:
    """One HistoryRecord as a row dict, value by value (the slow, general path)."""
    row = decode_items(history.item)
    if "_step" not in row and history.HasField("step"):
        row["_step"] = history.step.num
    return row


def unwrap_config(config: dict[str, Any]) -> dict[str, Any]:
    """Drop ``_wandb`` and unwrap the ``{"value": v, "desc": ...}`` form of config files/API.

    wandb's ``config.yaml`` and the public API store each entry as ``{"value": v}``;
    the run file stores plain values. Entries are unwrapped only when every entry has
    that form, so a user's own ``{"value": 3}`` setting is left alone in a plain config.
    """
    entries = {k: v for k, v in config.items() if k != "_wandb"}
    wrapped = entries and all(
        isinstance(v, dict) and "value" in v and set(v) <= {"value", "desc"}
        for v in entries.values()
    )
    return {k: v["value"] for k, v in entries.items()} if wrapped else entries


def media_entries(row: dict[str, Any], step: Any) -> list[dict[str, Any]]:
    """The wandb media values in one history row (images, tables, audio, ...)."""
    found = []
    for key, value in row.items():
        if isinstance(value, dict) and value.get("_type") in MEDIA_TYPES:
            entry: dict[str, Any] = {
                "key": key,
                "step": step,
                "type": MEDIA_TYPES[value["_type"]],
                "wandb_type": value["_type"],
                "path": value.get("path"),
            }
            for name in (
                "size",
                "width",
                "height",
                "format",
                "caption",
                "sha256",
                "nrows",
                "ncols",
                "count",
                "filenames",
                "captions",
                "grouping",
                "bins",
                "values",
            ):
                if name in value:
                    entry[name] = value[name]
            found.append(entry)
    return found


HISTORY_TAG = 0x12  # Record.history: field 2, length-delimited
SUMMARY_TAG = 0x1A  # Record.summary: field 3, length-delimited


def record_tag(payload: bytes) -> int:
    """The tag byte of a serialized ``Record``'s ``record_type`` field, read from its first bytes.

    A record is written field by field in field-number order: ``num`` (field 1, a varint)
    first when set, then the one ``record_type`` field (``HISTORY_TAG``, ``SUMMARY_TAG``,
    ...). A record of another layout gives another byte, and is decoded as usual: only a
    match is acted on.

    >>> record_tag(bytes([0x08, 0x96, 0x01, 0x12, 0x00])) == HISTORY_TAG, record_tag(b"\\x1a\\x00")
    (True, 26)
    """
    end = len(payload)
    if not end:
        return 0
    if payload[0] != 0x08:
        return payload[0]
    i = 1
    while i < end and payload[i] & 0x80:  # the varint of ``num``
        i += 1
    return payload[i + 1] if i + 1 < end else 0


def record_tags(payloads: Sequence[bytes]) -> list[int]:
    """``record_tag`` of each payload (the common layouts inline: this runs for every record).

    >>> record_tags([bytes([0x08, 0x05, 0x1A, 0x00]), b"\\x12\\x00"]) == [SUMMARY_TAG, HISTORY_TAG]
    True
    """
    out: list[int] = []
    append = out.append
    for p in payloads:
        if len(p) > 6 and p[0] == 0x08:  # num (up to 2**28), then the record's field
            if p[1] < 0x80:
                append(p[2])
            elif p[2] < 0x80:
                append(p[3])
            elif p[3] < 0x80:
                append(p[4])
            elif p[4] < 0x80:
                append(p[5])
            else:
                append(record_tag(p))
            continue
        append(record_tag(p))
    return out


_keys_record: Any = None  # a Record that parses only the summary's key paths (built on use)


def _summary_keys_class() -> Any:
    """A message class reading a ``Record`` payload as its summary's key paths and removals
    only (values are unknown fields, then dropped): the field numbers are wandb's own, read
    from its descriptors. None where this protobuf cannot build one (no summary is skipped)."""
    global _keys_record
    if _keys_record is None:
        _keys_record = False
        try:
            from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

            from nbwandb.wandb_compat.protobufs import record_module

            field = record_module().Record.DESCRIPTOR.fields_by_name["summary"]
            summary = field.message_type
            item = summary.fields_by_name["update"].message_type
            proto = descriptor_pb2.FileDescriptorProto(
                name="nbwandb_summary_keys.proto", package="nbwandb_keys", syntax="proto3"
            )
            string, message, raw, optional, repeated = 9, 11, 12, 1, 3  # FieldDescriptorProto
            msg = proto.message_type.add(name="Item")
            msg.field.add(
                name="key", number=item.fields_by_name["key"].number, type=string, label=optional
            )
            msg.field.add(
                name="nested_key",
                number=item.fields_by_name["nested_key"].number,
                type=string,
                label=repeated,
            )
            msg = proto.message_type.add(name="Summary")
            msg.field.add(
                name="update",
                number=summary.fields_by_name["update"].number,
                type=message,
                label=repeated,
                type_name=".nbwandb_keys.Item",
            )
            msg.field.add(
                name="remove",
                number=summary.fields_by_name["remove"].number,
                type=raw,
                label=repeated,
            )
            msg = proto.message_type.add(name="Record")
            msg.field.add(
                name="summary",
                number=field.number,
                type=message,
                label=optional,
                type_name=".nbwandb_keys.Summary",
            )
            pool = descriptor_pool.DescriptorPool()
            pool.Add(proto)
            desc = pool.FindMessageTypeByName("nbwandb_keys.Record")
            get_class = getattr(message_factory, "GetMessageClass", None)
            if get_class is not None:
                _keys_record = get_class(desc)
            else:  # protobuf before 4.22
                _keys_record = message_factory.MessageFactory(pool).GetPrototype(desc)
        except Exception:  # noqa: BLE001 - an unexpected protobuf: summaries are all applied
            _keys_record = False
    return _keys_record or None


def redundant_summaries(payloads: Sequence[bytes], tags: Sequence[int] | None = None) -> set[int]:
    """Indexes of summary records whose updates change nothing in the end: wandb-core writes
    one per row, with the row's keys, so a long run holds millions of them.

    A summary record is redundant when an earlier and a later one update the very same key
    paths (in the same order) and it removes nothing: each of its values is written again
    later, and each key was first written earlier, so the final summary (its values, and the
    order ``_apply_summary`` keeps) is the same without it. Only the first and the last
    record of each set of key paths are applied. Key paths are read without the values.

    >>> from nbwandb.wandb_compat.protobufs import record_module
    >>> pb = record_module()
    >>> def summary(loss): return pb.Record(summary=pb.SummaryRecord(
    ...     update=[pb.SummaryItem(key="loss", value_json=str(loss))])).SerializeToString()
    >>> sorted(redundant_summaries([summary(3), summary(2), summary(1)]))
    [1]
    """
    keys_class = _summary_keys_class()
    if keys_class is None:
        return set()
    from_string = keys_class.FromString
    first: dict[bytes, int] = {}
    last: dict[bytes, int] = {}
    signed: list[int] = []  # summary records read for their key paths
    if tags is None:
        tags = record_tags(payloads)
    for i, payload in enumerate(payloads):
        if tags[i] != SUMMARY_TAG:
            continue
        try:
            keys = from_string(payload)
        except Exception:  # noqa: BLE001 - not readable this way: applied as usual
            continue
        if keys.summary.remove:
            continue  # a removal is always applied
        keys.DiscardUnknownFields()
        signature = keys.SerializeToString()
        first.setdefault(signature, i)
        last[signature] = i
        signed.append(i)
    if len(signed) == len(first):
        return set()
    return set(signed).difference(first.values(), last.values())
