"""State several API processes share in Redis: rate and daily limits, key revocation,
provider demotion; and what happens when Redis is down.

The deployment is real: two `warta serve --no-workers` on one PostgreSQL schema and one
Redis namespace, one of them with `--processes 2`, so a request may land in any of three
processes. The test process is a fourth, as `warta keys revoke` would be: it creates the
agencies and makes the changes the servers must see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio
from click.testing import CliRunner

from tests.conftest import POSTGRES_URL, TEST_SECRET_KEY
from tests.integration.harness import Harness, auth_header, make_settings, running_warta
from warta.channels.sms_router import SmsRouter
from warta.cli import main
from warta.domain.limits import TokenBucket
from warta.services.admin import list_keys, revoke_key
from warta.store.db import migrate
from warta.store.quotas import BUCKET_SCRIPT

pytestmark = pytest.mark.postgres

REDIS_URL = "redis://127.0.0.1:6379/0"
#: An HTTP SMS gateway nobody listens on: it is never sent to (no workers run), but with a
#: provider configured no process starts the development outbox.
GATEWAY = "http://sid:token@127.0.0.1:9/?name=gw"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at 127.0.0.1:6379 is not reachable: {exc}", pytrace=False)
    yield client
    client.close()


def _forget_namespace(client: redis.Redis, namespace: str) -> None:
    for name in client.scan_iter(f"{namespace}:*"):
        client.delete(name)


@dataclass
class Deployment:
    database_url: str
    namespace: str
    urls: list[str]
    var_dir: Path

    def settings(self, **overrides: Any) -> Any:
        """Settings of the test's own process, in this deployment."""
        values: dict[str, Any] = {
            "run_workers": False,
            "upload_workers": 0,
            "sms_http_url": GATEWAY,
            "redis_url": REDIS_URL,
            "namespace": self.namespace,
        }
        return make_settings(self.database_url, self.var_dir, **(values | overrides))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_live(url: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"warta serve at {url} exited with {server.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/live", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"warta serve at {url} did not start within {timeout} s")


@pytest.fixture(scope="module")
def deployment(
    postgres_admin_dsn: str, redis_server: redis.Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    namespace = f"t{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    database_url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    var_dir = tmp_path_factory.mktemp("shared")
    migrate(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")} | {
        "WARTA_DATABASE_URL": database_url,
        "WARTA_SECRET_KEY": TEST_SECRET_KEY,
        "WARTA_VAR_DIR": str(var_dir),
        "WARTA_REDIS_URL": REDIS_URL,
        "WARTA_NAMESPACE": namespace,
        "WARTA_SMS_HTTP_URL": GATEWAY,
        # Long enough that only the revocation notice can explain a prompt refusal.
        "WARTA_CACHE_SECONDS": "300",
        "WARTA_UPLOAD_WORKERS": "0",
        "WARTA_LOG_LEVEL": "WARNING",
    }
    warta = str(Path(sys.executable).with_name("warta"))
    servers, urls = [], []
    try:
        for extra in ([], ["--processes", "2"]):
            port = _free_port()
            command = [warta, "serve", "--no-workers", "--port", str(port), *extra]
            servers.append(subprocess.Popen(command, env=env, cwd=var_dir))
            urls.append(f"http://127.0.0.1:{port}")
        for url, server in zip(urls, servers, strict=True):
            _wait_live(url, server)
        yield Deployment(database_url, namespace, urls, var_dir)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)
        _forget_namespace(redis_server, namespace)
        with psycopg.connect(postgres_admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextlib.asynccontextmanager
async def agency_in(deployment: Deployment, **settings: Any) -> AsyncIterator[Harness]:
    """A new agency with keys and templates, made by the test's own Warta."""
    tag = uuid.uuid4().hex[:8].upper()
    async with running_warta(
        deployment.settings(**settings), agency_name=f"Dinas {tag}", sms_sender=f"D{tag}"
    ) as harness:
        yield harness


async def send_spread(
    deployment: Deployment, harness: Harness, count: int, at_once: int = 10
) -> list[tuple[int, httpx.Response]]:
    """``count`` SMS sends, the n-th to server n % 2, ``at_once`` in flight; each answer
    with the index of the server that gave it."""
    body = {
        "phone_number": "081234567890",
        "template_id": str(harness.sms_template),
        "personalisation": {"nama": "Budi", "nomor": "7"},
    }
    gate = asyncio.Semaphore(at_once)
    async with httpx.AsyncClient(timeout=30.0) as client:

        async def one(n: int) -> tuple[int, httpx.Response]:
            server = n % len(deployment.urls)
            async with gate:
                answer = await client.post(
                    f"{deployment.urls[server]}/v2/notifications/sms",
                    json=body,
                    headers=auth_header(harness.keys["live"]),
                )
            return server, answer

        return await asyncio.gather(*(one(n) for n in range(count)))


async def test_a_rate_limit_holds_across_processes(deployment: Deployment) -> None:
    async with agency_in(deployment, rate_limit_per_minute=60) as harness:
        started = time.monotonic()
        answers = await send_spread(deployment, harness, 150)
        took = time.monotonic() - started
    accepted = [server for server, answer in answers if answer.status_code == 201]
    refused = [answer for _, answer in answers if answer.status_code != 201]
    # 60 at once, then one a second: whatever the send took may have refilled a few.
    assert 60 <= len(accepted) <= 60 + int(took) + 1, (len(accepted), took)
    assert set(accepted) == {0, 1}, "both servers took some: one limit between them"
    assert {(r.status_code, r.json()["errors"][0]["error"]) for r in refused} == {
        (429, "RateLimitError")
    }
    assert refused[0].json()["errors"][0]["message"] == (
        "Exceeded rate limit for key type NORMAL of 60 requests per 60 seconds"
    )


async def test_the_daily_limit_counts_every_process_from_what_is_stored(
    deployment: Deployment,
) -> None:
    async with agency_in(deployment, daily_message_limit=10, redis_url="") as harness:
        for _ in range(3):  # stored before any process counts in Redis
            assert (await harness.send_sms()).status_code == 201
        answers = await send_spread(deployment, harness, 12, at_once=4)
    codes = sorted(answer.status_code for _, answer in answers)
    assert codes == [201] * 7 + [429] * 5
    refused = next(answer for _, answer in answers if answer.status_code == 429)
    assert refused.json()["errors"] == [
        {"error": "TooManyRequestsError", "message": "Exceeded send limits (10) for today"}
    ]


async def test_a_key_revoked_in_one_process_is_refused_by_all_at_once(
    deployment: Deployment,
) -> None:
    async with agency_in(deployment) as harness:
        assert {a.status_code for _, a in await send_spread(deployment, harness, 6)} == {201}
        keys = await list_keys(harness.app, harness.agency_id)
        live = next(k for k in keys if k.key_type == "normal")
        await revoke_key(harness.app, live.id)
        answers = await send_spread(deployment, harness, 6)
    assert [(a.status_code, a.json()["errors"]) for _, a in answers] == [
        (403, [{"error": "AuthError", "message": "Invalid token: API key revoked"}])
    ] * 6


async def test_a_provider_demoted_in_one_process_is_demoted_in_all(
    deployment: Deployment,
) -> None:
    async with agency_in(deployment) as harness, httpx.AsyncClient() as client:
        for url in deployment.urls:
            assert (await client.get(f"{url}/health/ready")).status_code == 200
        router = harness.app.channels["sms"]
        assert isinstance(router, SmsRouter)
        for _ in range(5):  # five failed sends in a row: the gateway is demoted here
            router.balancer.record_send("gw", False, time.monotonic())
        deadline = time.monotonic() + 5.0
        for url in deployment.urls:
            while (ready := await client.get(f"{url}/health/ready")).status_code == 200:
                assert time.monotonic() < deadline, f"{url} never heard of the demotion"
                await asyncio.sleep(0.05)
            assert ready.status_code == 503
            assert "None of the 1 SMS providers can take a message now" in ready.text


async def test_with_redis_down_limits_count_per_process_and_nothing_is_lost(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        run_workers=False,
        upload_workers=0,
        redis_url="redis://127.0.0.1:1/0",  # nothing listens there
        rate_limit_per_minute=3,
    )
    with caplog.at_level(logging.WARNING, logger="warta.store.shared"):
        async with running_warta(settings) as harness:
            answers = [await harness.send_sms() for _ in range(4)]
            assert [a.status_code for a in answers] == [201, 201, 201, 429]
            for answer in answers[:3]:
                assert (await harness.row(answer.json()["id"])).status == "created"
    unreachable = [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]
    assert len(unreachable) == 1, "one warning for the outage, not one per request"


@pytest.mark.parametrize(
    "takes",
    [
        pytest.param([0, 0, 0, 0, 0], id="a burst of capacity, then refused"),
        pytest.param([0, 0, 0, 0, 10, 19, 20, 20, 21], id="refills one per period/capacity"),
        pytest.param([0, 0, 0, 0, 500, 500, 500, 500], id="never more than capacity"),
        pytest.param([5, 4, 3, 3, 3, 3], id="a clock going back refills nothing"),
    ],
)
async def test_the_redis_bucket_agrees_with_the_domain_token_bucket(
    redis_server: redis.Redis, takes: list[float]
) -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    name = f"t{uuid.uuid4().hex[:10]}:bucket"
    try:
        script = client.register_script(BUCKET_SCRIPT)
        bucket = TokenBucket.full(3, 60.0, takes[0])
        in_redis = [bool(await script(keys=[name], args=[3, 60, now])) for now in takes]
        assert in_redis == [bucket.take(now) for now in takes]
    finally:
        await client.delete(name)
        await client.aclose()


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        pytest.param({}, "the development outbox and local peers", id="dev outbox"),
        pytest.param({"WARTA_SMS_HTTP_URL": GATEWAY}, "need PostgreSQL", id="sqlite"),
        pytest.param(
            {"WARTA_SMS_HTTP_URL": GATEWAY, "WARTA_DATABASE_URL": POSTGRES_URL},
            "set WARTA_REDIS_URL",
            id="no redis",
        ),
    ],
)
def test_several_processes_are_refused_where_they_would_keep_state(
    tmp_path: Path, env: dict[str, str], problem: str
) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--processes", "2"], env={"WARTA_VAR_DIR": str(tmp_path), **env}
    )
    assert result.exit_code == 2
    assert problem in result.output
    assert not (tmp_path / "metrics").exists()  # refused before it starts anything
