"""SMS throughput: Warta's accept and delivery rates, against a raw-SMPP ceiling.

    .venv/bin/python bench/sms_throughput.py [--n 1000] [--window 10] [--binds 1] [--repeat 3]

Every contender sends the same N SMS (one recipient each, one GSM-7 part of 155
characters: the benchmark template rendered by Warta's own code) over loopback to a fresh
SMSC sink (``bench/smsc_sink.py``, smpp34's server) running in its own process, so the
sink's CPU is never charged to a contender and the sink is identical for all. The sink
accepts every ``submit_sm``, stamps its arrival with the monotonic clock (shared by every
process on Linux), says when the N-th part arrived, counts distinct parts (destination +
short message), so lost and duplicated SMS show, and sends a delivery receipt (DELIVRD,
receipt text) for every part back on the session that submitted it: Warta counts an SMS
delivered only on its receipt.

Rounds are interleaved (ceiling, warta, ceiling, ...), ``--repeat`` of them, so a noisy
moment on the machine hurts every contender; medians are reported, with min-max. Four
figures come out, each "N / seconds" over the window named; each round also runs the
ceiling and warta's deliver phase at window 64 (``WIDE_WINDOW``; the accept phase of that
run counts as one more accept run), and the table holds them side by side:

ceiling
    The transport alone: a raw smpp34 client in this process (the library SmppChannel
    uses), ``--binds`` binds as a transceiver with the same settings SmppChannel binds
    with (``window_size`` = ``--window``, system_id/password ``warta``), ``--window``
    coroutines a bind so at most that many ``submit_sm`` are in flight on each, each
    message encoded per send with Warta's own ``warta.domain.sms.encode_parts`` and
    submitted with the fields SmppChannel uses (source address from
    ``source_address``, TON/NPI, esm_class, data_coding, ``registered_delivery=1``), so
    the PDUs match byte for byte (the sink reports the average short-message size per
    contender). A reader task drains the
    receipts (smpp34 acknowledges them; the ceiling counts them and reads nothing), so the
    client never pushes back on the SMSC. On uvloop, as Warta's processes are. Window:
    before the bind -> the sink has all N parts. This is the fastest Warta could submit
    with that window.

warta accept (API only)
    Phase A of one run: ``warta serve --no-workers`` (fresh temp ``WARTA_VAR_DIR``,
    SQLite, ``WARTA_SMPP_URL=smpp://warta:warta@127.0.0.1:PORT?name=bench&window=W``; the
    agency, with SMS sender id ``DUKCAPIL``, and the SMS template are created beforehand
    with the real CLI, under the same environment), then N
    ``POST /v2/notifications/sms`` through the public API (``wrk``, ``--concurrency``
    connections, Notify JWTs signed ahead, a new one every 20 s).
    Window: first POST sent -> last 201 answered. That is authenticating, validating the
    number, rendering, encrypting and storing; every POST must get 201. With no workers
    nothing is sent (the server binds to the SMSC all the same): the sink must still hold
    0 parts when phase A ends (checked just before phase B starts).

warta deliver (accepted->sent)
    Phase B of the same run, on the same database: ``warta worker`` as a separate process
    with the same environment plus ``WARTA_SWEEP_INTERVAL=0.05`` and
    ``WARTA_LOG_LEVEL=INFO``. The window starts when its stderr says "workers started"
    (logged once bootstrap is done, the SMPP bind included, just before the first sweep),
    so Python start-up, imports and migrations are not timed, as the ceiling's are not.
    Window: worker ready -> the sink has all N parts. That is finding the accepted rows
    (sweeper), claiming them, unsealing and decrypting, encoding, submitting within the
    window, recording the outcomes (``sending`` plus one ``sms_parts`` row per part) and,
    meanwhile, taking the receipts that come back on the same bind (one transaction
    each). This is the figure held against the ceiling: target >= 80%. The sink must get
    exactly N distinct parts, no duplicates. (If the ready line cannot be read, the window
    starts at the sink's first arrival instead; the table then says so.) The idle
    ``warta serve`` keeps running (and bound) beside the worker, as it would in production.

    Beside it, "all delivered": from the same start until the last of the N notifications
    is ``delivered`` in the database, i.e. every receipt processed. The bench polls the
    SQLite file read-only (every 20 ms, only once the sink has all N, so never inside the
    headline window) until N rows are ``delivered``, then takes the latest
    ``completed_at`` (written by Warta as it settles each receipt) as the end. For the
    ceiling the same column is the moment its client acknowledged the N-th receipt (as
    the sink saw it): the ceiling stores nothing, so it is only the transport's floor.

warta e2e (API+delivery in one process)
    A separate run: ``warta serve`` with its embedded workers in one process, the same N
    POSTs. Window: first POST sent -> the sink has all N, with the HTTP load (``wrk``, in
    C) on the same cores; "all delivered" as above. Its API
    accept rate while delivering is reported beside it.

Why deliver vs ceiling is the fair comparison: both start timing with the process already
running (the ceiling's window even includes its bind, the worker's does not), both end at
the same sink's N-th arrival, both have at most ``--window`` submit_sm in flight on each
of ``--binds`` binds of the same library, both send identical PDUs encoded by the same
function and get the same receipts back, and in neither window does anything else load
the machine (phase A is over, the API is idle). The gap is what Warta adds to SMPP for a
message it has already accepted: queueing through the database, claims, decryption,
bookkeeping and receipt processing. Nothing leaves 127.0.0.1.

Beside the times, the CPU seconds (from /proc) each process used in its window are
reported per message: the contender's own ("cpu ms/msg": this process for the ceiling,
``warta serve`` for accept and e2e, ``warta worker`` for deliver), the sink's and the HTTP
load's (``wrk``). smpp34 does its I/O on tokio threads inside the contender's process, so
that is counted too. ``--profile OUT`` runs the first round's ``warta worker`` under
py-spy (if installed), as in ``email_throughput.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import smpp34

from _common import Channel, CpuMeter, Resources, Run, SinkProcess, WartaApi, finish
from _sink import run_loop
from _throughput import Runner, Throughput, median
from warta.channels.sms_smpp_config import SmppConfig, source_address
from warta.domain import sms
from warta.domain.templates import render

BENCH = Path(__file__).resolve().parent
SINK = BENCH / "smsc_sink.py"
#: SmppChannel's own default window (``SmppConfig.window``), the benchmark's default.
DEFAULT_WINDOW: int = SmppConfig(provider="default", host="x", system_id="x").window
#: The other window every round measures (issue 18 asks for both).
WIDE_WINDOW = 64
PROVIDER = "bench"

SENDER = "DUKCAPIL"  # the agency's SMS sender id: alphanumeric, TON 5
BODY = (
    "Halo ((nama)), dokumen ((jenis)) Anda nomor ((nomor)) sudah selesai dan dapat diambil "
    "di kantor Dinas Dukcapil pada hari kerja pukul 08.00-15.00 WIB."
)
PERSONALISATION = {"nama": "Budi Santoso", "jenis": "KTP elektronik", "nomor": "A-1234"}


def recipient(i: int) -> str:
    """A distinct, valid Indonesian mobile number per message (+62 812 1000 0000 on)."""
    return f"+62812{10_000_000 + i}"


# --------------------------------------------------------------------------- results


@dataclass
class SmsRun(Run):
    """Beside the base counts (received: parts at the sink; unique: distinct destination
    and short message; bytes: short-message bytes), what the SMSC sink and the database
    say."""

    ITEM: ClassVar[str] = "part"
    UNIT: ClassVar[str] = " parts"

    multipart: int = 0  # parts with a UDH (there should be none: one part per SMS)
    receipts: int = 0  # receipts the sink sent and the ESME acknowledged
    receipts_lost: int = 0  # receipts the sink gave up on
    delivered: int | None = None  # rows `delivered` in the database (warta)
    delivered_seconds: float | None = None  # window start -> all N delivered (see docs)

    @property
    def delivered_rate(self) -> float | None:
        return self.n / self.delivered_seconds if self.delivered_seconds else None

    @property
    def ok(self) -> bool:
        return super().ok and self.unique == self.expected

    def read(self, stats: dict[str, Any]) -> None:
        """Counts from the sink, and the errors they show (loss, duplicates, stray parts)."""
        self.received, self.unique, self.multipart = (
            stats["count"],
            stats["unique"],
            stats["multipart"],
        )
        self.bytes, self.receipts = stats["bytes"], stats["receipts"]
        self.receipts_lost = stats["receipts_lost"]
        if self.received > self.expected:
            self.errors.append(f"sink received {self.received} parts for {self.expected} SMS")
        if self.unique != self.received:
            self.errors.append(f"{self.received - self.unique} duplicate part(s) at the sink")
        if self.multipart:
            self.errors.append(
                f"{self.multipart} part(s) with a UDH: the text was meant to fit one"
            )
        if self.receipts_lost:
            self.errors.append(f"the sink could not deliver {self.receipts_lost} receipt(s)")

    def rate_note(self) -> str:
        note = super().rate_note()
        if self.delivered_rate:
            note += f", all delivered {self.delivered_rate:.1f}/s"
        return note

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "msgs_per_s": self.rate,
            "delivered_per_s": self.delivered_rate,
            "ok": self.ok,
        }


class Sink(SinkProcess):
    """A running ``smsc_sink.py`` and a blocking client for its control port."""

    @classmethod
    def start(cls, res: Resources, args: argparse.Namespace) -> Sink:
        command = [sys.executable, str(SINK), "--receipt-delay", str(args.receipt_delay)]
        return cls.launch(res, command, "SMSC sink")

    def receipts(self, n: int, timeout: float) -> dict[str, Any]:
        return self.ask(f"RECEIPTS {n} {timeout}", timeout=timeout + 10.0)


# --------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Content:
    text: str  # what Warta renders and stores for the template
    config: SmppConfig  # SmppChannel's settings for the sink (sender address, TON/NPI)


def warta_content(args: argparse.Namespace, port: int = 2775, window: int = 0) -> Content:
    """The text Warta renders for the benchmark template (as ``services.sending`` does:
    render, sanitise, check the length) and the SmppConfig SmppChannel would use (with
    ``window``, default ``--window``)."""
    text = sms.sanitise(render(BODY, PERSONALISATION, channel="sms"))
    sms.check_length(text)
    config = SmppConfig(
        provider=PROVIDER,
        host="127.0.0.1",
        port=port,
        system_id="warta",
        password="warta",
        binds=args.binds,
        window=window or args.window,
    )
    return Content(text, config)


def wait_delivered(run: SmsRun, database: Path, t0: float, timeout: float) -> None:
    """Poll the SQLite file (read-only) until N notifications are ``delivered``; the time
    from ``t0`` to the latest ``completed_at`` among them (Warta's own clock, UTC, mapped
    to the monotonic clock here)."""
    offset = time.time() - time.monotonic()  # wall clock = monotonic + offset
    deadline = time.monotonic() + timeout
    uri = f"file:{database}?mode=ro"
    count, last = 0, None
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
        while True:
            count, last = db.execute(
                "SELECT count(*), max(completed_at) FROM notifications WHERE status = 'delivered'"
            ).fetchone()
            if count >= run.n or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        seen = time.monotonic()
        statuses = dict(db.execute("SELECT status, count(*) FROM notifications GROUP BY status"))
    run.delivered = count
    if count < run.n:
        run.errors.append(
            f"only {count} of {run.n} delivered in the database within {timeout:.0f} s "
            f"(statuses: {statuses})"
        )
        return
    if last is None:
        return
    done = datetime.fromisoformat(last).replace(tzinfo=UTC).timestamp() - offset
    # Warta's clock is this machine's wall clock; if the mapping is off, use when we saw it.
    run.delivered_seconds = (done if t0 <= done <= seen else seen) - t0


# --------------------------------------------------------------------------- benchmark


class SmsThroughput(Throughput[SmsRun]):
    RUN = SmsRun
    DESCRIPTION = "Warta SMS throughput vs a raw smpp34 ceiling."
    NOUN = "SMS"
    POOL = (
        "window",
        DEFAULT_WINDOW,
        f"submit_sm in flight, for Warta (window= in the URL) and the ceiling "
        f"(default {DEFAULT_WINDOW}, SmppChannel's default).",
    )
    CONTENDERS = ("ceiling", "warta")
    # The ceiling is smpp34 in this process: its errors end that window like the others.
    FAILURES = (*Throughput.FAILURES, smpp34.SmppError)
    CHANNEL = Channel(
        kind="sms",
        sender=("--sms-sender", SENDER),
        body=BODY,
        body_file="body.txt",
        address="phone_number",
        recipient=recipient,
        personalisation=PERSONALISATION,
    )
    LABELS: ClassVar[dict[str, str]] = {
        "ceiling": "ceiling (raw smpp34)",
        "ceiling_w64": f"ceiling, window {WIDE_WINDOW}",
        "warta_accept": "warta accept (API only)",
        "warta_deliver": "warta deliver (accepted->sent)",
        "warta_deliver_w64": f"warta deliver, window {WIDE_WINDOW}",
        "warta_e2e": "warta e2e (API+delivery in one process)",
    }
    NOTES: ClassVar[dict[str, str]] = {
        "ceiling": "{binds} bind(s), window {window} each, Warta's encode_parts and submit "
        "fields; bind -> N-th at sink; all delivered = N-th receipt acked",
        "ceiling_w64": f"the same, window {WIDE_WINDOW}",
        "warta_accept": "serve --no-workers; first POST -> last 201; {http_concurrency} "
        "requests in flight; sink got 0",
        "warta_deliver": "separate warta worker, {binds} bind(s), window {window} each; "
        "{windows}; first part {first} after ready; all delivered = N `delivered` in the DB",
        "warta_deliver_w64": f"the same, window {WIDE_WINDOW}",
        "warta_e2e": "serve with workers; first POST -> N-th at sink; API accept {accept} "
        "meanwhile; all delivered = N `delivered` in the DB",
    }
    RATIOS = (
        ("warta_deliver", "ceiling"),
        ("warta_deliver_w64", "ceiling_w64"),
        ("warta_e2e", "ceiling"),
    )
    TARGET = 0.80
    MISS = "FAIL"
    HEADING = (
        "SMS throughput, median of {repeat} (N={n}, SMPP binds {binds}, window {window}, "
        "{cpus} CPUs, SMSC sink in its own process)"
    )
    LEGEND = (
        "\nmsgs/s: N / (window start -> the sink has all N parts). all delivered/s: N / "
        "(same start ->\n  all N receipts processed: `delivered` in Warta's database; "
        "the ceiling's client only acks them).\n"
        "cpu ms/msg: the contender's own process in its window (this script for the "
        "ceiling,\n  warta serve for accept and e2e, warta worker for deliver)"
    )
    COLUMNS = (("all delivered/s", "delivered_per_s"),)
    SIZES = "short message bytes per part at the sink"

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.content = warta_content(args)
        self.window = args.window  # of the run going on: --window, or WIDE_WINDOW

    def runners(self) -> dict[str, list[tuple[tuple[str, ...], Runner]]]:
        """Each round also runs the ceiling and Warta's deliver phase at WIDE_WINDOW (its
        accept phase counts as one more accept run)."""
        runners = super().runners()
        if self.args.window != WIDE_WINDOW:
            runners["ceiling"].append((("ceiling_w64",), self.at_wide(self.run_ceiling)))
            wide = self.at_wide(self.run_warta_split)
            runners["warta"].insert(1, (("warta_accept", "warta_deliver_w64"), wide))
        return runners

    def at_wide(self, runner: Runner) -> Runner:
        def run(*runs: SmsRun) -> None:
            self.window = WIDE_WINDOW
            try:
                runner(*runs)
            finally:
                self.window = self.args.window

        return run

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--receipt-delay",
            type=float,
            default=0.0,
            help="Seconds the sink waits before each receipt (default 0).",
        )
        parser.add_argument(
            "--binds",
            type=int,
            default=1,
            help="SMPP binds, for Warta (binds= in the URL) and the ceiling, each with its "
            "own window (default 1).",
        )

    def settings(self) -> dict[str, Any]:
        return super().settings() | {
            "receipt_delay": self.args.receipt_delay,
            "binds": self.args.binds,
        }

    def more_figures(self, good: list[SmsRun]) -> dict[str, Any]:
        seconds = [r.delivered_seconds for r in good if r.delivered_seconds]
        return {
            "delivered_seconds": median(seconds),
            "delivered_per_s": median([self.args.n / s for s in seconds]),
        }

    # -- warta -------------------------------------------------------------------------

    def start_sink(self, res: Resources) -> SinkProcess:
        return Sink.start(res, self.args)

    def channel_env(self, sink: SinkProcess) -> dict[str, str]:
        query = f"name={PROVIDER}&window={self.window}"
        if self.args.binds != 1:
            query += f"&binds={self.args.binds}"
        return {"WARTA_SMPP_URL": f"smpp://warta:warta@127.0.0.1:{sink.port}?{query}"}

    def check_nothing_sent(self, run: SmsRun, sink: SinkProcess) -> None:
        run.read(sink.ask("STATS"))
        if run.received:
            run.errors.append(f"the sink got {run.received} part(s) from serve --no-workers")

    def wait_delivered(self, run: SmsRun, api: WartaApi, t0: float) -> None:
        wait_delivered(run, api.database, t0, self.args.timeout)

    # -- ceiling -----------------------------------------------------------------------

    def run_ceiling(self, run: SmsRun) -> None:
        args, content = self.args, self.content
        with Resources() as res:
            sink = Sink.start(res, args)
            config = warta_content(args, sink.port, self.window).config
            source, ton, npi = source_address(SENDER, config)
            fields: dict[str, Any] = {
                "source_addr": source,
                "source_addr_ton": ton,
                "source_addr_npi": npi,
                "dest_addr_ton": config.dest_ton,
                "dest_addr_npi": config.dest_npi,
                "registered_delivery": 1,
            }
            jobs = iter(range(args.n))
            receipts = 0
            failures: list[str] = []
            reference = 0

            async def reader(smsc: smpp34.Smsc) -> None:
                nonlocal receipts
                while not isinstance(await smsc.next(), smpp34.Disconnected):
                    receipts += 1

            async def sender(smsc: smpp34.Smsc) -> None:
                nonlocal reference
                for i in jobs:  # shared by all senders: each takes the next message
                    reference = (reference + 1) % 256
                    encoded = sms.encode_parts(content.text, reference)
                    to = recipient(i).removeprefix("+")
                    for part in encoded.parts:
                        response = await smsc.submit_sm(
                            to,
                            part,
                            esm_class=encoded.esm_class,
                            data_coding=encoded.data_coding,
                            **fields,
                        )
                        if response.command_status != 0 or not response.message_id:
                            failures.append(f"submit_sm answered 0x{response.command_status:08X}")

            async def main() -> tuple[float, dict[str, Any]]:
                cpu = CpuMeter({"sink": sink.proc.pid})
                t0 = time.monotonic()
                # The same binds SmppChannel._bind makes, all at once as SmppChannel does.
                clients = [
                    smpp34.Client(
                        config.host,
                        config.port,
                        config.system_id,
                        config.password,
                        bind_type="TRX",
                        system_type=config.system_type,
                        tls=config.tls,
                        window_size=config.window,
                        connect_timeout_ms=int(config.connect_timeout * 1000),
                    )
                    for _ in range(config.binds)
                ]
                drains: list[asyncio.Future[None]] = []
                try:
                    binds = await asyncio.gather(*(client.connect() for client in clients))
                    drains = [asyncio.ensure_future(reader(smsc)) for smsc in binds]
                    await asyncio.gather(
                        *(sender(smsc) for smsc in binds for _ in range(config.window))
                    )
                    got = await asyncio.to_thread(sink.wait, args.n, args.timeout)
                    run.cpu_seconds = cpu.stop()
                    # Not timed: let every receipt come back before unbinding.
                    acked = await asyncio.to_thread(sink.receipts, args.n, args.timeout)
                    if acked.get("nth_receipt") is not None:
                        run.delivered_seconds = acked["nth_receipt"] - t0
                    with contextlib.suppress(smpp34.SmppError, TimeoutError):
                        async with asyncio.timeout(2.0):
                            await asyncio.gather(*(smsc.unbind() for smsc in binds))
                finally:
                    for client in clients:
                        with contextlib.suppress(smpp34.SmppError):
                            await client.stop()
                    for drain in drains:
                        drain.cancel()
                    await asyncio.gather(*drains, return_exceptions=True)
                return t0, got

            t0, got = run_loop(main())
            if failures:
                run.errors.append(f"{len(failures)} submit_sm refused, e.g. {failures[0]}")
            finish(run, sink, t0, args.timeout, None, got)
            if run.delivered_seconds is None:
                run.errors.append(f"only {run.receipts} of {args.n} receipts acknowledged")
            run.delivered = receipts  # what the client's reader saw (informative)


if __name__ == "__main__":
    sys.exit(SmsThroughput.main())
