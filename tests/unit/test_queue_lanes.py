"""Lanes: which queue a task's ids wait in, and urgent ids first in the embedded queue."""

from __future__ import annotations

import uuid

import pytest

from warta.deps import Lane, TaskName, lane_of
from warta.pipeline.celery_queue import QUEUES, queue_for
from warta.pipeline.queue import EmbeddedQueue


@pytest.mark.parametrize(
    ("channel", "priority", "lane"),
    [
        ("sms", "normal", "sms"),
        ("email", "low", "email"),
        ("push", "normal", "push"),
        ("chat", "normal", "chat"),
        ("sms", "urgent", "urgent"),
        ("email", "urgent", "urgent"),
        ("fax", "normal", None),
    ],
    ids=["sms", "email low", "push", "chat", "urgent sms", "urgent email", "unknown channel"],
)
def test_a_row_s_lane_is_its_channel_unless_urgent(
    channel: str, priority: str, lane: Lane | None
) -> None:
    assert lane_of(channel, priority) == lane


@pytest.mark.parametrize(
    ("task", "lane", "queue"),
    [
        ("deliver", "email", "deliver-email"),
        ("deliver", "sms", "deliver-sms"),
        ("deliver", "push", "deliver-push"),
        ("deliver", "chat", "deliver-chat"),
        ("deliver", "urgent", "urgent"),
        ("deliver", None, "deliver"),
        ("callback", None, "callbacks"),
        ("callback", "urgent", "callbacks"),
        ("fan_out", None, "fan-out"),
        ("fan_out", "urgent", "fan-out"),
    ],
    ids=lambda v: str(v),
)
def test_each_task_and_lane_has_its_queue(task: TaskName, lane: Lane | None, queue: str) -> None:
    assert queue_for(task, lane) == queue
    assert queue in QUEUES


async def test_urgent_ids_are_taken_before_a_backlog() -> None:
    queue = EmbeddedQueue()
    backlog = [uuid.uuid4() for _ in range(1000)]
    urgent = [uuid.uuid4(), uuid.uuid4()]
    await queue.submit("deliver", backlog)
    await queue.submit("deliver", urgent, lane="urgent")
    first = await queue.take("deliver", 100)
    assert first[:2] == urgent
    assert first[2:] == backlog[:98]
    assert await queue.take("deliver", 1000) == backlog[98:]


async def test_an_id_waiting_is_not_queued_twice_and_drain_empties_both_lanes() -> None:
    queue = EmbeddedQueue()
    one, two = uuid.uuid4(), uuid.uuid4()
    await queue.submit("deliver", [one, one])
    await queue.submit("deliver", [one, two], lane="urgent")
    assert sorted(queue.drain("deliver")) == sorted([one, two])
    assert queue.drain("deliver") == []
