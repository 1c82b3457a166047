"""The local SMSC's TCP relay, in front of smpp34's server.

smpp34's server cannot report the port it bound, nor close a session it accepted
(``Server.stop`` only stops accepting; bound sessions carry on). So ``warta.channels.smsc``
runs it on a private free port behind this relay on the public one: the relay binds port 0
and says which it got, and ``cut`` aborts relayed sockets (every one, or the oldest few),
as a crashing SMSC or a broken network would.

Every relayed socket has ``TCP_NODELAY`` (asyncio sets it on TCP sockets), as an SMSC's
should: a small PDU goes out at once instead of waiting for the peer's delayed ACK.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import socket


class Relay:
    """Relays each connection to ``host:port`` that ``start`` is given as its target."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._target = ("", 0)
        # Each connection's task and its two ends, oldest first.
        self._links: dict[asyncio.Task[None], tuple[asyncio.StreamWriter, ...]] = {}
        self._relays: set[asyncio.Task[None]] = set()  # one per connection

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self, host: str, port: int, target: tuple[str, int]) -> tuple[str, int]:
        """Listen on ``host:port`` (port 0: a free one); the address it got."""
        self._target = target
        self._server = await asyncio.start_server(self._relay, host, port)
        found_host, found_port = self._server.sockets[0].getsockname()[:2]
        return found_host, found_port

    async def stop(self) -> None:
        """Stop listening and cut every connection off."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self.cut()

    async def cut(self, count: int | None = None) -> None:
        """Abort the oldest ``count`` relayed connections (all: None) at once; the relay
        keeps listening."""
        links = builtins.list(self._links.items())[:count]
        for _, link in links:
            for end in link:
                end.transport.abort()
        tasks = self._relays if count is None else {task for task, _ in links}
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._relays.add(task)
        try:
            try:
                inner_reader, inner_writer = await asyncio.open_connection(*self._target)
            except OSError:
                writer.transport.abort()
                return
            link = (writer, inner_writer)
            if self._server is None or task is None:  # stopped while this one connected
                for end in link:
                    end.transport.abort()
                return
            self._links[task] = link
            pipes = [
                asyncio.ensure_future(_pipe(reader, inner_writer)),
                asyncio.ensure_future(_pipe(inner_reader, writer)),
            ]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
                self._links.pop(task, None)
                for end in link:
                    end.close()
        finally:
            self._relays.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


def free_port(host: str) -> int:
    """A port on ``host`` that nothing listens on now (smpp34 cannot say which it bound,
    so ask the OS for one it is not using)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
