"""A loopback TCP proxy a test puts in front of PostgreSQL (or any server) and switches between modes:

- `pass`: bytes flow both ways;
- `reset`: every connection it carries is reset (RST), and new ones are reset as soon as they arrive;
- `silent`: connections stay open and new ones are accepted, but no byte moves in either direction (a
  server or a network that holds packets); what was held is delivered once the mode is `pass` again;
- `slow`: every chunk waits `delay_s` before it is passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import TracebackType
from typing import Literal, Self

from cti_daemon.demo.broker import free_port

Mode = Literal["pass", "reset", "silent", "slow"]


class TcpProxy:
    def __init__(
        self, target_port: int, *, host: str = "127.0.0.1", mode: Mode = "pass", delay_s: float = 0.5
    ) -> None:
        self.host = host
        self.target_port = target_port
        self.port = free_port()
        self.delay_s = delay_s
        self.accepted = 0
        self._mode: Mode = mode
        self._changed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def mode(self) -> Mode:
        return self._mode

    def set_mode(self, mode: Mode) -> None:
        self._mode = mode
        if mode == "reset":
            for writer in list(self._writers):
                _reset(writer)
            self._writers.clear()
        self._changed.set()
        self._changed = asyncio.Event()

    def url_for(self, url: str) -> str:
        """A database URL on 127.0.0.1:<target port> pointed through the proxy instead."""
        return url.replace(f"{self.host}:{self.target_port}", f"{self.host}:{self.port}")

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            _reset(writer)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._mode == "reset":
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            _reset(writer)
            return
        self._writers.update((writer, up_writer))
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(src, dst, writer, up_writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
        upstream: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await src.read(65536):
                while self._mode in ("silent", "reset"):
                    if self._mode == "reset":
                        raise ConnectionResetError
                    await self._changed.wait()
                if self._mode == "slow":
                    await asyncio.sleep(self.delay_s)
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            for end in (client, upstream):
                self._writers.discard(end)
                _reset(end)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: what a peer sees when the host behind it is gone or a firewall cuts."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
