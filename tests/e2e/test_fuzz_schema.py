"""Schemathesis fuzzes a real `warta serve` from its own `/openapi.json`, signed in.

Every operation in the document gets generated requests, valid and invalid alike: Notify
API calls carry a fresh JWT of a live key, portal calls a real citizen's session, and path
ids are now and then ones that exist (a template, a citizen and their contact), so the
fuzzer gets past "not found" into the code behind. Each response must not be a 5xx, must
match the schema for its status, and every 4xx from a `/v2` or portal route must be in
Notify's error shape. The run is bounded (examples per operation; each request times out
after 10 s, each operation after pytest's timeout) and derandomized with a fixed seed, so CI
sends the same requests every time. Text may hold NUL characters; lone surrogates are not
generated (they cannot be sent as UTF-8: tests/integration/test_hardening_text.py sends
them).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from notifications_python_client.authentication import create_jwt_token
from schemathesis import Case

from tests.e2e.conftest import Server, start_server
from warta.api.app import create_app
from warta.settings import Settings

#: Schemathesis collects the operations in the process that runs them: not with xdist.
pytestmark = pytest.mark.serial

#: Fuzzing examples per operation: enough to reach every validator, small enough that the
#: whole run (47 operations, about 2,600 requests) stays near half a minute, more under load.
EXAMPLES = 50
PHONE = "+6281234567890"
NIK = "3273010101900002"
NOTIFY_SHAPED = ("/v2/", "/portal/api/")
#: Portal routes fuzzed without the session: signing out would end the session every later
#: request uses, and a signed-in event stream never ends (its validation and refusals are
#: still fuzzed; tests/integration/test_portal_api.py reads its events).
UNSIGNED = ("/portal/api/sign-out", "/portal/api/inbox/events")


#: Ids that exist on the running server, filled in once it is set up (``signed``).
REAL_IDS: dict[str, str] = {}
CONFIG = {
    "seed": 15,
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "allow-x00": True},
    "phases": {"stateful": {"enabled": False}},
    # What a client relies on: no 5xx, and every answer as the document says (status,
    # content type, headers, body; a method the path does not take: 405 with Allow). Left
    # out: "a schema-valid request is accepted" (an id that does not exist is valid to the
    # schema yet rightly refused) and "Allow lists every method of the path" (FastAPI
    # answers a 405 per route: `POST /v2/topics` is a route apart from `GET /v2/topics`).
    "checks": {
        "enabled": False,
        **{
            name: {"enabled": True}
            for name in (
                "not_a_server_error",
                "status_code_conformance",
                "content_type_conformance",
                "response_headers_conformance",
                "response_schema_conformance",
                "unsupported_method",
            )
        },
    },
}
# The document `warta serve` answers at /openapi.json, built the same way here so pytest
# can collect one test per operation before any server runs; the first test checks that
# the served one is the same.
SPEC = create_app(Settings(dev_outbox=True)).openapi()
schema = schemathesis.openapi.from_dict(SPEC, config=schemathesis.Config.from_dict(CONFIG))


@dataclass
class Signed:
    """What a signed-in caller has: the agency's live key, a citizen's portal session, and
    ids that exist, for path parameters."""

    live_key: str
    session: str
    ids: dict[str, str]

    def jwt(self) -> str:
        # A Notify key string ends with the agency id and the secret, 36 characters each.
        return create_jwt_token(self.live_key[-36:], self.live_key[-73:-37])


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the whole module (the `server` fixture starts one per test)."""
    # The fuzzer sends far more than a person would: the per-minute limit is not under test.
    running = start_server(
        tmp_path_factory.mktemp("fuzz"),
        WARTA_LOG_LEVEL="INFO",
        WARTA_RATE_LIMIT_PER_MINUTE="1000000",
    )
    try:
        yield running
    finally:
        running.stop()


def newest_code(server: Server, seen: int) -> tuple[str, int]:
    """The one-time code in the newest message to PHONE, once there are more than ``seen``."""
    deadline = time.monotonic() + 10
    while True:
        got = [m for m in httpx.get(server.url + "/dev/outbox.json").json() if m["to"] == PHONE]
        if len(got) > seen:
            found = re.search(r"\b(\d{6})\b", got[0]["body"])
            assert found, got[0]["body"]
            return found.group(1), len(got)
        assert time.monotonic() < deadline, "no code came"
        time.sleep(0.05)


def sign_in(fuzzed: Server, api: httpx.Client) -> Signed:
    """An agency with a template, a citizen with a verified phone, and their session."""
    agency = fuzzed.cli("agency", "create", "Dinas Uji Fuzz", "--sms-sender", "FUZZ")
    body = fuzzed.var_dir.parent / "body.txt"
    body.write_text("Halo ((nama)), KTP Anda siap.", encoding="utf-8")
    template = fuzzed.cli(
        "template", "create", "--agency", agency["id"], "--type", "sms", "--name", "KTP",
        "--body-file", str(body),
    )  # fmt: skip
    signed = Signed(agency["live_key"], "", {"template_id": template["id"]})

    def post(path: str, json: dict[str, Any]) -> dict[str, Any]:
        answer = api.post(path, json=json, headers={"Authorization": f"Bearer {signed.jwt()}"})
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    citizen = post(
        "/v2/citizens",
        {"nik": NIK, "name": "Sri", "region_code": "32.73.01.1001", "phone_numbers": [PHONE]},
    )
    contact = post(f"/v2/citizens/{citizen['id']}/contacts", {"type": "sms", "value": PHONE})
    code, seen = newest_code(fuzzed, 0)
    post(f"/v2/citizens/{citizen['id']}/contacts/{contact['id']}/verify", {"code": code})
    challenge = api.post("/portal/api/sign-in", json={"contact": PHONE}).json()["challenge"]
    code, _ = newest_code(fuzzed, seen)
    verified = api.post("/portal/api/sign-in/verify", json={"challenge": challenge, "code": code})
    assert verified.status_code == 200, verified.text
    signed.session = verified.json()["token"]
    signed.ids |= {"citizen_id": citizen["id"], "contact_id": contact["id"]}
    return signed


@pytest.fixture(scope="module")
def signed(fuzzed: Server) -> Signed:
    with httpx.Client(base_url=fuzzed.url, timeout=10) as api:
        made = sign_in(fuzzed, api)
    REAL_IDS.update(made.ids)
    return made


@schema.hook
def flatmap_path_parameters(context: Any, params: dict[str, Any] | None) -> Any:
    # Half the time ids that exist, so the fuzzer reaches past "not found".
    real = {k: v for k, v in REAL_IDS.items() if params and k in params}
    return st.sampled_from([params, {**(params or {}), **real}]) if real else st.just(params)


def test_the_server_serves_the_document_the_fuzzer_reads(fuzzed: Server) -> None:
    assert httpx.get(fuzzed.url + "/openapi.json").json() == SPEC


#: Requests sent, by operation, for the report at the end.
SENT: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def every_operation_is_fuzzed() -> Iterator[None]:
    yield
    if SENT:  # (not when the run was narrowed with -k)
        print(f"\nschema fuzzing: {sum(SENT.values())} requests, {len(SENT)} operations")
        assert len(SENT) == sum(len(methods) for methods in SPEC["paths"].values())


def notify_error(response: Any) -> str | None:
    """What is wrong with an error body, measured against Notify's shape (None: nothing)."""
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict) or set(body) != {"status_code", "errors"}:
        return f"not Notify's shape: {body!r}"
    errors = body["errors"]
    if body["status_code"] != response.status_code or not isinstance(errors, list) or not errors:
        return f"status_code or errors wrong: {body!r}"
    for error in errors:
        if set(error) != {"error", "message"} or not all(
            isinstance(v, str) for v in error.values()
        ):
            return f"an error is not {{error, message}}: {body!r}"
    return None


@schema.parametrize()
@settings(
    deadline=None,  # a slow CI machine is not a failure: each request has its own timeout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
    database=None,
)
def test_fuzzed_requests_get_no_5xx_and_answers_match_the_schema(
    case: Case, fuzzed: Server, signed: Signed
) -> None:
    SENT[case.operation.label] += 1
    headers: dict[str, str] = {}
    if case.path.startswith("/v2/"):
        headers["Authorization"] = f"Bearer {signed.jwt()}"
    elif case.path.startswith("/portal/api/") and case.path not in UNSIGNED:
        headers["Authorization"] = f"Bearer {signed.session}"
    response = case.call_and_validate(base_url=fuzzed.url, headers=headers, timeout=10)
    if 400 <= response.status_code < 500 and case.path.startswith(NOTIFY_SHAPED):
        problem = notify_error(response)
        assert problem is None, f"{case.method} {case.formatted_path}: {problem}"
