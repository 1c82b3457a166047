"""Email throughput: Warta's accept and delivery rates, against a raw-SMTP ceiling and Apprise.

    .venv/bin/python bench/email_throughput.py [--n 1000] [--connections 4] [--repeat 3]

Every contender sends the same N emails (one recipient each, multipart/alternative with
the same plain-text and HTML parts, about 3.5 KB on the wire) over loopback to a fresh SMTP sink
(``bench/smtp_sink.py``, aiosmtpd) running in its own process, so the sink's CPU is never
charged to a contender and the sink is identical for all. The sink stamps each arrival
with the monotonic clock (shared by every process on Linux) and says when the N-th message
arrived; it also counts distinct ids, so lost and duplicated mail shows.

Rounds are interleaved (ceiling, warta, apprise, ceiling, ...), ``--repeat`` of them, so a
noisy moment on the machine hurts every contender; medians are reported, with min-max.
Five figures come out, each "N / seconds" over the window named:

ceiling
    The transport alone: raw aiosmtplib in this process, ``--connections`` persistent
    connections (the same number as Warta's pool, connected inside the timed window as
    Warta's lazily filled pool is), each message built per send with Warta's own
    ``warta.channels.email_smtp.build_email`` from Warta's own rendering of the same
    template, so the bytes on the wire match (the sink reports the average size per
    contender). On uvloop when installed, as Warta's processes are. Window: before the
    first connect -> the sink has all N. This is the fastest Warta could deliver with
    that pool while building messages the way its channel does.

warta accept (API only)
    Phase A of one run: ``warta serve --no-workers`` (fresh temp ``WARTA_VAR_DIR``,
    SQLite, ``WARTA_SMTP_POOL_SIZE`` = ``--connections``; the agency and the email
    template are created beforehand with the real CLI, under the same environment), then
    N ``POST /v2/notifications/email`` through the public API (``wrk``, ``--concurrency``
    connections, Notify JWTs signed ahead, a new one every 20 s).
    Window: first POST sent -> last 201 answered. That is authenticating, validating,
    rendering, encrypting and storing; every POST must get 201. With no workers, rows are
    stored already due and nothing is sent: the sink must still hold 0 messages when
    phase A ends (checked just before phase B starts).

warta deliver (accepted->delivered)
    Phase B of the same run, on the same database: ``warta worker`` as a separate process
    with the same environment plus ``WARTA_SWEEP_INTERVAL=0.05`` and
    ``WARTA_LOG_LEVEL=INFO``. Its stderr is piped to this script, and the window starts
    when the line "workers started" appears (logged once bootstrap is done, just before
    the first sweep), so Python start-up, imports and migrations are not timed, as the
    ceiling's are not. Window: worker ready -> the sink has all N. That is finding the
    accepted rows (sweeper), claiming them (UPDATE ... RETURNING), unsealing and
    decrypting, building, sending over the SMTP pool and recording the outcomes. This is
    the issue's "accepted-to-delivered" throughput and the figure held against the
    ceiling: target >= 80%. The sink must get exactly N, no duplicates. (If that line
    cannot be read, the window starts at the sink's first arrival instead, which leaves
    out the first sweep and claim; the table then says so.) The idle ``warta serve``
    keeps running beside the worker, as it would in production.

warta e2e (API+delivery in one process)
    A separate run of the old end-to-end shape: ``warta serve`` with its embedded workers
    in one process, the same N POSTs. Window: first POST sent -> the sink has all N, with
    the HTTP load (``wrk``, in C: microseconds of CPU per request, where the Python client
    it replaced spent 2.5-3.5 ms) on the same cores. Its API accept rate while delivering
    is reported beside it.

apprise
    What a developer would otherwise write: ``apprise.Apprise()`` built fresh per message
    (a reused instance would sleep ``request_rate_per_sec`` between sends), a ``mailto://``
    URL pointing at the sink (``mailto://`` is Apprise's plain SMTP: no STARTTLS, no AUTH
    without a password), body = the same HTML document, ``body_format=html`` (Apprise
    derives the text part). Apprise is synchronous and opens one SMTP connection per
    message, so it runs in a thread pool of ``--connections`` threads: the same number of
    simultaneous SMTP connections as the others. (Apprise 2.x also hands each notify() to
    its own shared worker pool and builds an SSL context per connection even for plain
    SMTP; that is its real cost, so it is left in.) Window: first send -> sink has all N.

Why deliver vs ceiling is the fair comparison: both start timing with the process already
running and no SMTP connection open, both end at the same sink's N-th arrival, both use
``--connections`` connections and send byte-identical messages built by the same
function, and in neither window does anything else load the machine (no HTTP clients:
phase A is over, the API is idle). The gap between them is exactly what Warta adds to
SMTP for a message it has already accepted: queueing through the database, claims,
decryption and outcome bookkeeping. The accept figure is Warta's API cost alone (it has
no raw counterpart: Apprise and the ceiling accept nothing), and the e2e figure shows what
one process doing both, with the load generator beside it, manages. Apprise is compared
with deliver and with e2e, since it has no accept step. Nothing leaves 127.0.0.1.

Beside the times, the CPU seconds (from /proc) each process used in its timed window are
reported per message: the contender's own ("cpu ms/msg": this process for the ceiling and
Apprise, ``warta serve`` for accept and e2e, ``warta worker`` for deliver), the sink's (to
show it was never the bottleneck) and the HTTP load's (``wrk``). On a small machine the
contenders are CPU-bound, so CPU per message says where a gap comes from more steadily
than msgs/s. ``--profile OUT`` runs the first round's ``warta worker`` (phase B) under
py-spy (all threads, 250 Hz, non-blocking) and writes OUT when it stops; the profile
covers the worker's whole life, start-up included (look below ``run_workers`` for the
delivery work), and that round's figures carry py-spy's CPU on the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import aiosmtplib

from _common import Channel, CpuMeter, Resources, Run, SinkProcess, finish
from _sink import run_loop
from _throughput import Runner, Throughput
from warta.channels.email_smtp import build_email as warta_build_email
from warta.domain.channels import OutboundMessage
from warta.domain.email import render_email
from warta.domain.templates import render

BENCH = Path(__file__).resolve().parent
SINK = BENCH / "smtp_sink.py"
KEY_HEADER = "X-Warta-Notification-Id"  # SmtpChannel stamps every message with it

SENDER = "dinas@bench.go.id"
SUBJECT = "Dokumen ((jenis)) siap diambil"
BODY = """\
# Dokumen Anda siap

Halo ((nama)),

Dokumen ((jenis)) Anda sudah selesai dan dapat diambil di kantor kami.

## Yang perlu dibawa

* KTP asli
* Bukti pendaftaran nomor ((nomor))
* Pas foto 3x4

^ Pengambilan hanya pada hari kerja, pukul 08.00 sampai 15.00 WIB.

Cek status permohonan di https://layanan.contoh.go.id/status

Terima kasih,
Dinas Kependudukan dan Pencatatan Sipil
"""
PERSONALISATION = {"nama": "Budi Santoso", "jenis": "KTP elektronik", "nomor": "A-1234"}


def recipient(i: int) -> str:
    return f"warga{i}@example.com"


# --------------------------------------------------------------------------- results


@dataclass
class EmailRun(Run):
    ITEM: ClassVar[str] = "mail"
    UNIT: ClassVar[str] = ""

    missing_key: int = 0  # messages without the id header the sink counts by

    def read(self, stats: dict[str, Any]) -> None:
        self.received, self.unique = stats["count"], stats["unique"]
        self.missing_key, self.bytes = stats["missing_key"], stats["bytes"]
        if self.received > self.n:
            self.errors.append(f"sink received {self.received} messages for {self.n} sends")
        if self.missing_key:
            self.errors.append(f"{self.missing_key} message(s) without the id header")
        if self.unique != self.received - self.missing_key:
            duplicates = self.received - self.missing_key - self.unique
            self.errors.append(f"{duplicates} duplicate message(s)")


class Sink(SinkProcess):
    """A running ``smtp_sink.py`` and a blocking client for its control port."""

    @classmethod
    def start(cls, res: Resources, key_header: str) -> Sink:
        command = [sys.executable, str(SINK), "--key-header", key_header]
        return cls.launch(res, command, "SMTP sink")


# --------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str


def warta_content() -> Content:
    """The subject, text and HTML Warta renders for the benchmark template."""
    subject = render(SUBJECT, PERSONALISATION, channel="sms")
    rendered = render_email(subject, render(BODY, PERSONALISATION, channel="email"))
    return Content(rendered.subject, rendered.text, rendered.html)


def build_email(content: Content, to: str) -> bytes:
    """Byte for byte what ``SmtpChannel`` sends: the ceiling uses Warta's own builder, so
    the two differ only in what happens around the SMTP conversation."""
    message = OutboundMessage(
        notification_id=str(uuid.uuid4()),
        attempt=1,
        channel="email",
        to=to,
        sender=SENDER,
        body=content.text,
        subject=content.subject,
        html=content.html,
    )
    return warta_build_email(message)[0]


# --------------------------------------------------------------------------- benchmark


class EmailThroughput(Throughput[EmailRun]):
    RUN = EmailRun
    DESCRIPTION = "Warta email throughput vs a raw aiosmtplib ceiling and Apprise."
    NOUN = "Emails"
    POOL = (
        "connections",
        4,
        "SMTP connections: WARTA_SMTP_POOL_SIZE, ceiling connections, Apprise threads.",
    )
    CONTENDERS = ("ceiling", "warta", "apprise")
    CHANNEL = Channel(
        kind="email",
        sender=("--email-from", SENDER),
        body=BODY,
        body_file="body.md",
        address="email_address",
        recipient=recipient,
        personalisation=PERSONALISATION,
        template=("--subject", SUBJECT),
    )
    LABELS: ClassVar[dict[str, str]] = {
        "ceiling": "ceiling (raw aiosmtplib)",
        "warta_accept": "warta accept (API only)",
        "warta_deliver": "warta deliver (accepted->delivered)",
        "warta_e2e": "warta e2e (API+delivery in one process)",
        "apprise": "apprise",
    }
    NOTES: ClassVar[dict[str, str]] = {
        "ceiling": "{connections} persistent connections, Warta's build_email; "
        "connect -> N-th at sink",
        "warta_accept": "serve --no-workers; first POST -> last 201; {http_concurrency} "
        "requests in flight; sink got 0",
        "warta_deliver": "separate warta worker, pool {connections}; {windows}; first mail "
        "{first} after ready",
        "warta_e2e": "serve with workers; first POST -> N-th at sink; API accept {accept} "
        "meanwhile",
        "apprise": "Apprise() per message, {connections} threads, 1 connection per message",
    }
    RATIOS = (
        ("warta_deliver", "ceiling"),
        ("warta_e2e", "ceiling"),
        ("warta_deliver", "apprise"),
        ("warta_e2e", "apprise"),
    )
    TARGET = 0.80
    MISS = "MISS"
    HEADING = (
        "Email throughput, median of {repeat} (N={n}, {connections} SMTP connections, "
        "{cpus} CPUs, sink in its own process)"
    )
    LEGEND = (
        "\ncpu ms/msg: the contender's own process in its window (this script for ceiling "
        "and apprise,\n  warta serve for accept and e2e, warta worker for deliver)"
    )

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.content = warta_content()

    def runners(self) -> dict[str, list[tuple[tuple[str, ...], Runner]]]:
        return super().runners() | {"apprise": [(("apprise",), self.run_apprise)]}

    # -- warta -------------------------------------------------------------------------

    def start_sink(self, res: Resources) -> SinkProcess:
        return Sink.start(res, KEY_HEADER)

    def channel_env(self, sink: SinkProcess) -> dict[str, str]:
        return {
            "WARTA_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
            "WARTA_SMTP_POOL_SIZE": str(self.args.connections),
        }

    def check_nothing_sent(self, run: EmailRun, sink: SinkProcess) -> None:
        early = sink.ask("STATS")
        run.received, run.unique, run.bytes = early["count"], early["unique"], 0
        if early["count"]:
            run.errors.append(
                f"the sink got {early['count']} message(s) from warta serve --no-workers"
            )

    # -- ceiling -----------------------------------------------------------------------

    def run_ceiling(self, run: EmailRun) -> None:
        args, content = self.args, self.content
        with Resources() as res:
            sink = Sink.start(res, "Message-ID")
            jobs = iter(range(args.n))

            async def sender() -> None:
                # The same connection settings SmtpChannel.from_url("smtp://host:port") uses.
                smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port, timeout=30.0)
                await smtp.connect()
                try:
                    for i in jobs:  # shared by all senders: each takes the next message
                        to = recipient(i)
                        email = build_email(content, to)
                        await smtp.sendmail(SENDER, [to], email)
                except BaseException:  # cancelled mid-message: QUIT would wait for nothing
                    smtp.close()
                    raise
                await smtp.quit()

            async def main() -> float:
                t0 = time.monotonic()
                await asyncio.gather(*(sender() for _ in range(args.connections)))
                return t0

            cpu = CpuMeter({"sink": sink.proc.pid})
            t0 = run_loop(main())
            finish(run, sink, t0, args.timeout, cpu)

    # -- apprise -----------------------------------------------------------------------

    def run_apprise(self, run: EmailRun) -> None:
        import apprise

        args, content = self.args, self.content
        with Resources() as res:
            sink = Sink.start(res, "Message-ID")
            local_part, _, domain = SENDER.partition("@")

            def url(to: str) -> str:
                # mailto:// is plain SMTP (mode=insecure); the URL's host only names the From
                # domain, smtp= is the server; no password, so no AUTH.
                return f"mailto://{local_part}@{domain}:{sink.port}?smtp=127.0.0.1&to={to}"

            def send(i: int) -> bool:
                notifier = apprise.Apprise()
                notifier.add(url(recipient(i)))
                return bool(
                    notifier.notify(
                        body=content.html,
                        title=content.subject,
                        body_format=apprise.NotifyFormat.HTML,
                    )
                )

            apprise.Apprise().add(url(recipient(0)))  # load the plugins outside the timed window
            pool = ThreadPoolExecutor(max_workers=args.connections, thread_name_prefix="apprise")
            try:
                cpu = CpuMeter({"sink": sink.proc.pid})
                t0 = time.monotonic()
                results = list(pool.map(send, range(args.n)))
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
            failed = results.count(False)
            if failed:
                run.errors.append(f"Apprise reported {failed} failed notifications")
            finish(run, sink, t0, args.timeout, cpu)


if __name__ == "__main__":
    sys.exit(EmailThroughput.main())
