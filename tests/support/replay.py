"""A TCP server that replays a recorded AMI session to whoever logs in.

It greets with the recorded banner (Asterisk's default one when the recording has none, as the cacofonisk
conversions), answers the client's Login with the recording's own login answer (a refused login is
answered "Authentication failed" and the connection closed, as Asterisk does), answers Ping and Filter,
then writes the recording's events in chunks of a chosen size, so split reads are exercised too. Events
keep their recorded ActionIDs: list items of actions this client never sent must not pass for live news.
A last `Event: ReplayComplete` tells the test that everything before it has been read. Answers to the
client's actions wait for a frame boundary, as Asterisk never writes into the middle of an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from cti_daemon.ami.frames import FrameReader, parse_frame

DEFAULT_BANNER = b"Asterisk Call Manager/11.0.0\r\n"
COMPLETE = b"Event: ReplayComplete\r\nPrivilege: test,all\r\n\r\n"
_LISTS = frozenset({"coreshowchannels", "devicestatelist", "extensionstatelist"})


@dataclass(frozen=True, slots=True)
class Recording:
    banner: bytes
    login_ok: bool
    login_message: str
    frames: list[bytes]  # the events, as recorded (CRLF framing included)


def split_recording(data: bytes) -> Recording:
    banner = DEFAULT_BANNER
    rest = data
    if data.startswith(b"Asterisk Call Manager/"):
        head, _, rest = data.partition(b"\r\n")
        banner = head + b"\r\n"
    login_ok, login_message = True, "Authentication accepted"
    frames: list[bytes] = []
    seen_response = False
    for raw in rest.split(b"\r\n\r\n"):
        if not raw.strip():
            continue
        msg = parse_frame(raw.decode("utf-8", errors="replace").strip("\r\n"))
        if msg is None:
            continue
        if "Response" in msg:
            if not seen_response and msg.get("Message", "").startswith("Authentication"):
                seen_response = True  # the recording's own Login answer
                login_ok = msg["Response"] == "Success"
                login_message = msg.get("Message", "")
            continue
        if "Event" in msg:
            frames.append(raw + b"\r\n\r\n")
    return Recording(banner, login_ok, login_message, frames)


class ReplayServer:
    def __init__(
        self,
        recording: bytes,
        *,
        chunk: int = 4096,
        gap_s: float = 0.0,
        hold: bool = False,
        raw: bytes | None = None,
    ) -> None:
        """`raw`: bytes to stream after the login as they are (garbage included), instead of the
        recording's events."""
        self.recording = split_recording(recording)
        self.banner = self.recording.banner
        self.frames = self.recording.frames
        if raw is not None:
            self.frames = [piece + b"\r\n\r\n" for piece in raw.split(b"\r\n\r\n") if piece]
        self.chunk = chunk
        self.gap_s = gap_s
        self.port = 0
        self.done = asyncio.Event()
        self.go = asyncio.Event()  # the stream waits for it when `hold` (a test waits for its daemon first)
        if not hold:
            self.go.set()
        self.logins = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[object]] = set()
        self._streaming = False
        self._outbox: list[bytes] = []

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in [*self._tasks, *self._handlers]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._handlers, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        # Ending cancelled would make asyncio's stream callback log an error at shutdown: end quietly.
        with contextlib.suppress(asyncio.CancelledError):
            await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self.banner)
        frames = FrameReader(expect_banner=False)
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    return
                for action in frames.feed(data):
                    name = action.get("Action", "").lower()
                    aid = action.get("ActionID", "")
                    if name == "login":
                        self.logins += 1
                        if not await self._login(writer, aid):
                            return
                    elif name in _LISTS:
                        # A recording cannot say what is true now: no lists (a resync then gives up).
                        self._answer(
                            writer,
                            f"Response: Error\r\nActionID: {aid}\r\nMessage: Permission denied\r\n\r\n",
                        )
                    elif name == "ping":
                        self._answer(writer, f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n")
                    else:
                        self._answer(writer, f"Response: Success\r\nActionID: {aid}\r\nMessage: ok\r\n\r\n")
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _login(self, writer: asyncio.StreamWriter, action_id: str) -> bool:
        rec = self.recording
        kind = "Success" if rec.login_ok else "Error"
        writer.write(
            f"Response: {kind}\r\nActionID: {action_id}\r\nMessage: {rec.login_message}\r\n\r\n".encode()
        )
        if not rec.login_ok:
            await writer.drain()
            self.done.set()
            return False
        task = asyncio.create_task(self._stream(writer))
        self._tasks.add(task)
        return True

    def _answer(self, writer: asyncio.StreamWriter, text: str) -> None:
        if self._streaming:
            self._outbox.append(text.encode())
        else:
            writer.write(text.encode())

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        await self.go.wait()
        frames = [*self.frames, COMPLETE]
        ends: list[int] = []
        total = 0
        for frame in frames:
            total += len(frame)
            ends.append(total)
        data = b"".join(frames)
        self._streaming = True
        next_end = 0
        for start in range(0, len(data), self.chunk):
            stop = min(start + self.chunk, len(data))
            while next_end < len(ends) and ends[next_end] <= start:
                next_end += 1
            boundary = ends[next_end] if next_end < len(ends) else stop
            if self._outbox and boundary <= stop:
                writer.write(data[start:boundary])
                writer.write(b"".join(self._outbox))
                self._outbox.clear()
                writer.write(data[boundary:stop])
            else:
                writer.write(data[start:stop])
            await writer.drain()
            await asyncio.sleep(self.gap_s)
        self._streaming = False
        writer.write(b"".join(self._outbox))
        self._outbox.clear()
        self.done.set()
