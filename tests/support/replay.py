"""A TCP server that replays a recorded AMI session to whoever logs in.

It greets with the recorded banner, answers the client's own Login (with the client's ActionID), Ping and
Filter, then writes the recording's events in chunks of a chosen size, so split reads are exercised too.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from cti_daemon.ami.frames import FrameReader


def split_recording(data: bytes) -> tuple[bytes, list[bytes]]:
    """(banner line, frames after the login answer); the recording's own responses are left out."""
    banner, _, rest = data.partition(b"\r\n")
    frames = [f + b"\r\n\r\n" for f in rest.split(b"\r\n\r\n") if f.strip()]
    return banner + b"\r\n", [f for f in frames if f.startswith(b"Event: ")]


class ReplayServer:
    def __init__(self, recording: bytes, *, chunk: int = 4096, gap_s: float = 0.0) -> None:
        self.banner, self.frames = split_recording(recording)
        self.chunk = chunk
        self.gap_s = gap_s
        self.port = 0
        self.done = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
                    head = f"Response: Success\r\nActionID: {aid}\r\n"
                    if name == "login":
                        writer.write(f"{head}Message: Authentication accepted\r\n\r\n".encode())
                        task = asyncio.create_task(self._stream(writer))
                        self._tasks.add(task)
                    elif name == "ping":
                        writer.write(f"{head}Ping: Pong\r\nTimestamp: 1.0\r\n\r\n".encode())
                    else:
                        writer.write(f"{head}Message: ok\r\n\r\n".encode())
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        data = b"".join(self.frames)
        for start in range(0, len(data), self.chunk):
            writer.write(data[start : start + self.chunk])
            await writer.drain()
            if self.gap_s:
                await asyncio.sleep(self.gap_s)
            else:
                await asyncio.sleep(0)
        self.done.set()
