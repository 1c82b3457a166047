"""Work handed to worker processes (``services.offload``): it runs in another process,
Warta's errors come back whole (pages translate them from ``msgid`` and ``values``), and
a worker that dies costs only the call it was running."""

from __future__ import annotations

import os

import pytest

from warta.errors import ValidationFailed
from warta.services import uploads
from warta.services.offload import ProcessOffload


async def test_work_runs_elsewhere_errors_come_back_whole_and_a_dead_worker_is_replaced() -> None:
    offload = ProcessOffload(1)
    try:
        assert await offload.run(os.getpid) != os.getpid()

        with pytest.raises(ValidationFailed) as refused:
            await offload.run(uploads.read, "a.csv", b"a\n1\n2\n", max_recipients=1)
        assert refused.value.msgid.startswith("Too many rows: at most %(count)s recipients")
        assert refused.value.values == {"count": 1}

        with pytest.raises(ValidationFailed) as broken:
            await offload.run(os._exit, 1)  # a worker killed mid-file (out of memory, say)
        assert "This file could not be checked" in str(broken.value)
        assert await offload.run(sum, [1, 2, 3]) == 6
    finally:
        await offload.aclose()
