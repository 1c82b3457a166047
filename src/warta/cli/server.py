"""Running Warta: serve, worker, migrate, demo."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from warta.cli.common import emit, run
from warta.settings import Settings


@click.command()
@click.option("--host", default=None, help="Listen address (default: WARTA_HOST).")
@click.option("--port", type=int, default=None, help="Listen port (default: WARTA_PORT).")
@click.option("--workers/--no-workers", default=None, help="Run the embedded delivery workers.")
def serve(host: str | None, port: int | None, workers: bool | None) -> None:
    """Serve the API (and, by default, the embedded delivery workers)."""
    import uvicorn

    from warta.api.app import create_app
    from warta.logs import configure

    overrides: dict[str, Any] = {}
    if workers is not None:
        overrides["run_workers"] = workers
    settings = Settings(**overrides)
    configure(settings.log_level, as_json=settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=15,
    )


@click.command()
def worker() -> None:
    """Run delivery workers without the API (more processes or hosts for delivery).

    They find work with the sweeper: pair with `warta serve --no-workers` and a short
    WARTA_SWEEP_INTERVAL. Stops cleanly on SIGTERM or Ctrl-C, handing back unsent work.
    """
    from warta.logs import configure

    settings = Settings()
    configure(settings.log_level, as_json=settings.log_json)
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # uvloop is optional: plain asyncio works, a little slower
        runner = asyncio.Runner()
    with runner:
        runner.run(_run_workers(settings))


async def _run_workers(settings: Settings) -> None:
    """``warta worker``: a worker pool in its own process until SIGTERM or SIGINT."""
    import logging
    import signal

    from warta.bootstrap import bootstrap
    from warta.pipeline.queue import EmbeddedQueue
    from warta.pipeline.worker import WorkerPool

    queue = EmbeddedQueue()
    app = await bootstrap(settings, queue=queue)
    pool = WorkerPool(app, queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    pool.start()
    logging.getLogger(__name__).info("workers started")
    try:
        await stop.wait()
    finally:
        await pool.stop()
        await app.aclose()


@click.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from warta.store.db import migrate as run_migrations

    run_migrations(Settings().effective_database_url)
    click.echo("database is up to date")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def demo(as_json: bool) -> None:
    """Create (once) a demo agency with an email and an SMS template; print its keys."""
    from warta.services.demo import ensure_demo

    info = run(ensure_demo)
    text = "\n".join(f"{k:>18}: {v}" for k, v in info.items())
    emit(info, as_json, "Demo agency (Instansi Demo)\n" + text)
