"""Metrics and request ids across real processes: ``warta serve --no-workers`` takes a
send, a separate ``warta worker`` delivers it, and the API's ``/metrics`` shows both
processes' counts (prometheus_client's multiprocess mode, in ``WARTA_VAR_DIR/metrics``);
the API's JSON log line for that request carries the caller's ``X-Request-Id``."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
from notifications_python_client.authentication import create_jwt_token

from tests.e2e.conftest import WARTA, start_server
from tests.integration.harness import metric_sample

PHONE = "081298765432"
NAME = "Ratna Kartikasari"


def wait_for(check: str, path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while check not in path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no {check!r} in {path.name}:\n{path.read_text()}"
        time.sleep(0.1)


def test_metrics_add_up_the_api_and_a_worker_and_logs_carry_the_request_id(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path, WARTA_RUN_WORKERS="false", WARTA_LOG_JSON="true")
    worker_log = tmp_path / "worker.log"
    with worker_log.open("wb") as out:
        worker = subprocess.Popen([WARTA, "worker"], env=server.env, stdout=out, stderr=out)
    try:  # the worker starts while the agency is made
        agency = server.cli("agency", "create", "Dinas Uji Metrik", "--sms-sender", "METRIK")
        body = tmp_path / "sms.txt"
        body.write_text("Halo ((nama)), paspor Anda siap.", encoding="utf-8")
        template = server.cli(
            "template", "create", "--agency", agency["id"], "--type", "sms",
            "--name", "paspor", "--body-file", str(body),
        )  # fmt: skip
        wait_for("workers started", worker_log)
        key = agency["live_key"]
        token = create_jwt_token(secret=key[-36:], client_id=key[-73:-37])
        headers = {"Authorization": f"Bearer {token}", "X-Request-Id": "e2e-metrics-1"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
            sent = client.post(
                "/v2/notifications/sms",
                json={
                    "phone_number": PHONE,
                    "template_id": template["id"],
                    "personalisation": {"nama": NAME},
                },
            )
            assert sent.status_code == 201, sent.text
            assert sent.headers["x-request-id"] == "e2e-metrics-1"
            deadline = time.monotonic() + 20
            while client.get(f"/v2/notifications/{sent.json()['id']}").json()["status"] not in (
                "sending",
                "delivered",
            ):
                assert time.monotonic() < deadline, "the worker never sent it"
                time.sleep(0.1)
            deadline = time.monotonic() + 10
            while (text := client.get("/metrics").text) and not metric_sample(
                text, "warta_notifications_sent_total", channel="sms"
            ):
                assert time.monotonic() < deadline, f"the worker's send is not in:\n{text}"
                time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        server.stop()

    # Counted by the API process and by the worker process, read from the API's /metrics.
    assert metric_sample(text, "warta_notifications_accepted_total", channel="sms") == 1
    assert metric_sample(text, "warta_notifications_sent_total", channel="sms") == 1
    assert metric_sample(text, "warta_task_seconds_count", task="deliver") >= 1
    for personal in (PHONE, PHONE[1:], NAME, agency["id"], key):
        assert personal not in text

    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("request_id") == "e2e-metrics-1"]
    assert any("POST /v2/notifications/sms 201" in line["message"] for line in ours), ours
    assert not any(NAME in line["message"] or PHONE[1:] in line["message"] for line in lines)
