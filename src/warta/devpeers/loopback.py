"""Serve an ASGI app over a real socket on 127.0.0.1, on the test's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn


class _QuietServer(uvicorn.Server):
    """A server that leaves signals alone: inside ``warta serve`` (local peers) SIGTERM is
    the main server's to handle, and a peer taking it would keep Warta from stopping."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_asgi(app: Any, *, startup_timeout: float = 5.0) -> AsyncIterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT``) while uvicorn serves ``app``.

    The app's lifespan is not run: the caller owns it (a Warta is already built by the
    test harness). Logging is left alone (``log_config=None``, no ``log_level``) so
    pytest's capture and the host process's own logging keep working, and websockets are
    off so their import cannot warn.
    """
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_config=None,
        # No log_level: uvicorn would set it on the shared "uvicorn.error" logger and so
        # silence the main server's own lines when a peer runs inside ``warta serve``.
        log_level=None,
        access_log=False,
        ws="none",
        http="h11",
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(startup_timeout):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
