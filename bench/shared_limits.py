"""What sharing the limits in Redis costs each accepted send.

    .venv/bin/python bench/shared_limits.py [--calls 5000] [--repeat 5] [--redis URL]

Every accepted send takes one token from its agency's bucket (``check_rate``) and counts
one message toward its daily limit (``count_message``). Two contenders, rounds
interleaved (memory, redis, memory, ...), ``--repeat`` each, ``--calls`` sends a round:

memory
    ``store.quotas.Quotas``: this process's dicts (``WARTA_REDIS_URL`` empty).
redis
    ``store.quotas.SharedQuotas``: two Lua scripts on Redis (``127.0.0.1:6379``), one
    round trip each; in a namespace of its own, deleted at the end.

Printed: microseconds per send (median of the rounds, min-max), this process's CPU
microseconds per send (median), and the differences: what an API process pays per request
for limits that hold across processes (the CPU is what limits its throughput). Calls are
sequential (one in flight), so this is the latency the request sees, not Redis's ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime

from warta.store.quotas import Quotas, SharedQuotas
from warta.store.shared import Shared, redis_client


async def _round(quotas: Quotas, calls: int) -> tuple[float, float]:
    """Wall and CPU microseconds per send."""
    agency = uuid.uuid4()
    now = datetime.now(UTC)

    async def stored(since: datetime) -> int:
        return 0

    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await quotas.check_rate(agency, "normal", 10 * calls)
        await quotas.count_message(agency, 10 * calls, now, stored)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    return took / calls * 1e6, cpu / calls * 1e6


async def main(args: argparse.Namespace) -> None:
    shared = Shared(redis_client(args.redis), f"bench{uuid.uuid4().hex[:8]}")
    try:
        if await shared.call(lambda r: r.ping()) is None:
            raise SystemExit(f"Redis at {args.redis} is not reachable")
        contenders = {"memory": Quotas(), "redis": SharedQuotas(shared)}
        wall: dict[str, list[float]] = {name: [] for name in contenders}
        cpu: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.repeat):
            for name, quotas in contenders.items():
                took, used = await _round(quotas, args.calls)
                wall[name].append(took)
                cpu[name].append(used)
        for name, values in wall.items():
            print(
                f"{name:>7}: {statistics.median(values):7.1f} us/send "
                f"({min(values):.1f}-{max(values):.1f}), this process's CPU "
                f"{statistics.median(cpu[name]):.1f} us/send; {args.repeat} rounds of {args.calls}"
            )
        extra = statistics.median(wall["redis"]) - statistics.median(wall["memory"])
        extra_cpu = statistics.median(cpu["redis"]) - statistics.median(cpu["memory"])
        print(f"  redis - memory: {extra:.1f} us per accepted send ({extra_cpu:.1f} us of CPU)")
    finally:
        names = [k async for k in shared.client.scan_iter(f"{shared.namespace}:*")]
        if names:
            await shared.client.delete(*names)
        await shared.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
