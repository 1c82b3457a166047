"""The sinks' side of the throughput benchmarks: the control port (``control_server``, the
``Counts`` it reports and the ``Wait`` commands it answers), ``run_loop`` (uvloop when
installed) and ``free_port``.

Imported by ``smtp_sink.py`` and ``smsc_sink.py`` (run as scripts, so this folder is on
``sys.path``); ``_common.py`` takes ``free_port`` and ``run_loop`` from here too, and
``email_throughput.py`` and ``sms_throughput.py`` take ``run_loop``. Standard library only
(and uvloop, if installed), so a sink never loads httpx, the Notify client or warta.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when installed (as uvicorn does), else on asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


class Counts(Protocol):
    """What a sink has seen."""

    def reset(self) -> None: ...

    def stats(self) -> dict[str, Any]: ...


Wait = Callable[[int, float], Awaitable[float | None]]


async def control_server(counts: Counts, waits: dict[str, tuple[str, Wait]]) -> asyncio.Server:
    """A sink's control port on 127.0.0.1 (the OS picks the port): a line protocol, one
    JSON object per reply. Every sink answers ``STATS`` and ``RESET`` (zero everything,
    answer STATS); ``waits`` maps a command ``NAME <n> <secs>`` to the key its answer adds
    to STATS and the wait for that value."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                words = line.decode().split()
                reply: dict[str, Any]
                if len(words) == 3 and words[0] in waits:
                    key, wait = waits[words[0]]
                    nth = await wait(int(words[1]), float(words[2]))
                    reply = counts.stats() | {key: nth}
                elif words == ["RESET"]:
                    counts.reset()
                    reply = counts.stats()
                elif words == ["STATS"]:
                    reply = counts.stats()
                else:
                    reply = {"error": f"unknown command {line!r}"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(session, host="127.0.0.1", port=0)
