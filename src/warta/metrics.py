"""Prometheus metrics: what Warta counts, and the text ``GET /metrics`` answers.

Every label is a route template, a status class, a channel, a provider's configured
name, a task name, a notification status, a bounce's kind or a broadcast id: never an agency, a
recipient, a key or anything a citizen wrote (a test scans the output).

Counted where it happens, in the process it happens in: requests (the API's middleware),
notifications accepted (``services.sending``, ``services.bulk``), sent and failed
(``pipeline.delivery``), task latency (the worker pool), SMS receipt lag
(``services.provider_events``), email bounces, complaints and reports that matched no
email (``services.email_feedback``). Read from the database at each scrape instead, so that
every process shows the same figure and none is counted twice: rows due by status and
channel, and the progress of each broadcast being fanned out (``queue_gauges``).

Several processes on one host (``warta serve --processes N``, Celery's prefork pool, a
``warta worker`` beside ``warta serve``) share one folder, ``WARTA_VAR_DIR/metrics``, with
prometheus_client's multiprocess mode: each process writes its own memory-mapped files
and a scrape of any of them adds them up. ``prepare`` switches a process to it; the
entry points call it before anything is counted (in each process they start).
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "GaugeMetricFamily"]

#: The classic text format, which every Prometheus reads (our names need no escaping).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: The metrics this process counts. Only labelled metrics: their values are made at the
#: first ``labels()``, after ``prepare`` chose where they live.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "warta_http_requests",
    "HTTP requests answered, by route template, method and status class (2xx, 4xx...).",
    ["route", "method", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "warta_http_request_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
    registry=REGISTRY,
)
ACCEPTED = Counter(
    "warta_notifications_accepted",
    "Notifications accepted from agencies (API and bulk sends), by channel.",
    ["channel"],
    registry=REGISTRY,
)
SENT = Counter(
    "warta_notifications_sent",
    "Send attempts a provider took, by channel and provider ('none': a channel with one "
    "unnamed provider).",
    ["channel", "provider"],
    registry=REGISTRY,
)
FAILED = Counter(
    "warta_notifications_failed",
    "Send attempts that failed, by channel, provider and whether it was the last try "
    "(final='no': a retry is due).",
    ["channel", "provider", "final"],
    registry=REGISTRY,
)
TASK_SECONDS = Histogram(
    "warta_task_seconds",
    "Time a worker task took for one batch of ids, by task.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=REGISTRY,
)
RECEIPT_LAG = Histogram(
    "warta_sms_receipt_lag_seconds",
    "Time from an SMS part's submit to its delivery receipt, by provider.",
    ["provider"],
    buckets=(1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0),
    registry=REGISTRY,
)

EMAIL_BOUNCES = Counter(
    "warta_email_bounces",
    "Email bounces read by the bounce listener that matched a notification, by kind "
    "(hard, soft); a report read twice counts once.",
    ["kind"],
    registry=REGISTRY,
)
#: Unlabelled counters, made at their first count (``_count``): a value made at import
#: would live in this process's memory, not in the folder ``prepare`` chose.
_PLAIN = {
    "warta_email_complaints": "Spam complaints (ARF reports) that matched a notification.",
    "warta_email_feedback_unmatched": "Bounces and complaints that matched no notification "
    "(counted and dropped).",
}
_plain: dict[str, Counter] = {}

_lock: int | None = None  # this process's share of the folder's lock, held until it ends


def prepare(folder: Path) -> None:
    """Count in ``folder``, shared with the host's other Warta processes (children
    inherit it). A process that finds no other one holding the folder empties it first:
    files of processes that are gone would otherwise be added up for ever. Counters of a
    process that ends while others run stay counted, so totals never go down."""
    global _lock
    if _lock is not None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    _lock = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # others are counting here: their files stay
    else:
        for stale in folder.glob("*.db"):
            stale.unlink()
    fcntl.flock(_lock, fcntl.LOCK_SH)
    os.environ[_ENV] = str(folder)
    # Files are named by process: host and pid, since containers sharing the folder
    # (docs/deploy.md) each number their processes from 1.
    host = socket.gethostname().replace("_", "-")
    values.ValueClass = values.MultiProcessValue(lambda: f"{host}-{os.getpid()}")


def request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, f"{status // 100}xx").inc()
    REQUEST_SECONDS.labels(route).observe(seconds)


def accepted(channel: str, n: int = 1) -> None:
    ACCEPTED.labels(channel).inc(n)


def sent(channel: str, provider: str | None) -> None:
    SENT.labels(channel, provider or "none").inc()


def failed(channel: str, provider: str | None, *, final: bool) -> None:
    FAILED.labels(channel, provider or "none", "yes" if final else "no").inc()


def task_took(task: str, seconds: float) -> None:
    TASK_SECONDS.labels(task).observe(seconds)


def receipt_lag(provider: str, seconds: float) -> None:
    RECEIPT_LAG.labels(provider).observe(seconds)


def email_bounce(kind: str) -> None:
    EMAIL_BOUNCES.labels(kind).inc()


def email_complaint() -> None:
    _count("warta_email_complaints")


def email_feedback_unmatched() -> None:
    _count("warta_email_feedback_unmatched")


def _count(name: str) -> None:
    counter = _plain.get(name)
    if counter is None:
        counter = _plain[name] = Counter(name, _PLAIN[name], registry=REGISTRY)
    counter.inc()


class _Gauges(Collector):
    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self.families


def queue_gauges(
    due: Mapping[tuple[str, str], int], fan_outs: Mapping[str, int]
) -> list[GaugeMetricFamily]:
    """What the database says at scrape time: rows due by (status, channel), and the rows
    written so far for each broadcast being fanned out."""
    queue = GaugeMetricFamily(
        "warta_queue_due",
        "Notifications a sweep would queue now (not yet queued, a retry due, a lease that "
        "ran out), by status and channel; what waits on the broker is not counted here.",
        labels=["status", "channel"],
    )
    for (status, channel), count in sorted(due.items()):
        queue.add_metric([status, channel], count)
    done = GaugeMetricFamily(
        "warta_broadcast_fanout_done",
        "Notification rows written so far for each broadcast being fanned out.",
        labels=["broadcast"],
    )
    for broadcast, written in sorted(fan_outs.items()):
        done.add_metric([broadcast], written)
    return [queue, done]


def exposition(gauges: Iterable[GaugeMetricFamily] = ()) -> bytes:
    """The Prometheus text: this host's processes' counts added up (or this process's,
    outside multiprocess mode), then ``gauges``."""
    folder = os.environ.get(_ENV)  # set by ``prepare``, in this process or its parent
    if folder:
        counted = CollectorRegistry()
        MultiProcessCollector(counted, path=folder)
    else:
        counted = REGISTRY
    read = CollectorRegistry()
    read.register(_Gauges(gauges))
    return generate_latest(counted) + generate_latest(read)
