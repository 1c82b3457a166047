"""Notify's key layout and JWT rules (warta.security.apikeys)."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from notifications_python_client.authentication import create_jwt_token

from warta.errors import AuthError
from warta.security.apikeys import (
    KeyCandidate,
    VerifiedTokens,
    key_string,
    unverified_service_id,
    verify,
)

SERVICE = uuid.UUID("6c0a6e4b-1d1f-4a0e-9a37-6a8a0d3b2f10")
SECRET = "0c5e4a3a-2b1f-4f3e-8d7c-6b5a4f3e2d1c"
# A fixed "now": the tables are built at collection time, long before they run.
NOW = 1_790_000_000
LIVE = KeyCandidate(id=uuid.uuid4(), key_type="normal", secret=SECRET, revoked=False)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("live key", "live_key"), ("Sistem Pajak 2026!", "sistem_pajak_2026"), ("!!!", "key")],
)
def test_key_string_has_notify_layout(name: str, expected: str) -> None:
    key = key_string(name, SERVICE, SECRET)
    assert key == f"{expected}-{SERVICE}-{SECRET}"
    assert key[-73:-37] == str(SERVICE) and key[-36:] == SECRET  # how Notify clients split it


def test_token_made_by_the_notify_client_is_accepted() -> None:
    token = create_jwt_token(secret=SECRET, client_id=str(SERVICE))
    raw, service = unverified_service_id(f"Bearer {token}")
    assert service == SERVICE
    assert verify(raw, [LIVE]) == LIVE


def _token(claims: dict[str, object], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("header", "status", "message"),
    [
        (None, 401, "Unauthorized: authentication token must be provided"),
        ("", 401, "Unauthorized: authentication token must be provided"),
        ("Token abc", 401, "Unauthorized: authentication bearer scheme must be used"),
        ("Bearer ", 401, "Unauthorized: authentication bearer scheme must be used"),
        ("Bearer abc.def", 403, "Invalid token: signature, api token is not valid"),
        (f"Bearer {_token({'iat': 1})}", 403, "Invalid token: iss field not provided"),
        (
            f"Bearer {_token({'iss': 'dinas', 'iat': 1})}",
            403,
            "Invalid token: service id is not the right data type",
        ),
    ],
    ids=["none", "empty", "other-scheme", "bearer-nothing", "not-jwt", "no-iss", "iss-not-uuid"],
)
def test_header_problems(header: str | None, status: int, message: str) -> None:
    with pytest.raises(AuthError) as caught:
        unverified_service_id(header)
    assert (caught.value.status_code, caught.value.message) == (status, message)


@pytest.mark.parametrize(
    ("claims", "keys", "message"),
    [
        (
            {"iss": str(SERVICE), "iat": NOW},
            [],
            "Invalid token: service has no API keys",
        ),
        (
            {"iss": str(SERVICE), "iat": NOW - 31},
            [LIVE],
            "Error: Your system clock must be accurate to within 30 seconds",
        ),
        (
            {"iss": str(SERVICE), "iat": NOW + 31},
            [LIVE],
            "Error: Your system clock must be accurate to within 30 seconds",
        ),
        ({"iss": str(SERVICE)}, [LIVE], "Invalid token: iat field not provided"),
        (
            {"iss": str(SERVICE), "iat": NOW},
            [KeyCandidate(id=uuid.uuid4(), key_type="normal", secret=SECRET, revoked=True)],
            "Invalid token: API key revoked",
        ),
        (
            {"iss": str(SERVICE), "iat": NOW},
            [
                KeyCandidate(
                    id=uuid.uuid4(), key_type="normal", secret=str(uuid.uuid4()), revoked=False
                )
            ],
            "Invalid token: API key not found",
        ),
    ],
    ids=["no-keys", "iat-old", "iat-future", "no-iat", "revoked", "other-secret"],
)
def test_verification_problems(
    claims: dict[str, object], keys: list[KeyCandidate], message: str
) -> None:
    with pytest.raises(AuthError, match=message) as caught:
        verify(_token(claims), keys, now=NOW)
    assert caught.value.status_code == 403


def test_the_right_key_among_several_is_found() -> None:
    team = KeyCandidate(id=uuid.uuid4(), key_type="team", secret=str(uuid.uuid4()), revoked=False)
    token = _token({"iss": str(SERVICE), "iat": NOW}, team.secret)
    assert verify(token, [LIVE, team], now=NOW) == team


def test_clock_skew_of_29_seconds_is_allowed() -> None:
    now = time.time()
    token = _token({"iss": str(SERVICE), "iat": int(now) - 29})
    assert verify(token, [LIVE], now=now) == LIVE


# -- VerifiedTokens: a token verified once, never a different answer ---------------------

REVOKED = KeyCandidate(id=LIVE.id, key_type="normal", secret=SECRET, revoked=True)
OTHER = KeyCandidate(id=uuid.uuid4(), key_type="normal", secret=str(uuid.uuid4()), revoked=False)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("later", "keys", "claims", "message"),
    [
        (1, [REVOKED], {}, "Invalid token: API key revoked"),
        (1, [OTHER], {}, "Invalid token: API key not found"),
        (1, [], {}, "Invalid token: service has no API keys"),
        (31, [LIVE], {}, "Error: Your system clock must be accurate to within 30 seconds"),
    ],
    ids=["key-revoked", "key-gone", "no-keys-left", "window-passed"],
)
def test_a_verified_token_is_refused_once_the_uncached_check_would(
    later: float, keys: list[KeyCandidate], claims: dict[str, object], message: str
) -> None:
    clock = Clock(NOW)
    tokens = VerifiedTokens(clock=clock)
    token = _token({"iss": str(SERVICE), "iat": NOW} | claims)
    assert tokens.verify(token, [LIVE]) == LIVE
    assert tokens.verify(token, [LIVE]) == LIVE  # from the cache
    clock.now = NOW + later
    with pytest.raises(AuthError, match=message):
        tokens.verify(token, keys)
    with pytest.raises(AuthError, match=message):  # and stays refused
        tokens.verify(token, keys)


def test_a_cached_token_answers_as_verify_does() -> None:
    clock = Clock(NOW)
    tokens = VerifiedTokens(limit=2, clock=clock)
    team = KeyCandidate(id=uuid.uuid4(), key_type="team", secret=str(uuid.uuid4()), revoked=False)
    signed = {k: _token({"iss": str(SERVICE), "iat": NOW}, k.secret) for k in (LIVE, team)}
    for _ in range(3):  # a limit of 2 keeps evicting: every answer is still the same
        for key, token in signed.items():
            clock.now += 1
            assert tokens.issuer(token) == SERVICE
            assert tokens.verify(token, [OTHER, LIVE, team]) == key
    forged = _token({"iss": str(SERVICE), "iat": NOW}, str(uuid.uuid4()))
    with pytest.raises(AuthError, match="Invalid token: API key not found"):
        tokens.verify(forged, [LIVE, team])


def test_a_verified_token_is_refused_after_its_exp() -> None:
    tokens = VerifiedTokens()  # PyJWT checks ``exp`` on the real clock: so does this test
    # A whole second: PyJWT reads ``exp`` as an int, so a fractional one may have passed
    # before the first check.
    now = time.time()
    expires = int(now) + 1
    token = _token({"iss": str(SERVICE), "iat": int(now), "exp": expires})
    assert tokens.verify(token, [LIVE]) == LIVE
    time.sleep(max(0.0, expires + 0.05 - time.time()))
    with pytest.raises(AuthError, match="Invalid token: signature, api token is not valid"):
        tokens.verify(token, [LIVE])
