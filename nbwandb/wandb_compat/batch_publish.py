"""Publish many plain-scalar history rows to wandb-core in one hop.

wandb's public ``Run.log`` spends much Python time per row (``benchmarks/bench_logging.py``
compares it with nbwandb's): one asyncio hop into wandb's loop thread per row, a client-side
OpenTelemetry histogram, and media-aware encoding. For rows that hold only
numbers and bools, this module sends the same ``PartialHistoryRequest``
records wandb builds, a whole burst of them in one socket write: written as
bytes by ``history_frames.RowFramer`` where wandb's message layout is the one
it knows, else built as protobuf messages from a template.

It uses wandb internals (capabilities ``batch_publish``, ``framed_socket_write`` and,
for wandb's typed history values, ``history_typed_values``), so ``BatchPublisher.attach``
checks each one and returns None when a required one is missing; the caller then uses
the public ``wandb_run.log`` (which is also used for every row holding media). wandb
before 0.29 has no typed values: rows are written in its JSON form only.

>>> import time
>>> run = nbwandb.init(project="demo", quiet=True)
>>> pub = BatchPublisher.attach(run.wandb_run)      # None where wandb's internals differ
>>> pub.publish([({"loss": 0.5, "global_step": 0}, time.time())]) if pub else None
>>> run.finish()
>>> [row["loss"] for row in nbwandb.local.read_run(run).history]
[0.5]
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from typing import Any

from nbwandb.wandb_compat.history_frames import RowFramer, json_text
from nbwandb.wandb_compat.registry import available, capability
from nbwandb.wandb_compat.service import is_finished

# Values wandb encodes as plain JSON scalars; anything else (media, arrays, tables)
# goes through wandb's public Run.log, which knows how to store it.
_PLAIN = (float, int, bool)

Row = tuple[dict[str, Any], float]  # (row, the time.time() it was logged at)

# Bytes handed to wandb's asyncio thread but not yet in the socket, plus those waiting in
# the socket's buffer, above which a burst waits for the socket as wandb's own send does.
MAX_UNSENT = 1 << 20
FRAME_CHUNK = 16  # rows framed between two chances for another thread to take the GIL


@capability(
    "batch_publish",
    needs="run._interface (_make_request, _assign, _asyncer.run, _client.publish), "
    "run._local_step, wandb.proto's PartialHistoryRequest/ServerRequest",
    fallback="wandb_run.log(row) for every row (same rows, more Python time each)",
)
def _has_batch_internals() -> bool:
    from wandb.proto import wandb_internal_pb2, wandb_server_pb2
    from wandb.sdk.interface.interface_shared import InterfaceShared
    from wandb.sdk.interface.interface_sock import InterfaceSock

    return (
        hasattr(wandb_internal_pb2, "PartialHistoryRequest")
        and hasattr(wandb_server_pb2, "ServerRequest")
        and callable(getattr(InterfaceShared, "_make_request", None))
        and callable(getattr(InterfaceSock, "_assign", None))
    )


@capability(
    "history_typed_values",
    needs="wandb.sdk.interface.history_value.set_history_value (wandb 0.29+)",
    fallback="values in wandb's JSON form only (what wandb itself writes without typed values)",
    missing_in=((0, 28, 1),),
)
def _has_typed_values() -> bool:
    from wandb.sdk.interface.history_value import set_history_value

    return callable(set_history_value)


@capability(
    "framed_socket_write",
    needs="service_client._HEADER_BYTE_INT_FMT == '<BI', client._writer, _drain_writer",
    fallback="one client.publish(request) per row inside the burst's single hop",
)
def _has_framed_write() -> bool:
    from wandb.sdk.lib.service import service_client

    return getattr(service_client, "_HEADER_BYTE_INT_FMT", None) == _HEADER and callable(
        getattr(service_client.ServiceClient, "_drain_writer", None)
    )


def is_plain(row: dict[str, Any]) -> bool:
    """True if every value is a Python number or bool (a row the batch path can write)."""
    return all(type(v) in _PLAIN for v in row.values())


class BatchPublisher:
    """Sends plain rows to wandb-core as wandb's own ``Run.log`` would, many per hop."""

    def __init__(
        self,
        wandb_run: Any,
        iface: Any,
        record_cls: Any,
        item_cls: Any,
        request_cls: Any,
        set_value: Any,
    ) -> None:
        self._run = wandb_run
        self._iface = iface
        self._record_cls = record_cls
        self._item_cls = item_cls
        self._request_cls = request_cls
        self._set_value = set_value
        self._template: Any = None
        self._one_write = False  # True: the burst goes out as one socket write (see _send_framed)
        self._framer: RowFramer | None = None  # rows framed as bytes directly (json encoding only)
        self._loop: Any = None  # wandb's asyncio loop, for sends that do not wait (see _send_bytes)
        # Bytes scheduled (written by the writer thread only) and put into the socket (by
        # wandb's asyncio thread only): one writer each, so no lock is needed.
        self._scheduled = 0
        self._written = 0
        self._settled = 0  # _scheduled at the last settle that found every byte sent
        encoding = _encodings(wandb_run)
        self._json_form = "json" in encoding
        self._typed_form = "typed" in encoding

    @classmethod
    def attach(cls, wandb_run: Any) -> BatchPublisher | None:
        """A publisher for ``wandb_run``, or None if this wandb lacks an internal it needs."""
        if not available("batch_publish"):
            return None
        try:
            from wandb.proto import wandb_internal_pb2, wandb_server_pb2

            set_history_value: Any = None
            if available("history_typed_values"):
                from wandb.sdk.interface.history_value import set_history_value
            iface = wandb_run._interface
            needed = (iface._make_request, iface._assign, iface._asyncer.run, iface._client.publish)
            if not all(callable(fn) for fn in needed) or not isinstance(wandb_run._local_step, int):
                return None
            if set_history_value is None and "typed" in _encodings(wandb_run):
                return None  # typed values asked for, and no way here to write them
            publisher = cls(
                wandb_run,
                iface,
                wandb_internal_pb2.PartialHistoryRequest,  # type: ignore[attr-defined]  # generated code
                wandb_internal_pb2.HistoryItem,  # type: ignore[attr-defined]
                wandb_server_pb2.ServerRequest,  # type: ignore[attr-defined]
                set_history_value,
            )
            publisher._one_write = _can_write_framed(iface._client)
            loop = getattr(iface._asyncer, "_loop", None)
            if publisher._one_write and callable(getattr(loop, "call_soon_threadsafe", None)):
                publisher._loop = loop
            return publisher
        except Exception:  # noqa: BLE001 - any missing piece means: use the public path
            return None

    def usable(self) -> bool:
        """False once wandb's run is finished or someone wrapped its ``log`` (then theirs must run)."""
        run = self._run
        return not is_finished(run) and "log" not in vars(run)

    def _make_template(self) -> Any:
        # Built once by wandb's own _make_request, so the record carries what wandb sets on
        # every partial history request (stream id, control flags); rows only add items.
        history = self._record_cls()
        history.item.add(key="_timestamp", value_json="0")
        record = self._iface._make_request(partial_history=history)
        self._iface._assign(record)
        template = self._request_cls()
        template.record_publish.CopyFrom(record)
        template.record_publish.request.partial_history.ClearField("item")
        self._template = template
        if self._one_write and self._json_form and not self._typed_form:
            try:
                self._framer = RowFramer.for_template(template)
            except ValueError:
                self._framer = None  # a message layout we do not write: build messages instead
        return template

    def publish(self, rows: Sequence[Row]) -> None:
        """Send ``rows`` in order, each as one history step, in a single hop into wandb's loop."""
        template = self._make_template() if self._template is None else self._template
        framer = self._framer
        if framer is not None:
            # the bytes are built here, in the writer thread, not in wandb's asyncio thread
            frame = framer.frame
            parts = []
            for at in range(0, len(rows), FRAME_CHUNK):
                if at:
                    # Let a thread waiting for the GIL (the training loop, back from its
                    # step) take it now rather than after the whole burst: on two cores
                    # this shortens its wait per step (the wait benchmarks/bench_logging.py
                    # prints).
                    time.sleep(0)
                parts.append(b"".join([frame(row, t) for row, t in rows[at : at + FRAME_CHUNK]]))
            self._send_bytes(b"".join(parts))
            self._run._local_step += len(rows)
            return
        fast = self._json_form and not self._typed_form
        item_cls = self._item_cls
        requests = []
        for row, logged_at in rows:
            request = self._request_cls()
            request.CopyFrom(template)  # wandb's record for one partial history row, without items
            items = request.record_publish.request.partial_history.item
            if fast:
                items.extend(
                    [item_cls(key=key, value_json=json_text(value)) for key, value in row.items()]
                )
                items.add(key="_timestamp", value_json=repr(logged_at))
            else:
                for key, value in [*row.items(), ("_timestamp", logged_at)]:
                    self._set_value(
                        items.add(key=key),
                        value,
                        json_form=self._json_form,
                        typed_form=self._typed_form,
                    )
            requests.append(request)
        client = self._iface._client
        one_write = self._one_write

        async def send_all() -> None:
            if one_write and client._broken_exc is None:
                await _send_framed(client, requests)
                return
            for request in requests:
                await client.publish(request)  # raises the socket's stored error, as wandb does

        self._iface._asyncer.run(send_all)
        # wandb's own step counter advances once per row, as Run.log(row) would do it,
        # so rows an integration logs later through wandb.run continue from here.
        self._run._local_step += len(rows)

    def _send_bytes(self, data: bytes) -> None:
        client = self._iface._client
        if client._broken_exc is not None:
            raise client._broken_exc  # the socket failed earlier, as wandb's publish raises it
        if self._loop is not None and self.unsent() + len(data) <= MAX_UNSENT:
            # Handed to wandb's asyncio thread without waiting for it: waiting costs a round
            # trip of two thread wake-ups a burst, and on two cores the training thread
            # waits for the GIL while they happen. It is FIFO with every later request
            # (wandb's own included), and ``settle`` reports what did not reach the socket.
            self._scheduled += len(data)
            self._loop.call_soon_threadsafe(self._write_soon, data)
            return
        self._send_and_wait(data)

    def _send_and_wait(self, data: bytes) -> None:
        """Write ``data`` in wandb's asyncio thread and wait for the socket's flow control, as
        wandb's own send does; it runs after every write scheduled before it."""
        client = self._iface._client

        async def send() -> None:
            if client._broken_exc is not None:
                raise client._broken_exc
            await _write(client, data)

        self._iface._asyncer.run(send)

    def _write_soon(self, data: bytes) -> None:
        # in wandb's asyncio thread
        client = self._iface._client
        if client._broken_exc is not None:
            return  # an earlier write failed: settle counts these bytes as not sent
        try:
            if client._writer.transport.is_closing():
                raise ConnectionResetError("wandb-core closed the connection")
            client._writer.write(data)
        except Exception as exc:  # noqa: BLE001 - recorded as wandb's client records it
            client._broken_exc, client._broken_tb = exc, exc.__traceback__
            return
        self._written += len(data)

    def unsent(self) -> int:
        """Bytes handed over but not yet sent: in wandb's asyncio queue or the socket's buffer."""
        pending = self._scheduled - self._written
        try:
            pending += self._iface._client._writer.transport.get_write_buffer_size()
        except Exception:  # noqa: BLE001 - a transport without the method: count the queue only
            pass
        return pending

    def settle(self) -> None:
        """Wait until every row handed over is written to the socket, as far as wandb's own
        send waits (its flow control); raise if some could not be written.

        >>> run = nbwandb.init(project="demo", quiet=True)
        >>> run.log({"loss": 0.5}); run.flush()   # flush settles the publisher
        True
        >>> pub = run._publisher
        >>> pub is None or pub._written == pub._scheduled > 0
        True
        >>> run.finish()
        """
        if self._scheduled == self._settled:
            return  # nothing handed over since the last settle (a finish right after a flush)
        self._send_and_wait(b"")
        lost = self._scheduled - self._written
        if lost:
            raise ConnectionError(f"{lost} bytes of history rows did not reach wandb-core")
        self._settled = self._scheduled


def _encodings(wandb_run: Any) -> list[str]:
    # wandb before 0.29 has no such setting: its history values are JSON text
    return str(getattr(wandb_run.settings, "x_history_value_encoding", "json")).split(",")


def _can_write_framed(client: Any) -> bool:
    """True if wandb's service client frames requests as this module's ``_send_framed`` does."""
    if not available("framed_socket_write"):
        return False
    try:
        return (
            client._broken_exc is None
            and callable(client._writer.write)
            and callable(client._drain_writer)
        )
    except Exception:  # noqa: BLE001 - any missing piece: one client.publish per row
        return False


_HEADER = "<BI"  # wandb's framing: b"W", then the request's length, then the request


async def _send_framed(client: Any, requests: list[Any]) -> None:
    # wandb's client writes and drains once per request; a burst of rows then holds its
    # asyncio thread (and the GIL) for a write per row. Framed the same way, one write does.
    header = struct.Struct(_HEADER)
    await _write(
        client, b"".join(header.pack(87, r.ByteSize()) + r.SerializeToString() for r in requests)
    )


async def _write(client: Any, data: bytes) -> None:
    client._writer.write(data)
    try:
        await client._drain_writer()
    except Exception as exc:
        client._broken_exc, client._broken_tb = (
            exc,
            exc.__traceback__,
        )  # as wandb's client records it
        raise
