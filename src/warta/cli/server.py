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
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    help="API processes on the one port, sharing the database, broker and Redis.",
)
def serve(host: str | None, port: int | None, workers: bool | None, processes: int) -> None:
    """Serve the API (and, by default, the embedded delivery workers)."""
    import uvicorn

    from warta import metrics
    from warta.logs import configure

    overrides: dict[str, Any] = {}
    if workers is not None:
        overrides["run_workers"] = workers
    settings = Settings(**overrides)
    # Refused before anything starts: a refused command changes nothing.
    problem = shared_state_problem(settings) if processes > 1 else None
    if problem:
        raise click.UsageError(f"--processes {processes}: {problem}")
    configure(settings.log_level, as_json=settings.log_json)
    metrics.prepare(settings.var_dir / "metrics")  # before any process of it counts
    if processes > 1:
        _serve_processes(settings, host, port, workers, processes)
        return
    from warta.api.app import create_app  # here: the parent of several processes needs none

    app = create_app(settings)
    settle_garbage_collector()
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=15,
    )


def _serve_processes(
    settings: Settings, host: str | None, port: int | None, workers: bool | None, processes: int
) -> None:
    """``serve --processes N``: uvicorn's worker processes, each building its own Warta
    from the same environment. Each runs the embedded pool too (unless ``--no-workers``):
    safe, as leases name their process (``name#boot``) and a process takes back only its
    own name's leases while no other process by that name runs (``pipeline.worker``)."""
    import os

    import uvicorn

    from warta.store.db import migrate as run_migrations

    run_migrations(settings.effective_database_url)  # once, not by N processes at once
    if workers is not None:  # the processes read their settings from the environment
        os.environ["WARTA_RUN_WORKERS"] = str(workers).lower()
    uvicorn.run(
        "warta.cli.server:api_process",
        factory=True,
        workers=processes,
        # A process that starts (imports, bootstrap) on a busy host may not answer
        # uvicorn's ping for seconds: the default 5 s killed healthy ones as hung.
        timeout_worker_healthcheck=60,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=15,
    )


def shared_state_problem(settings: Settings) -> str | None:
    """Why several API processes cannot serve with these settings, or None. Each must
    keep no state of its own: what the dev sinks capture lives in one process's memory
    (/dev/outbox would show a random process's share), SQLite is one host's file that
    processes would queue on, and without Redis each process has its own limits."""
    if settings.serve_dev_outbox or settings.start_local_app_peers:
        return (
            "the development outbox and local peers live in one process's memory: set "
            "WARTA_SMTP_URL and an SMS provider (WARTA_SMPP_URL or WARTA_SMS_HTTP_URL), or "
            "WARTA_DEV_OUTBOX=false and WARTA_LOCAL_APP_PEERS=false, or serve one process"
        )
    if settings.effective_database_url.startswith("sqlite"):
        return "several processes need PostgreSQL (WARTA_DATABASE_URL), not SQLite"
    if not settings.redis_url:
        return "several processes share rate limits and caches in Redis: set WARTA_REDIS_URL"
    return None


def api_process() -> Any:
    """The ASGI app of one ``serve --processes`` process (uvicorn calls this in each)."""
    import functools

    from warta import metrics
    from warta.api.app import create_app
    from warta.bootstrap import bootstrap
    from warta.logs import configure

    settings = Settings()
    configure(settings.log_level, as_json=settings.log_json)
    metrics.prepare(settings.var_dir / "metrics")  # the parent emptied it; this one joins
    app = create_app(settings, build=functools.partial(bootstrap, run_migrations=False))
    settle_garbage_collector()
    return app


def settle_garbage_collector() -> None:
    """Keep the cyclic garbage collector's passes short while the API serves.

    Everything imported and built so far (the app, its routes and schemas, SQLAlchemy's
    tables) lives as long as the process: ``gc.freeze`` takes it out of the collector's
    sight, so a full pass walks only what requests leave behind. Unfrozen, those passes
    walked it all and stopped the process for 0.4-1.4 s under load, the accept path's p99.
    A larger first threshold lets most of a request's objects die by reference counting
    before a young-generation pass looks at them."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


@click.command()
@click.option(
    "--queues",
    default=None,
    help="With WARTA_BROKER_URL: the Celery queues to take work from, comma-separated "
    "(urgent, deliver-email, deliver-sms, deliver-push, deliver-chat, deliver, callbacks, "
    "fan-out, periodic). Default: all.",
)
def worker(queues: str | None) -> None:
    """Run delivery workers without the API (more processes or hosts for delivery).

    With WARTA_BROKER_URL set, a Celery worker taking its work from RabbitMQ (run one
    `warta beat` too; docs/scale-out.md). Without it, the embedded pool, finding work
    with its sweeper: pair with `warta serve --no-workers` and a short
    WARTA_SWEEP_INTERVAL. Stops cleanly on SIGTERM or Ctrl-C, handing back unsent work.
    """
    from warta import metrics
    from warta.logs import configure

    settings = Settings()
    # Refusals first: a command refused changes nothing (not even the metrics folder).
    if settings.broker_url:
        from warta.cli.celery import parse_queues

        wanted = parse_queues(queues)
    elif queues is not None:
        raise click.UsageError("--queues names Celery queues: set WARTA_BROKER_URL")
    configure(settings.log_level, as_json=settings.log_json)
    metrics.prepare(settings.var_dir / "metrics")
    if settings.broker_url:
        from warta.bootstrap import bootstrap
        from warta.cli.celery import run_worker

        run_worker(settings, wanted, bootstrap)
        return
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
