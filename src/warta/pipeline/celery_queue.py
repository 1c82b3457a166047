"""The distributed engine's queue: ids published to RabbitMQ through Celery.

Used when ``WARTA_BROKER_URL`` is set (docs/scale-out.md). One queue per kind of work, so
each can have its own workers and none waits behind another: ``urgent`` (urgent messages
of every channel), ``deliver-email``, ``deliver-sms``, ``deliver-push``, ``deliver-chat``,
``deliver`` (a broadcast's batches, which mix channels), ``callbacks``, ``fan-out`` and
``periodic`` (the sweep Celery beat schedules). Names start with ``WARTA_NAMESPACE.``, so
several deployments or test runs can share a broker.

A message is a task name and a list of hex ids (JSON), never personal data. Publishing
is sync in kombu, so ``submit`` only notes the ids; one flusher publishes what piled up,
in a thread, a batch of ``WARTA_BATCH_SIZE`` ids per message. Ids noted and not yet
published when a process dies are not lost: their rows are leased for
``WARTA_STUCK_AFTER`` and the sweep queues them after that.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from celery import Celery
from kombu import Exchange, Queue

from warta.deps import Lane, TaskName
from warta.settings import Settings

log = logging.getLogger(__name__)

QUEUES = (
    "urgent",
    "deliver-email",
    "deliver-sms",
    "deliver-push",
    "deliver-chat",
    "deliver",
    "callbacks",
    "fan-out",
    "periodic",
)
#: The Celery task each pipeline task runs as (``celery_tasks.py``).
TASK_NAMES: dict[TaskName, str] = {
    "deliver": "warta.deliver",
    "callback": "warta.callback",
    "fan_out": "warta.fan_out",
}
SWEEP = "warta.sweep"
FAN_OUT_RANGE = "warta.fan_out_range"


def queue_for(task: TaskName, lane: Lane | None) -> str:
    """The queue (short name) a task's ids go to."""
    if task == "callback":
        return "callbacks"
    if task == "fan_out":
        return "fan-out"
    if lane == "urgent":
        return "urgent"
    return f"deliver-{lane}" if lane else "deliver"


def queue_name(settings: Settings, short: str) -> str:
    return f"{settings.namespace}.{short}"


def make_celery(settings: Settings) -> Celery:
    """The Celery app of one deployment: its queues, and the settings that make tasks
    safe to run twice and to lose a worker (late acknowledgement, one message prefetched
    per pool thread, no result backend)."""
    exchange = Exchange(settings.namespace, type="direct")
    queues = [
        Queue(queue_name(settings, q), exchange, routing_key=queue_name(settings, q))
        for q in QUEUES
    ]
    celery = Celery(settings.namespace, broker=settings.broker_url, set_as_current=False)
    celery.conf.update(
        task_queues=queues,
        task_default_queue=queue_name(settings, "periodic"),
        task_default_exchange=settings.namespace,
        task_default_routing_key=queue_name(settings, "periodic"),
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Acknowledged once done: a worker that dies mid-task leaves its messages to
        # RabbitMQ, which gives them to another worker (the claims make that safe).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        enable_utc=True,
        # No ETA or countdown anywhere: what waits (retries, scheduled sends) waits as a
        # row, and this sweep, one a WARTA_SWEEP_INTERVAL, queues what is due.
        beat_schedule={
            "sweep": {
                "task": SWEEP,
                "schedule": settings.sweep_interval,
                # A sweep not run in time is dropped: the next one finds the same rows.
                "options": {
                    "queue": queue_name(settings, "periodic"),
                    "expires": settings.sweep_interval,
                },
            }
        },
    )
    return celery


class CeleryQueue:
    """``WorkQueue`` over RabbitMQ (see the module docstring)."""

    owner: str | None = None
    remembers = False

    def __init__(self, celery: Celery, settings: Settings) -> None:
        self.celery = celery
        self._settings = settings
        self._pending: dict[tuple[TaskName, str], list[str]] = {}
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False
        self._declared = False

    async def submit(
        self, task: TaskName, ids: Sequence[uuid.UUID], *, lane: Lane | None = None
    ) -> None:
        if not ids:
            return
        key = (task, queue_for(task, lane))
        self._pending.setdefault(key, []).extend(i.hex for i in ids)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_forever(), name="celery-publish")
        self._wake.set()

    async def _flush_forever(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            await asyncio.to_thread(self._publish, pending)
        except Exception:  # the rows are leased: the sweep queues them again later
            count = sum(len(ids) for ids in pending.values())
            log.exception("publishing %d ids to the broker failed", count)

    def _publish(self, pending: dict[tuple[TaskName, str], list[str]]) -> None:
        batch = self._settings.batch_size
        with self.celery.producer_or_acquire() as producer:
            if not self._declared:  # a message to a queue not yet declared would vanish
                for queue in self.celery.amqp.queues.values():
                    queue.bind(producer.channel).declare()
                self._declared = True
            for (task, short), hexes in pending.items():
                for start in range(0, len(hexes), batch):
                    self.celery.send_task(
                        TASK_NAMES[task],
                        args=[hexes[start : start + batch]],
                        queue=queue_name(self._settings, short),
                        producer=producer,
                    )

    async def aclose(self) -> None:
        """Publish what is noted, then stop."""
        self._closing = True
        self._wake.set()
        if self._flusher is not None:
            await self._flusher
        await self._flush()
        await asyncio.to_thread(self.celery.close)
