"""Celery workers and the beat scheduler, when ``WARTA_BROKER_URL`` is set
(docs/scale-out.md): ``warta worker [--queues ...]`` and ``warta beat``."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import click

from warta.deps import Warta
from warta.settings import Settings

T = TypeVar("T")


def _new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # uvloop is optional: plain asyncio works, a little slower
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def parse_queues(option: str | None) -> list[str]:
    """``--queues a,b``: known queue names (short, without the namespace); none: all."""
    from warta.pipeline.celery_queue import QUEUES

    if not option:
        return list(QUEUES)
    wanted = [q.strip() for q in option.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in QUEUES]
    if unknown or not wanted:
        raise click.BadParameter(
            f"unknown {', '.join(unknown) or 'empty list'}; choose among {', '.join(QUEUES)}",
            param_hint="--queues",
        )
    return wanted


def run_worker(
    settings: Settings,
    queues: Sequence[str],
    build: Callable[[Settings], Coroutine[Any, Any, Warta]],
) -> None:
    """A Celery worker: pool threads run tasks on this process's one Warta (``build``:
    the composition root) and event loop (``pipeline/celery_tasks.py``). SIGTERM: warm
    shutdown, unsent work handed back."""
    from celery import signals

    from warta.pipeline import celery_tasks
    from warta.pipeline.celery_queue import make_celery, queue_name

    celery = make_celery(settings)
    celery_tasks.register(celery)
    loop = _new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="warta-loop", daemon=True)
    thread.start()

    def on_loop(work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, loop).result()

    name = settings.worker_name or socket.gethostname()
    runtime = celery_tasks.Runtime(on_loop(build(settings)), loop, name, celery)
    try:
        on_loop(runtime.start())
        celery_tasks.RUNTIME = runtime

        def shutting_down(**_: object) -> None:
            runtime.interrupt()

        signals.worker_shutting_down.connect(shutting_down, weak=False)
        worker = celery.Worker(
            queues=[queue_name(settings, q) for q in queues],
            pool_cls="threads",
            concurrency=settings.workers,
            hostname=f"{name}@{socket.gethostname()}",
            loglevel=settings.log_level,
            without_gossip=True,
            without_mingle=True,
            without_heartbeat=True,
        )
        worker.start()
    finally:
        on_loop(runtime.stop())
        on_loop(runtime.app.aclose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


@click.command()
def beat() -> None:
    """Schedule the periodic sweep for Celery workers (run exactly one per deployment).

    Needs WARTA_BROKER_URL. Every WARTA_SWEEP_INTERVAL seconds it queues one sweep, which
    a worker on the `periodic` queue runs: retries and scheduled sends that are due,
    rows a crashed worker held, and the pipeline's housekeeping.
    """
    from warta.logs import configure
    from warta.pipeline.celery_queue import make_celery

    settings = Settings()
    configure(settings.log_level, as_json=settings.log_json)
    if not settings.broker_url:
        raise click.UsageError("warta beat schedules Celery workers: set WARTA_BROKER_URL")
    folder = settings.var_dir / "run"
    folder.mkdir(parents=True, exist_ok=True)
    celery = make_celery(settings)
    celery.Beat(
        schedule=str(folder / f"beat-{settings.namespace}"), loglevel=settings.log_level
    ).run()
