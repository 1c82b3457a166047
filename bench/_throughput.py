"""The throughput benchmarks' runner: ``Throughput``, which runs the contenders in
interleaved rounds (warta's accept/deliver split and its e2e run among them), sums them up
in medians, and prints the table (or JSON) behind one command line.

Imported by ``email_throughput.py`` and ``sms_throughput.py`` (run as scripts, so this
folder is on ``sys.path``); it builds on ``_common.py``. Nothing here knows a channel: each
benchmark subclasses ``Throughput`` with its own sink, ceiling, channel settings and report
wording.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from _common import (
    WORKER_ENV,
    Channel,
    CpuMeter,
    Resources,
    Run,
    SinkProcess,
    WartaApi,
    Worker,
    finish,
    log,
    user_env,
)

READY_WINDOW = "worker ready -> N-th at sink"
TARGET_RATIO = "deliver/ceiling"

R = TypeVar("R", bound=Run)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


Runner = Callable[..., None]  # fills in the runs it is given, one per variant


class Throughput(ABC, Generic[R]):
    """One throughput benchmark: its contenders in interleaved rounds, ``--repeat`` of
    them, then medians in a table (or JSON). Warta is always run twice a round: accept then
    deliver in one run (``run_warta_split``), end to end in another (``run_warta_e2e``).

    A subclass says what differs: its sink and ceiling, the channel Warta is pointed at,
    and the words and extra figures of its report (the class attributes below).
    """

    RUN: type[R]  # what one window records
    # The command line: --help's description, what --n counts ("Emails"), the option that
    # sizes the channel (name, default, help), and the contenders --contenders takes.
    DESCRIPTION: ClassVar[str]
    NOUN: ClassVar[str]
    POOL: ClassVar[tuple[str, int, str]]
    CONTENDERS: ClassVar[tuple[str, ...]]
    # What a runner may end with: charged to the windows it cut short (or to the last one).
    FAILURES: ClassVar[tuple[type[Exception], ...]] = (
        RuntimeError,
        OSError,
        subprocess.SubprocessError,
    )
    CHANNEL: ClassVar[Channel]
    # The report. LABELS: each variant (Run.contender) in table order, with its row's label.
    # NOTES: a line per variant, formatted with the summary and {accept}, {first} and
    # {windows}. HEADING: the table's title, formatted with the summary. LEGEND: what its
    # columns mean. COLUMNS: more columns after "seconds" (title, key of the contender's
    # summary). SIZES: the label of a line with the average size at the sink, if shown.
    LABELS: ClassVar[dict[str, str]]
    NOTES: ClassVar[dict[str, str]]
    RATIOS: ClassVar[tuple[tuple[str, str], ...]]
    TARGET: ClassVar[float]  # deliver/ceiling at least
    MISS: ClassVar[str]  # the verdict when it is not met
    HEADING: ClassVar[str]
    LEGEND: ClassVar[str]
    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()
    SIZES: ClassVar[str | None] = None

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    # -- the contenders ----------------------------------------------------------------

    def runners(self) -> dict[str, list[tuple[tuple[str, ...], Runner]]]:
        """Contender (--contenders) -> its runners, each with the variants it fills."""
        return {
            "ceiling": [(("ceiling",), self.run_ceiling)],
            "warta": [
                (("warta_accept", "warta_deliver"), self.run_warta_split),
                (("warta_e2e",), self.run_warta_e2e),
            ],
        }

    @abstractmethod
    def run_ceiling(self, run: R) -> None:
        """The transport alone, straight to a fresh sink."""

    @abstractmethod
    def start_sink(self, res: Resources) -> SinkProcess:
        """A fresh sink for a warta run."""

    @abstractmethod
    def channel_env(self, sink: SinkProcess) -> dict[str, str]:
        """Warta's settings that point its channel at ``sink``."""

    @abstractmethod
    def check_nothing_sent(self, run: R, sink: SinkProcess) -> None:
        """Read the sink after phase A, which must have left it empty."""

    def wait_delivered(self, run: R, api: WartaApi, t0: float) -> None:
        """Once the sink has all N: wait for anything else the benchmark times from ``t0``
        (nothing here)."""

    def start_warta(self, res: Resources, *, workers: bool) -> tuple[SinkProcess, WartaApi]:
        """A fresh sink, and ``warta serve`` (with or without its workers) sending to it."""
        sink = self.start_sink(res)
        channel_env = self.channel_env(sink)
        return sink, WartaApi.start(self.args, res, self.CHANNEL, channel_env, workers=workers)

    def run_warta_split(self, accept: R, deliver: R) -> None:
        """Phase A: ``warta serve --no-workers`` accepts N. Phase B: ``warta worker`` delivers
        them from the same database."""
        args = self.args
        with Resources() as res:
            sink, api = self.start_warta(res, workers=False)

            # Phase A: the API alone.
            cpu = CpuMeter({"sink": sink.proc.pid, "warta": api.proc.pid})
            t0, accepted = api.post(args, accept)
            accept.cpu_seconds = cpu.stop()
            accept.seconds = accepted - t0
            # Nothing may have been sent (checked now, just before the worker starts).
            self.check_nothing_sent(accept, sink)
            if accept.errors:
                deliver.errors.append("phase B not run: phase A failed")
                api.stop(accept)
                return

            # Phase B: a worker process takes the accepted rows from the database.
            env = api.env | WORKER_ENV | user_env(args)
            worker = Worker(args, res, env, {"sink": sink.proc.pid, "api": api.proc.pid})
            ready = worker.wait_ready(sink)
            if ready is None:
                deliver.window = "sink's first arrival -> N-th (worker's ready line not seen)"
            finish(deliver, sink, ready, args.timeout, worker.cpu if ready is not None else None)
            if ready is not None:
                self.wait_delivered(deliver, api, ready)
            worker.stop(deliver)
            api.stop(accept)

    def run_warta_e2e(self, run: R) -> None:
        """``warta serve`` with its embedded workers: first POST -> sink has all N."""
        args = self.args
        with Resources() as res:
            sink, api = self.start_warta(res, workers=True)
            cpu = CpuMeter({"sink": sink.proc.pid, "warta": api.proc.pid})
            t0, accepted = api.post(args, run)
            run.accept_seconds = accepted - t0
            finish(run, sink, t0, args.timeout, cpu)
            self.wait_delivered(run, api, t0)
            api.stop(run)

    # -- the report --------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The run's settings, as the summary lists them first."""
        args, pool = self.args, self.POOL[0]
        return {
            "n": args.n,
            pool: getattr(args, pool),
            "http_concurrency": args.concurrency,
            "repeat": args.repeat,
        }

    def more_figures(self, good: list[R]) -> dict[str, Any]:
        """A contender's figures beside its rates in the summary (none here)."""
        return {}

    def summarise(self, runs: list[R]) -> dict[str, Any]:
        n = self.args.n
        contenders: dict[str, Any] = {}
        for name, label in self.LABELS.items():
            mine = [r for r in runs if r.contender == name]
            if not mine:
                continue
            good = [r for r in mine if r.ok and r.rate]
            rates = [r.n / r.seconds for r in good if r.seconds]
            entry: dict[str, Any] = {
                "label": label,
                "n": n,
                "runs": len(mine),
                "ok_runs": len(good),
                "seconds": median([r.seconds for r in good if r.seconds]),
                "msgs_per_s": median(rates),
                "min_msgs_per_s": min(rates, default=None),
                "max_msgs_per_s": max(rates, default=None),
            }
            entry.update(self.more_figures(good))
            entry["avg_message_bytes"] = median([r.bytes / r.received for r in mine if r.received])
            entry["cpu_ms_per_msg"] = {
                who: median([r.cpu_seconds[who] * 1000 / r.n for r in have])
                for who in ("bench", "sink", "warta", "api")
                if (have := [r for r in good if who in r.cpu_seconds])
            }
            if name == "warta_e2e":
                accepts = [r.accept_seconds for r in good if r.accept_seconds]
                entry["api_accept_seconds"] = median(accepts)
                entry["api_accept_per_s"] = median([n / s for s in accepts])
            if name == "warta_deliver":
                firsts = [r.first_arrival for r in good if r.first_arrival is not None]
                entry["first_arrival_seconds"] = median(firsts)
                entry["windows"] = sorted({r.window or READY_WINDOW for r in good})
            contenders[name] = entry

        ratios: dict[str, float | None] = {}
        for a, b in self.RATIOS:
            x = contenders.get(a, {}).get("msgs_per_s")
            y = contenders.get(b, {}).get("msgs_per_s")
            ratios[f"{a.removeprefix('warta_')}/{b}"] = x / y if x and y else None
        vs = ratios[TARGET_RATIO]
        return self.settings() | {
            "cpus": os.cpu_count(),
            "contenders": contenders,
            "ratios": ratios,
            "target": {
                "ratio": TARGET_RATIO,
                "at_least": self.TARGET,
                "met": None if vs is None else vs >= self.TARGET,
            },
            "runs": [r.as_json() for r in runs],
        }

    def print_table(self, summary: dict[str, Any]) -> None:
        def num(value: float | None, fmt: str) -> str:
            return "-" if value is None else format(value, fmt)

        print(f"\n{self.HEADING.format(**summary)}\n")
        width = max(len(label) for label in self.LABELS.values())
        widths = [8, 11, 8, *(len(title) for title, _ in self.COLUMNS), 10, 11]

        def row(label: str, *cells: str) -> None:
            aligned = (f"{cell:>{w}}" for cell, w in zip(cells, widths, strict=True))
            print(" ".join([f"{label:<{width}}", *aligned]))

        extra = [title for title, _ in self.COLUMNS]
        row("", "msgs/s", "min-max", "seconds", *extra, "cpu ms/msg", "sink ms/msg")
        notes = []
        for name, c in summary["contenders"].items():
            spread = f"{num(c['min_msgs_per_s'], '.0f')}-{num(c['max_msgs_per_s'], '.0f')}"
            cpu = c["cpu_ms_per_msg"]
            # The contender's own CPU: the ceiling (and Apprise) run inside this process;
            # "warta" is warta serve for accept and e2e, warta worker for deliver.
            own = "warta" if name.startswith("warta_") else "bench"
            row(
                c["label"],
                num(c["msgs_per_s"], ".1f"),
                spread,
                num(c["seconds"], ".2f"),
                *(num(c[key], ".1f") for _, key in self.COLUMNS),
                num(cpu.get(own), ".2f"),
                num(cpu.get("sink"), ".2f"),
            )
            accept = first = "-"
            if c.get("api_accept_per_s"):
                accept = f"{c['api_accept_per_s']:.0f}/s"
            if c.get("first_arrival_seconds") is not None:
                first = f"{c['first_arrival_seconds'] * 1000:.0f} ms"
            windows = " or ".join(c.get("windows") or [READY_WINDOW])
            note = self.NOTES[name].format(**summary, accept=accept, first=first, windows=windows)
            if c["ok_runs"] < c["runs"]:
                note += f"; {c['runs'] - c['ok_runs']} run(s) FAILED"
            notes.append(f"  {name:<14} {note}")
        print(self.LEGEND)
        print("\n".join(notes))
        load = [
            f"{name.removeprefix('warta_')} {num(c['cpu_ms_per_msg'].get('bench'), '.2f')}"
            for name, c in summary["contenders"].items()
            if name in ("warta_accept", "warta_e2e")
        ]
        if load:
            print(f"HTTP load (wrk, and this script), CPU ms/msg: {', '.join(load)}")
        deliver = summary["contenders"].get("warta_deliver")
        if deliver and "api" in deliver["cpu_ms_per_msg"]:
            idle = deliver["cpu_ms_per_msg"]["api"]
            print(f"idle warta serve during deliver, CPU ms/msg: {idle:.2f}")
        if self.SIZES:
            sizes = [
                f"{name} {c['avg_message_bytes']:.0f}"
                for name, c in summary["contenders"].items()
                if c["avg_message_bytes"] is not None
            ]
            if sizes:
                print(f"{self.SIZES}: {', '.join(sizes)}")
        print()
        for key, value in summary["ratios"].items():
            print(f"{key:<16} {num(value, '.2f')}")
        vs = summary["ratios"][TARGET_RATIO]
        verdict = (
            "-" if vs is None else ("PASS" if vs >= self.TARGET else self.MISS) + f" ({vs:.0%})"
        )
        target = self.LABELS["warta_deliver"]
        print(f"target: {target} >= {self.TARGET:.0%} of ceiling: {verdict}")

    def log_run(self, round_no: int, run: R) -> None:
        rate = run.rate_note()
        if run.accept_seconds:
            rate += f", API accept {run.n / run.accept_seconds:.1f}/s"
        if run.contender == "warta_deliver" and run.first_arrival is not None:
            rate += f", first {run.ITEM} {run.first_arrival * 1000:.0f} ms after ready"
        if run.window:
            rate += f" (timed from {run.window})"
        log(f"round {round_no}/{self.args.repeat} {run.contender:<13} {rate}")
        for error in run.errors:
            log(f"  ! {error}")

    # -- the command line --------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Options of this benchmark's own, listed after --contenders (none here)."""

    @classmethod
    def parse_args(cls, argv: list[str] | None = None) -> argparse.Namespace:
        parser = argparse.ArgumentParser(description=cls.DESCRIPTION)
        parser.add_argument(
            "--n", type=int, default=1000, help=f"{cls.NOUN} per run (default 1000)."
        )
        pool, default, pool_help = cls.POOL
        parser.add_argument(f"--{pool}", type=int, default=default, help=pool_help)
        parser.add_argument("--repeat", type=int, default=3, help="Runs per contender (median).")
        parser.add_argument(
            "--concurrency", type=int, default=32, help="Warta API requests in flight (default 32)."
        )
        names = ",".join(cls.CONTENDERS)
        parser.add_argument(
            "--contenders",
            default=names,
            help=f"Comma-separated subset of {names} (warta: accept and deliver in one run, "
            "then e2e in another).",
        )
        cls.add_arguments(parser)
        parser.add_argument(
            "--warta-env",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="Extra environment for warta (e.g. WARTA_WORKERS=4); repeatable.",
        )
        parser.add_argument(
            "--timeout", type=float, default=120.0, help="Seconds to wait for all N to arrive."
        )
        parser.add_argument(
            "--profile",
            metavar="OUT",
            help="Run the first round's warta worker (phase B, deliver) under py-spy and write "
            "OUT (.json: speedscope, else raw collapsed stacks); covers the worker's start-up "
            "too.",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON results only.")
        args = parser.parse_args(argv)
        args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
        unknown = set(args.contenders) - set(cls.CONTENDERS)
        if unknown:
            parser.error(f"unknown contender(s): {', '.join(sorted(unknown))}")
        if min(args.n, getattr(args, pool), args.repeat, args.concurrency) < 1:
            parser.error(f"--n, --{pool}, --repeat and --concurrency must be positive")
        args.profiled = False
        return args

    @classmethod
    def main(cls, argv: list[str] | None = None) -> int:
        args = cls.parse_args(argv)
        # Ctrl-C (even when started in the background, where SIGINT is inherited as ignored)
        # and SIGTERM unwind the stack, so every ``with Resources()`` stops what it started.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
        bench = cls(args)
        runners = bench.runners()
        runs: list[R] = []
        try:
            for round_no in range(1, args.repeat + 1):
                for name in args.contenders:
                    for variants, runner in runners[name]:
                        mine = [bench.RUN(variant, args.n) for variant in variants]
                        try:
                            runner(*mine)
                        except cls.FAILURES as exc:
                            open_ = [r for r in mine if r.seconds is None] or mine[-1:]
                            for run in open_:
                                run.errors.append(f"{type(exc).__name__}: {exc}")
                        runs.extend(mine)
                        for run in mine:
                            bench.log_run(round_no, run)
        except KeyboardInterrupt:
            log("interrupted; everything started has been stopped")
            return 130
        summary = bench.summarise(runs)
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            bench.print_table(summary)
        return 0 if all(r.ok for r in runs) else 1
