"""Agency staff: accounts, sign-in with a password and a TOTP code, sessions, the team.

Sign-in is two steps on one server-side session: the password (argon2) opens a session
at stage ``password`` (or ``enrol`` for someone with no authenticator yet); the TOTP code
(RFC 6238, +-1 step, each step usable once) makes it ``full``.

Every try is counted toward the lockout in ``domain.staff`` (per account and client
address, with a ceiling per account) *before* it is checked, atomically in the database,
so tries sent at once check no more than the limit. An unknown email, a wrong password
and a locked account answer alike: the same status, page and time (argon2 runs on a
dummy hash when there is nothing to check), so the form tells nobody who has an account
or that a lock is on.

Argon2 runs in worker threads, and at most ``HASHING_AT_ONCE`` sign-in checks run at a
time: the event loop and the connection pool keep serving the API while a crowd of
sign-ins waits its turn.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from warta.deps import Warta
from warta.domain import staff as rules
from warta.domain.recipients import validate_email
from warta.errors import AuthError, BadRequest, InvalidInput, NotFound, ValidationFailed
from warta.services import code_limits
from warta.store.models import Staff, StaffSession
from warta.store.uow import UnitOfWork

HASHER = PasswordHasher()
LOCKOUT = rules.Lockout()
#: Sign-in checks (argon2 hashes) at once per process: each takes a core and 64 MiB, and
#: the API needs a core left for everything else.
HASHING_AT_ONCE = 2
PENDING_FOR = timedelta(minutes=10)  # from the password to the code
IDLE_FOR = timedelta(hours=1)
LASTS_FOR = timedelta(hours=12)
ISSUER = "Warta"
#: What every refused sign-in says: a wrong email, password or code, and a lock alike.
WRONG = (
    "The email, password or code is not right. After 5 wrong tries, sign-in from here "
    "pauses for 15 minutes."
)


@dataclass(frozen=True)
class Member:
    """A signed-in (or listed) person, with personal data opened for display."""

    id: uuid.UUID
    agency_id: uuid.UUID
    email: str
    name: str
    role: str
    stage: str = "full"

    def can(self, permission: str) -> bool:
        return rules.can(self.role, permission)


def _member(app: Warta, row: Staff, stage: str = "full") -> Member:
    return Member(
        id=row.id,
        agency_id=row.agency_id,
        email=app.keyring.decrypt(row.email_enc, field="staff.email"),
        name=app.keyring.decrypt(row.name_enc, field="staff.name"),
        role=row.role,
        stage=stage,
    )


def normalise_email(raw: str) -> str:
    """Staff sign in with their address in any case: it is looked up lower-cased."""
    return validate_email(raw).lower()


def _email(raw: str) -> str:
    try:
        return normalise_email(raw)
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field="email", **exc.values) from exc


def _token_hash(token: str) -> str:
    # Tokens are 32 random bytes: a plain hash is enough to keep a database read from
    # giving away live sessions.
    return hashlib.sha256(token.encode()).hexdigest()


async def add(
    app: Warta, agency_id: uuid.UUID, *, email: str, name: str, role: str, password: str
) -> Member:
    """A new person at an agency; they set up their authenticator at first sign-in."""
    address = _email(email)
    problem = rules.role_problem(role) or rules.password_problem(password, address)
    if not name.strip():
        problem = problem or "name is required"
    if problem:
        raise ValidationFailed(problem)
    now = app.clock()
    async with app.uow() as uow:
        if await uow.agencies.get(agency_id) is None:
            raise NotFound("Agency not found")
        if await uow.staff.by_email_hash(app.keyring.lookup_hashes(address)) is not None:
            raise BadRequest("Someone with this email already has an account")
        row = Staff(
            id=uuid.uuid4(),
            agency_id=agency_id,
            email_hash=app.keyring.lookup_hash(address),
            email_enc=app.keyring.encrypt(address, field="staff.email"),
            name_enc=app.keyring.encrypt(name.strip(), field="staff.name"),
            role=role,
            password_hash=await hash_password(password),
            totp_enrolled=False,
            totp_step=0,
            created_at=now,
        )
        uow.staff.add(row)
        await uow.commit()
    return _member(app, row)


# -- argon2, off the event loop -------------------------------------------------------------

_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _gate() -> asyncio.Semaphore:
    """At most ``HASHING_AT_ONCE`` sign-in checks at a time in this process, from the
    count to the hash: a crowd of tries waits here, holding no database connection, so it
    cannot take the pool (or a row lock queue) from the API. One per event loop (a
    semaphore belongs to its loop, and tests run many)."""
    loop = asyncio.get_running_loop()
    if loop not in _gates:
        _gates[loop] = asyncio.Semaphore(HASHING_AT_ONCE)
    return _gates[loop]


@functools.cache
def _dummy() -> str:
    """A hash to check when there is nothing to check, so that takes as long. Made at
    first use (in a worker thread), not at import."""
    return HASHER.hash("not anyone's password, only here to take as long")


def _verify(hashed: str | None, password: str) -> bool:
    """Argon2's check; ``None`` checks the dummy and is never right."""
    try:
        return HASHER.verify(hashed or _dummy(), password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(hashed: str | None, password: str) -> bool:
    """In a worker thread: argon2 takes a core for a good part of a second, which on the
    event loop would stall every other request (inside ``_gate``)."""
    return await anyio.to_thread.run_sync(_verify, hashed, password)


async def hash_password(password: str) -> str:
    async with _gate():
        return await anyio.to_thread.run_sync(HASHER.hash, password)


# -- sign-in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Try:
    """Whose count a sign-in try is: keyed hashes of the typed email and the address."""

    account: str
    client: str


def _try_of(app: Warta, address: str, client: str | None) -> _Try:
    # The typed email's key, account or not: an unknown one is counted the same way.
    account = app.keyring.lookup_hash(f"staff sign-in {address}")
    return _Try(account, code_limits.client_key(app, client or "unknown"))


async def _reserve(app: Warta, counted: _Try) -> bool:
    """Count this try before checking it; False when a lock is on (nothing counted)."""
    async with app.uow() as uow:
        if not await uow.staff.reserve_try(counted.account, counted.client, LOCKOUT, app.clock()):
            return False
        await uow.commit()
    return True


async def _open_session(uow: UnitOfWork, row: Staff, stage: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    lasts = LASTS_FOR if stage == "full" else PENDING_FOR
    uow.staff.add(
        StaffSession(
            token_hash=_token_hash(token),
            staff_id=row.id,
            stage=stage,
            created_at=now,
            seen_at=now,
            expires_at=now + lasts,
        )
    )
    return token


async def check_password(
    app: Warta, email: str, password: str, client: str | None = None
) -> tuple[str, str]:
    """Step one: a session token and its stage (``password`` or ``enrol``). ``client``
    is the asking address. Every refusal is ``AuthError(WRONG, 401)``, after one argon2
    check, whatever the reason."""
    try:
        address = normalise_email(email)
    except InvalidInput:
        address = ""
    counted = _try_of(app, address, client)
    async with _gate():
        allowed = await _reserve(app, counted)
        async with app.uow() as uow:
            row = await uow.staff.by_email_hash(app.keyring.lookup_hashes(address))
        real = allowed and row is not None and row.removed_at is None
        right = await verify_password(row.password_hash if real and row else None, password)
    if not right:
        raise AuthError(WRONG, 401)
    assert row is not None
    rehashed = (
        await hash_password(password) if HASHER.check_needs_rehash(row.password_hash) else None
    )
    now = app.clock()
    async with app.uow() as uow:
        row = await uow.staff.get(row.id)
        assert row is not None
        await uow.staff.forgive_try(counted.account, counted.client)
        row.password_hash = rehashed or row.password_hash
        stage = "password" if row.totp_enrolled else "enrol"
        if not row.totp_enrolled and row.totp_secret_enc is None:
            secret = pyotp.random_base32()
            row.totp_secret_enc = app.keyring.encrypt(secret, field="staff.totp")
        token = await _open_session(uow, row, stage, now)
        await uow.commit()
    return token, stage


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str


async def enrolment(app: Warta, token: str) -> Enrolment:
    """What the set-up page shows: the secret, its otpauth URI and a QR code of it."""
    async with app.uow() as uow:
        held = await _session(uow, app, token, stages=("enrol",))
        row = await uow.staff.get(held.staff_id)
    assert row is not None and row.totp_secret_enc is not None
    secret = app.keyring.decrypt(row.totp_secret_enc, field="staff.totp")
    email = app.keyring.decrypt(row.email_enc, field="staff.email")
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4, title="TOTP QR")
    return Enrolment(secret=secret, uri=uri, qr_svg=svg)


async def check_code(app: Warta, token: str, code: str, client: str | None = None) -> str:
    """Step two: the TOTP code. Returns the new full session's token (the old one ends).
    A wrong code counts toward the same lockout as a wrong password; once it is on, the
    pending session ends and every code is refused, the right one too."""
    now = app.clock()
    async with app.uow() as uow:
        held = await _session(uow, app, token, stages=("password", "enrol"))
        row = await uow.staff.get(held.staff_id)
    assert row is not None and row.totp_secret_enc is not None
    address = app.keyring.decrypt(row.email_enc, field="staff.email")
    counted = _try_of(app, address, client)
    if not await _reserve(app, counted):
        await sign_out(app, token)
        raise AuthError(WRONG, 401)
    secret = app.keyring.decrypt(row.totp_secret_enc, field="staff.totp")
    step = _matching_step(secret, code.strip().replace(" ", ""), now)
    async with app.uow() as uow:
        if step is None or not await uow.staff.take_totp_step(row.id, step):
            raise AuthError(WRONG, 401)
        await uow.staff.forgive_try(counted.account, counted.client)
        # A new token at the privilege change, so one seen before sign-in is worthless.
        await uow.staff.end_session(held.token_hash)
        fresh = await _open_session(uow, row, "full", now)
        await uow.commit()
    return fresh


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step the code belongs to, allowing one step of clock drift either way."""
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def _session(
    uow: UnitOfWork, app: Warta, token: str, stages: tuple[str, ...]
) -> StaffSession:
    now = app.clock()
    held = await uow.staff.session_of(_token_hash(token)) if token else None
    if held is None or held.stage not in stages or now >= held.expires_at:
        raise AuthError("Sign in again: this session has ended", 401)
    if held.stage == "full" and now - held.seen_at > IDLE_FOR:
        raise AuthError("Sign in again: this session has ended", 401)
    return held


async def signed_in(app: Warta, token: str) -> Member | None:
    """The person behind a full session, or None; keeps an active session from idling out."""
    now = app.clock()
    async with app.uow() as uow:
        try:
            held = await _session(uow, app, token, stages=("full",))
        except AuthError:
            return None
        row = await uow.staff.get(held.staff_id)
        if row is None or row.removed_at is not None:
            return None
        if now - held.seen_at > timedelta(minutes=1):  # not a write on every page view
            held.seen_at = now
            await uow.commit()
    return _member(app, row)


async def sign_out(app: Warta, token: str) -> None:
    async with app.uow() as uow:
        await uow.staff.end_session(_token_hash(token))
        await uow.commit()


async def team(app: Warta, agency_id: uuid.UUID) -> list[Member]:
    async with app.uow() as uow:
        rows = await uow.staff.of_agency(agency_id)
    return [_member(app, row) for row in rows]


async def _colleague(uow: UnitOfWork, by: Member, staff_id: uuid.UUID) -> Staff:
    row = await uow.staff.get(staff_id)
    if row is None or row.agency_id != by.agency_id or row.removed_at is not None:
        raise NotFound("No such person in this team")
    return row


async def change_role(app: Warta, by: Member, staff_id: uuid.UUID, role: str) -> None:
    problem = rules.role_problem(role)
    if problem:
        raise ValidationFailed(problem)
    if staff_id == by.id:
        raise BadRequest("You cannot change your own role: ask another admin")
    async with app.uow() as uow:
        row = await _colleague(uow, by, staff_id)
        row.role = role
        await uow.staff.end_sessions_of(row.id)  # new rights from the next sign-in
        await uow.commit()


async def remove(app: Warta, by: Member, staff_id: uuid.UUID) -> None:
    """Removes the person from the team and ends their sessions at once."""
    if staff_id == by.id:
        raise BadRequest("You cannot remove yourself: ask another admin")
    async with app.uow() as uow:
        row = await _colleague(uow, by, staff_id)
        row.removed_at = app.clock()
        await uow.staff.end_sessions_of(row.id)
        await uow.commit()


async def reset_password(app: Warta, email: str, password: str, *, reset_totp: bool) -> Member:
    """For the CLI (an operator, or ``warta demo``): a new password, the lock lifted."""
    address = _email(email)
    problem = rules.password_problem(password, address)
    if problem:
        raise ValidationFailed(problem)
    hashed = await hash_password(password)
    async with app.uow() as uow:
        row = await uow.staff.by_email_hash(app.keyring.lookup_hashes(address))
        if row is None or row.removed_at is not None:
            raise NotFound("No staff account has this email")
        row.password_hash = hashed
        await uow.staff.forget_tries(_try_of(app, address, None).account)
        if reset_totp:
            row.totp_enrolled, row.totp_secret_enc, row.totp_step = False, None, 0
        await uow.staff.end_sessions_of(row.id)
        await uow.commit()
    return _member(app, row)
