"""What an operator reads: ``GET /metrics`` after real sends, who may read it, and the
request id every answer carries (docs/deploy.md#metrics)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from tests.integration.harness import Harness, make_settings, metric_sample, running_warta

PHONE = "081234567890"


async def scrape(harness: Harness) -> str:
    response = await harness.client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_metrics_count_a_real_send_and_name_no_one(harness: Harness) -> None:
    before = await scrape(harness)
    sent = await harness.send_sms(PHONE)
    assert sent.status_code == 201
    notification_id = sent.json()["id"]
    await harness.wait_status(notification_id, "delivered")
    read = await harness.get(f"/v2/notifications/{notification_id}")
    assert read.status_code == 200

    def moved(text: str, name: str, **labels: str) -> float:
        return metric_sample(text, name, **labels) - metric_sample(before, name, **labels)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while (
        moved(after := await scrape(harness), "warta_notifications_sent_total", channel="sms") < 1
    ):
        assert loop.time() < deadline, "the send never showed in warta_notifications_sent_total"
        await asyncio.sleep(0.05)

    assert moved(after, "warta_notifications_accepted_total", channel="sms") == 1
    assert moved(after, "warta_notifications_sent_total", channel="sms") == 1
    post = {"route": "/v2/notifications/sms", "method": "POST", "status": "2xx"}
    assert moved(after, "warta_http_requests_total", **post) == 1
    # The route as written, not the path: one series for every notification read.
    get = {"route": "/v2/notifications/{notification_id}", "method": "GET", "status": "2xx"}
    assert moved(after, "warta_http_requests_total", **get) == 1
    assert moved(after, "warta_task_seconds_count", task="deliver") >= 1
    assert "# TYPE warta_queue_due gauge" in after
    # No agency, recipient, key or notification in any label.
    for secret in (
        PHONE,
        PHONE[1:],
        "Budi",
        str(harness.agency_id),
        notification_id,
        *harness.keys.values(),
    ):
        assert secret not in after


async def test_queue_depth_counts_rows_waiting_for_a_worker(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, run_workers=False)
    async with running_warta(settings) as harness:
        for _ in range(2):
            assert (await harness.send_sms(PHONE)).status_code == 201
        assert (await harness.send_email()).status_code == 201
        text = await scrape(harness)
    assert metric_sample(text, "warta_queue_due", status="created", channel="sms") == 2
    assert metric_sample(text, "warta_queue_due", status="created", channel="email") == 1


def client_from(harness: Harness, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=harness.api, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://warta.test")


# One Warta per test, each case a request to it: a Warta takes seconds to start.
WITHOUT_TOKEN = {"loopback-v4": ("127.0.0.1", 200), "loopback-v6": ("::1", 200)} | {
    "internet": ("203.0.113.9", 403),
    "private-network": ("10.0.0.5", 403),
}


async def test_without_a_token_only_this_host_reads_metrics(sqlite_harness: Harness) -> None:
    for case, (host, status) in WITHOUT_TOKEN.items():
        async with client_from(sqlite_harness, host) as client:
            response = await client.get("/metrics")
        assert response.status_code == status, case
        if status == 403:
            assert response.json()["errors"] == [
                {"error": "AuthError", "message": "Metrics are readable from this host only"}
            ], case


WITH_TOKEN = {
    "right-token": ("203.0.113.9", "Bearer s3cret-scrape-token", 200),
    "no-header": ("203.0.113.9", None, 401),
    "wrong-token": ("203.0.113.9", "Bearer wrong", 401),
    "not-bearer": ("203.0.113.9", "s3cret-scrape-token", 401),
    "loopback-needs-it-too": ("127.0.0.1", None, 401),
}


async def test_with_a_token_metrics_need_it(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path, metrics_token="s3cret-scrape-token")
    async with running_warta(settings) as harness:
        for case, (host, authorization, status) in WITH_TOKEN.items():
            headers = {"Authorization": authorization} if authorization else {}
            async with client_from(harness, host) as client:
                response = await client.get("/metrics", headers=headers)
            assert response.status_code == status, case
            if status == 401:
                why = "Send Authorization: Bearer <WARTA_METRICS_TOKEN>"
                assert response.json()["errors"] == [{"error": "AuthError", "message": why}], case
            else:
                assert "warta_http_requests_total" in response.text


REQUEST_IDS = {  # what the caller sends: kept, or replaced by a new one
    "dotted": ("req-2026.12.05:42_a", True),
    "uuid": ("0b6f8a1e-6d1c-4a59-9a8f-2d1c5e0f7b11", True),
    "64-chars": ("x" * 64, True),
    "65-chars": ("x" * 65, False),
    "space": ("two words", False),
    "carriage-return": ("line\rbreak", False),
    "empty": ("", False),
}


async def test_request_id_is_echoed_when_sane_else_made(sqlite_harness: Harness) -> None:
    for case, (given, kept) in REQUEST_IDS.items():
        response = await sqlite_harness.client.get("/health/live", headers={"X-Request-Id": given})
        echoed = response.headers["x-request-id"]
        assert echoed == given if kept else re.fullmatch(r"[0-9a-f]{32}", echoed), case
    # Without one, each request gets its own, error answers too.
    first = await sqlite_harness.client.get("/health/live")
    second = await sqlite_harness.send_sms(PHONE)
    third = await sqlite_harness.client.get("/v2/notifications")  # 401: no token
    assert third.status_code == 401
    assert len({r.headers["x-request-id"] for r in (first, second, third)}) == 3
