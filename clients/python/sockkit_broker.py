"""A Python (asyncio, stdlib only) client for a sockkit broker connector's local API socket.

Its calls mirror aioconnectors' ``ConnectorAPI`` so that a program written for aioconnectors keeps
its calls and changes only the import and the constructor::

    # before: connector_api = aioconnectors.ConnectorAPI(config_file_path=...)
    from sockkit_broker import ConnectorAPI
    connector_api = ConnectorAPI(state_dir="broker-state")      # the connector's --dir

    await connector_api.send_message(message_type="any", destination_id="client1",
                                     data={"application message": "hi"})

    async def message_received_cb(transport_json, data, binary):
        print(transport_json["source_id"], data.decode())
    loop.create_task(connector_api.start_waiting_for_messages(
        message_type="any", message_received_cb=message_received_cb))
    ...
    connector_api.stop_waiting_for_messages(message_type="any")   # plain call, loop running or not

The connector itself is ``sockkit broker serve`` or ``sockkit broker connect``; this module only
speaks the frames of ``docs/broker-protocol.md`` over the connector's Unix socket
(``STATE_DIR/broker.sock``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import struct
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

__all__ = ["ConnectorAPI", "BrokerError", "DEFAULT_MAX_FRAME"]

DEFAULT_MAX_FRAME = 16 * 1024 * 1024
_U32 = struct.Struct(">I")

Triplet = Tuple[Dict[str, Any], bytes, bytes]
MessageCallback = Callable[[Dict[str, Any], bytes, bytes], Awaitable[Any]]


class BrokerError(Exception):
    """An error the connector reported, or a lost connection to it."""


def encode_frame(header: Dict[str, Any], data: bytes = b"", binary: bytes = b"") -> bytes:
    """One frame: u32 payload length, u32 header length, header JSON, u32 data length, data, binary."""
    h = json.dumps(header, separators=(",", ":")).encode()
    payload_len = 4 + len(h) + 4 + len(data) + len(binary)
    return b"".join((_U32.pack(payload_len), _U32.pack(len(h)), h, _U32.pack(len(data)), data, binary))


def decode_payload(payload: bytes) -> Tuple[Dict[str, Any], bytes, bytes]:
    """Splits a frame payload (without its length prefix) into header, data and binary part."""
    if len(payload) < 8:
        raise BrokerError(f"Malformed frame from the connector: {len(payload)} byte payload is too short")
    (hl,) = _U32.unpack_from(payload, 0)
    if 4 + hl + 4 > len(payload):
        raise BrokerError(f"Malformed frame from the connector: header length {hl} runs past the frame")
    header = json.loads(payload[4:4 + hl])
    (dl,) = _U32.unpack_from(payload, 4 + hl)
    start = 8 + hl
    if start + dl > len(payload):
        raise BrokerError(f"Malformed frame from the connector: data length {dl} runs past the frame")
    return header, payload[start:start + dl], payload[start + dl:]


def transport_json(header: Dict[str, Any]) -> Dict[str, Any]:
    """The aioconnectors-style transport fields of a delivered message header."""
    t: Dict[str, Any] = {
        "message_type": header.get("type"),
        "source_id": header.get("src"),
        "destination_id": header.get("dst"),
        "request_id": header.get("id"),
    }
    if header.get("replyTo") is not None:
        t["response_id"] = header["replyTo"]
    if header.get("timeout") is not None:
        t["await_response"] = True
    if header.get("tag") is not None:
        t["tag"] = header["tag"]
    if header.get("redelivered") is True:
        # may have been handed to an app before (one that left without confirming it)
        t["redelivered"] = True
    t["data_is_json"] = header.get("enc") == "json"
    t["header"] = header
    return t


class _Stop:
    """A stopped waiter's type until the connector answers its ``unlisten``: the numbers of its
    messages got meanwhile, confirmed only once the ``unlisten`` is written (it gives them back to
    the queue; a confirmation before it would take them off)."""

    __slots__ = ("held", "sent")

    def __init__(self) -> None:
        self.held: list = []
        self.sent = False


class ConnectorAPI:
    """An application's handle on its sockkit connector, shaped like aioconnectors' ConnectorAPI.

    ``state_dir`` is the connector's ``--dir`` (its socket is ``state_dir/broker.sock``); or give
    ``socket_path`` directly. Every method is a coroutine; the socket is opened on first use.
    """

    def __init__(self, state_dir: Optional[str] = None, *, socket_path: Optional[str] = None,
                 max_frame: int = DEFAULT_MAX_FRAME, logger: Optional[logging.Logger] = None,
                 default_timeout: float = 10.0) -> None:
        if socket_path is None:
            if state_dir is None:
                raise ValueError("ConnectorAPI needs state_dir (the connector's --dir) or socket_path")
            socket_path = os.path.join(state_dir, "broker.sock")
        self.socket_path = socket_path
        self.max_frame = max_frame
        self.default_timeout = default_timeout
        self.logger = logger or logging.getLogger("sockkit_broker")
        self.last_error: Optional[BrokerError] = None
        self._prefix = "py" + uuid.uuid4().hex[:8]
        self._seq = itertools.count()
        self._reader: Optional[asyncio.StreamReader] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._read_task: Optional[asyncio.Task] = None
        self._open_lock = asyncio.Lock()
        self._waiters: Dict[str, asyncio.Future] = {}
        self._queues: Dict[str, asyncio.Queue] = {}
        self._closed_reason: Optional[str] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # stopped waiters whose unlisten is not answered yet, by type; and the unlistens by id
        self._stopping: Dict[str, _Stop] = {}
        self._unlistens: Dict[str, list] = {}
        # delivery confirmation: msg frames got on this connection are numbered; the connector is
        # told the longest prefix whose callbacks have finished ("delivered"), so a message leaves
        # its queue only once the callback has run
        self._got = 0
        self._handled: set = set()
        self._confirmed = 0

    # -- connection ---------------------------------------------------------------------------

    async def connect(self) -> "ConnectorAPI":
        """Opens the local socket (done implicitly by every call); the error says when no connector runs."""
        async with self._open_lock:
            if self._writer is not None:
                return self
            try:
                self._reader, self._writer = await asyncio.open_unix_connection(self.socket_path)
            except (FileNotFoundError, ConnectionRefusedError) as e:
                raise BrokerError(
                    f'Cannot reach the connector socket "{self.socket_path}": no connector is running there '
                    '(start one with "sockkit broker serve" or "sockkit broker connect", and pass the same --dir)'
                ) from e
            self._closed_reason = None
            self._got = self._confirmed = 0
            self._handled = set()
            self._stopping, self._unlistens = {}, {}
            self._loop = asyncio.get_running_loop()
            self._read_task = self._loop.create_task(self._read_loop())
        return self

    async def close(self) -> None:
        """Closes the socket; pending calls fail with BrokerError. Idempotent."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        if self._read_task is not None:
            await asyncio.gather(self._read_task, return_exceptions=True)
            self._read_task = None

    async def __aenter__(self) -> "ConnectorAPI":
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _next_id(self) -> str:
        return f"{self._prefix}-{next(self._seq):x}"

    async def _read_loop(self) -> None:
        reason = "the connector closed the socket"
        try:
            assert self._reader is not None
            while True:
                try:
                    head = await self._reader.readexactly(4)
                except asyncio.IncompleteReadError:
                    break
                (n,) = _U32.unpack(head)
                if n > self.max_frame:
                    reason = f"Frame too large: {n} bytes exceeds the {self.max_frame} byte limit"
                    break
                self._dispatch(*decode_payload(await self._reader.readexactly(n)))
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as e:
            reason = f"connection lost: {e}"
        except BrokerError as e:
            reason = str(e)
        finally:
            self._closed_reason = reason
            err = BrokerError(f"Connection to the connector closed: {reason}")
            for fut in self._waiters.values():
                if not fut.done():
                    fut.set_exception(err)
            self._waiters.clear()
            for q in self._queues.values():
                q.put_nowait(None)
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def _dispatch(self, header: Dict[str, Any], data: bytes, binary: bytes) -> None:
        kind = header.get("kind")
        if kind == "msg":
            reply_to = header.get("replyTo")
            if reply_to is not None and reply_to in self._waiters:
                fut = self._waiters.pop(reply_to)
                if not fut.done():
                    fut.set_result((header, data, binary))
                return
            self._got += 1
            message_type = header.get("type", "")
            stop = self._stopping.get(message_type)
            if stop is not None:
                # handed before the unlisten, which gives it back to the queue: no callback
                if stop.sent:
                    self._done(self._got)
                else:
                    stop.held.append(self._got)
                return
            q = self._queues.get(message_type)
            if q is not None:
                q.put_nowait((self._got, header, data, binary))
            else:
                self._done(self._got)
            return
        if kind in ("result", "error"):
            reply_to = header.get("replyTo")
            for message_type, stop in self._unlistens.pop(reply_to, ()):
                if self._stopping.get(message_type) is stop:
                    del self._stopping[message_type]
            fut = self._waiters.pop(reply_to, None) if reply_to is not None else None
            if kind == "error":
                err = BrokerError(header.get("message", "unknown error"))
                if fut is not None:
                    if not fut.done():
                        fut.set_exception(err)
                else:
                    self.last_error = err
                    self.logger.warning("connector error: %s", err)
            elif fut is not None and not fut.done():
                fut.set_result((header, data, binary))

    def _done(self, n: int) -> None:
        """Message number ``n`` was handled; confirm the handled prefix to the connector."""
        self._handled.add(n)
        confirmed = self._confirmed
        while confirmed + 1 in self._handled:
            confirmed += 1
            self._handled.discard(confirmed)
        if confirmed > self._confirmed and self._writer is not None:
            self._confirmed = confirmed
            self._writer.write(encode_frame({"kind": "delivered", "n": confirmed}))

    async def _write(self, frame: bytes) -> None:
        await self.connect()
        if self._writer is None:
            raise BrokerError(f"Connection to the connector closed: {self._closed_reason}")
        self._writer.write(frame)
        await self._writer.drain()

    async def _call(self, header: Dict[str, Any], data: bytes = b"", binary: bytes = b"",
                    timeout: Optional[float] = None) -> Triplet:
        await self.connect()
        fut = asyncio.get_running_loop().create_future()
        self._waiters[header["id"]] = fut
        try:
            await self._write(encode_frame(header, data, binary))
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters.pop(header["id"], None)

    # -- aioconnectors' ConnectorAPI calls ---------------------------------------------------

    async def send_message(self, message_type: Optional[str] = None, destination_id: Optional[str] = None,
                           request_id: Optional[str] = None, response_id: Optional[str] = None,
                           data: Any = None, data_is_json: bool = True, binary: Optional[bytes] = None,
                           await_response: bool = False, with_file: Optional[Dict[str, Any]] = None,
                           wait_for_ack: bool = False, tag: Optional[str] = None,
                           await_response_timeout: Optional[float] = None, publish: bool = False) -> Any:
        """Sends one message; returns True (sent or acknowledged) or False (refused: see last_error).

        With ``await_response=True`` it returns the answer as a ``(transport_json, data, binary)``
        triplet instead (or raises BrokerError on timeout). ``destination_id=None`` on a client
        connector means its server. ``with_file={'src_path', 'dst_type', 'dst_name', 'delete'}``
        first sends the file (or directory) to the peer, stored in the directory it maps to
        ``dst_type`` (under ``dst_name`` when given; ``delete`` removes the source once stored).
        """
        if message_type is None:
            raise ValueError("send_message needs message_type")
        if tag is not None and not isinstance(tag, str):
            raise ValueError("send_message tag must be a string")
        dst = destination_id or ""
        try:
            if with_file is not None:
                await self._send_with_file(dst, message_type, with_file)
                if data is None and binary is None:
                    return True
            header: Dict[str, Any] = {"kind": "msg", "type": message_type, "src": "", "dst": dst,
                                      "id": request_id or self._next_id()}
            if response_id is not None:
                header["replyTo"] = response_id
            if tag is not None:
                header["tag"] = tag
            if publish:
                header["pub"] = True
            payload = b""
            if data is not None:
                if data_is_json:
                    payload = json.dumps(data).encode()
                    header["enc"] = "json"
                else:
                    payload = data.encode() if isinstance(data, str) else bytes(data)
                    header["enc"] = "text"
            bin_part = bytes(binary) if binary is not None else b""
            if await_response:
                wait = await_response_timeout or self.default_timeout
                header["timeout"] = int(wait * 1000)
                # the connector answers with an error when the peer does not answer in time;
                # the extra second covers the round trip to it
                h, d, b = await self._call(header, payload, bin_part, timeout=wait + 1.0)
                return transport_json(h), d, b
            if wait_for_ack:
                header["ack"] = True
                await self._call(header, payload, bin_part)
                return True
            await self._write(encode_frame(header, payload, bin_part))
            return True
        except BrokerError as e:
            if await_response:
                raise
            self.last_error = e
            self.logger.warning("send_message to %r (type %r) failed: %s", dst, message_type, e)
            return False
        except asyncio.TimeoutError as e:
            raise BrokerError(
                f'Request to peer "{dst}" (type "{message_type}") got no answer from the connector'
            ) from e

    async def publish_message(self, message_type: Optional[str] = None, data: Any = None,
                              data_is_json: bool = True, binary: Optional[bytes] = None,
                              wait_for_ack: bool = False, tag: Optional[str] = None,
                              request_id: Optional[str] = None) -> bool:
        """Publishes a message to every client subscribed to ``message_type``, through the server.
        With ``wait_for_ack=True`` it returns True once the message is stored for every subscriber
        (False when refused, e.g. by the server's publish/subscribe rule: see last_error)."""
        return await self.send_message(message_type=message_type, data=data, data_is_json=data_is_json,
                                       binary=binary, wait_for_ack=wait_for_ack, tag=tag,
                                       request_id=request_id, publish=True)

    async def subscribe(self, message_types: Any, unsubscribe: bool = False) -> None:
        """Subscribes this client connector to ``message_types`` (a type or a list) at its server,
        which keeps the subscription until ``unsubscribe=True``; raises BrokerError when refused."""
        types = [message_types] if isinstance(message_types, str) else list(message_types)
        header: Dict[str, Any] = {"kind": "subscribe", "id": self._next_id(), "types": types}
        if unsubscribe:
            header["unsubscribe"] = True
        await self._call(header)

    async def _send_with_file(self, dst: str, message_type: str, with_file: Dict[str, Any]) -> Dict[str, Any]:
        src = with_file.get("src_path")
        if not src:
            raise ValueError("with_file needs src_path")
        file_type = with_file.get("dst_type") or message_type
        header: Dict[str, Any] = {"kind": "sendFile", "id": self._next_id(), "dst": dst,
                                  "type": file_type, "path": os.path.abspath(src)}
        if with_file.get("dst_name"):
            header["name"] = with_file["dst_name"]
        if with_file.get("delete"):
            header["delete"] = True  # the connector removes it once the receiver stored it
        h, _, _ = await self._call(header)
        return h.get("value", {})

    async def send_message_await_response(self, **kwargs: Any) -> Triplet:
        """send_message(..., await_response=True)."""
        kwargs["await_response"] = True
        return await self.send_message(**kwargs)

    def send_message_sync(self, **kwargs: Any) -> Any:
        """send_message from synchronous code (runs its own event loop for the call)."""
        async def once() -> Any:
            try:
                return await self.send_message(**kwargs)
            finally:
                await self.close()
        return asyncio.run(once())

    async def send_file(self, destination_id: Optional[str], file_type: str, path: str) -> Dict[str, Any]:
        """Sends a file or directory; returns {path, bytes, files, dir} once the receiver stored it."""
        return await self._send_with_file(destination_id or "", file_type, {"src_path": path, "dst_type": file_type})

    async def start_waiting_for_messages(self, message_type: str = "",
                                         message_received_cb: Optional[MessageCallback] = None) -> None:
        """Receives every message of ``message_type`` (queued ones first) and awaits
        ``message_received_cb(transport_json, data, binary)`` for each, one at a time, until the
        connection closes, the task is cancelled or stop_waiting_for_messages stops the type. A
        message is confirmed to the connector (and leaves its queue) once the callback returned:
        messages not yet handled when the program stops stay queued for the next listener."""
        if message_received_cb is None:
            raise ValueError("start_waiting_for_messages needs message_received_cb")
        if message_type in self._queues:
            raise BrokerError(f'Already waiting for messages of type "{message_type}" on this ConnectorAPI')
        q: asyncio.Queue = asyncio.Queue()
        self._queues[message_type] = q
        try:
            await self.connect()
            if self._queues.get(message_type) is not q:
                return  # stopped while connecting: nothing to listen to
            await self._call({"kind": "listen", "id": self._next_id(), "types": [message_type],
                              "confirm": True})
            while True:
                item = await q.get()
                if item is None:
                    return
                n, header, data, binary = item
                try:
                    await message_received_cb(transport_json(header), data, binary)
                except Exception:  # the callback's failure must not stop the listener
                    self.logger.exception("message_received_cb failed for message %r", header.get("id"))
                self._done(n)
        finally:
            if self._queues.get(message_type) is q:
                del self._queues[message_type]

    def stop_waiting_for_messages(self, message_type: Optional[str] = None) -> None:
        """Stops start_waiting_for_messages for ``message_type`` (None: every type); a plain call, as
        in aioconnectors, whether the event loop runs or not. No callback runs for that type after
        it (one running now finishes, and its message goes back to the queue as well: delivery is
        at least once), and that waiter returns. The connector is told
        (``unlisten``) at once when called on the running loop, else when the loop runs next:
        messages it handed and no callback handled go back to the queue, in order, for the next
        listener (as they do when the socket closes, e.g. at exit). A type nobody waits for is
        logged and ignored."""
        types = list(self._queues) if message_type is None else [message_type]
        stopped = []
        for t in types:
            q = self._queues.pop(t, None)
            if q is None:
                self.logger.warning("stop_waiting_for_messages: no waiter of type %r to stop", t)
                continue
            stop = _Stop()
            while not q.empty():
                item = q.get_nowait()
                if item is not None:
                    stop.held.append(item[0])
            q.put_nowait(None)
            if self._writer is not None:
                self._stopping[t] = stop
                stopped.append((t, stop))
        if not stopped:
            return
        writer = self._writer
        try:
            running: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is self._loop:
            self._send_unlisten(writer, stopped)
        elif self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._send_unlisten, writer, stopped)

    def _send_unlisten(self, writer: Optional[asyncio.StreamWriter], stopped: list) -> None:
        """Writes the ``unlisten`` of stopped waiters, then confirms what they held back."""
        if writer is None or self._writer is not writer:
            return  # that connection is gone, and its close gave back what was not confirmed
        uid = self._next_id()
        self._unlistens[uid] = stopped
        writer.write(encode_frame({"kind": "unlisten", "id": uid, "types": [t for t, _ in stopped]}))
        for _, stop in stopped:
            stop.sent = True
            held, stop.held = stop.held, []
            for n in held:
                self._done(n)

    async def answer(self, transport: Dict[str, Any], data: Any = None, data_is_json: bool = True,
                     binary: Optional[bytes] = None) -> Any:
        """Answers a request received in a callback (send_message with response_id set)."""
        return await self.send_message(message_type=transport["message_type"], destination_id=transport["source_id"],
                                       response_id=transport["request_id"], data=data,
                                       data_is_json=data_is_json, binary=binary)

    async def sync(self) -> None:
        """Waits until the connector handled every earlier frame (journals on disk); raises the first
        error a fire-and-forget send caused."""
        await self._call({"kind": "sync", "id": self._next_id()})
        if self.last_error is not None:
            err, self.last_error = self.last_error, None
            raise err

    async def admin(self, op: str, **args: Any) -> Any:
        """Runs an admin op (status, peers, queues, ping, block, unblock, revoke, stop)."""
        h, _, _ = await self._call({"kind": "admin", "id": self._next_id(), "op": op, "args": args})
        return h.get("value")

    async def show_connected_peers(self) -> Any:
        """The connected peers (aioconnectors' show_connected_peers)."""
        return await self.admin("peers")

    async def peek_queues(self) -> Any:
        """The connector's persisted queues (aioconnectors' peek_queues)."""
        return await self.admin("queues")
