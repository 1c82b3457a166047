"""``warta worker --queues`` and ``warta beat``: refused, saying why, when they cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from warta.cli import main


@pytest.mark.parametrize(
    ("args", "broker", "said"),
    [
        (["beat"], "", "warta beat schedules Celery workers: set WARTA_BROKER_URL"),
        (["worker", "--queues", "urgent"], "", "--queues names Celery queues: set WARTA_BROKER"),
        (
            ["worker", "--queues", "urgent,sms"],
            "amqp://guest:guest@127.0.0.1:5672//",
            "unknown sms; choose among urgent, deliver-email",
        ),
        (["worker", "--queues", ","], "amqp://guest:guest@127.0.0.1:5672//", "unknown empty list"),
    ],
    ids=["beat without a broker", "queues without a broker", "unknown queue", "no queue"],
)
def test_refused_with_the_reason(args: list[str], broker: str, said: str, tmp_path: Path) -> None:
    env = {"WARTA_VAR_DIR": str(tmp_path), "WARTA_BROKER_URL": broker}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2
    assert said in " ".join(result.output.split())
    # Refused before it starts anything: no metrics folder, this process left as it was.
    assert not (tmp_path / "metrics").exists()
