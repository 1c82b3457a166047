"""Agency staff: accounts, sign-in with a password and a TOTP code, sessions, the team.

Sign-in is two steps on one server-side session: the password (argon2) opens a session
at stage ``password`` (or ``enrol`` for someone with no authenticator yet); the TOTP code
(RFC 6238, +-1 step, each step usable once) makes it ``full``. Every wrong password or
code counts toward the lockout in ``domain.staff``; a wrong email answers exactly as a
wrong password does and takes as long (argon2 is run on a dummy hash), so the form does
not reveal who has an account.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from warta.deps import Warta
from warta.domain import staff as rules
from warta.domain.recipients import validate_email
from warta.errors import AuthError, BadRequest, InvalidInput, NotFound, ValidationFailed
from warta.store.models import Staff, StaffSession
from warta.store.uow import UnitOfWork

HASHER = PasswordHasher()
_DUMMY = HASHER.hash("not anyone's password, only here to take as long")
LOCKOUT = rules.Lockout()
PENDING_FOR = timedelta(minutes=10)  # from the password to the code
IDLE_FOR = timedelta(hours=1)
LASTS_FOR = timedelta(hours=12)
ISSUER = "Warta"
WRONG = "The email, password or code is not right"
LOCKED = "Too many wrong tries: this account is locked for 15 minutes"


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
            password_hash=HASHER.hash(password),
            totp_enrolled=False,
            totp_step=0,
            failures=0,
            created_at=now,
        )
        uow.staff.add(row)
        await uow.commit()
    return _member(app, row)


async def _fail(uow: UnitOfWork, row: Staff, now: datetime) -> None:
    row.failures, locked_until = LOCKOUT.after_failure(row.failures, now)
    if locked_until is not None:
        row.locked_until = locked_until
        await uow.staff.end_sessions_of(row.id)
    await uow.commit()


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


async def check_password(app: Warta, email: str, password: str) -> tuple[str, str]:
    """Step one: a session token and its stage (``password`` or ``enrol``)."""
    now = app.clock()
    try:
        address = normalise_email(email)
    except InvalidInput:
        address = ""
    async with app.uow() as uow:
        row = await uow.staff.by_email_hash(app.keyring.lookup_hashes(address)) if address else None
        if row is None or row.removed_at is not None:
            _verify(_DUMMY, password)
            raise AuthError(WRONG, 401)
        if LOCKOUT.locked(row.locked_until, now):
            raise AuthError(LOCKED, 429)
        if not _verify(row.password_hash, password):
            await _fail(uow, row, now)
            raise AuthError(LOCKED if LOCKOUT.locked(row.locked_until, now) else WRONG, 401)
        if HASHER.check_needs_rehash(row.password_hash):
            row.password_hash = HASHER.hash(password)
        row.failures = 0
        stage = "password" if row.totp_enrolled else "enrol"
        if not row.totp_enrolled and row.totp_secret_enc is None:
            secret = pyotp.random_base32()
            row.totp_secret_enc = app.keyring.encrypt(secret, field="staff.totp")
        token = await _open_session(uow, row, stage, now)
        await uow.commit()
    return token, stage


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


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


async def check_code(app: Warta, token: str, code: str) -> str:
    """Step two: the TOTP code. Returns the new full session's token (the old one ends)."""
    now = app.clock()
    async with app.uow() as uow:
        held = await _session(uow, app, token, stages=("password", "enrol"))
        row = await uow.staff.get(held.staff_id)
        assert row is not None and row.totp_secret_enc is not None
        if LOCKOUT.locked(row.locked_until, now):
            raise AuthError(LOCKED, 429)
        secret = app.keyring.decrypt(row.totp_secret_enc, field="staff.totp")
        step = _matching_step(secret, code.strip().replace(" ", ""), now)
        if step is None or step <= row.totp_step:
            await _fail(uow, row, now)
            raise AuthError(LOCKED if LOCKOUT.locked(row.locked_until, now) else WRONG, 401)
        row.totp_step, row.failures, row.totp_enrolled = step, 0, True
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
    async with app.uow() as uow:
        row = await uow.staff.by_email_hash(app.keyring.lookup_hashes(address))
        if row is None or row.removed_at is not None:
            raise NotFound("No staff account has this email")
        row.password_hash = HASHER.hash(password)
        row.failures, row.locked_until = 0, None
        if reset_totp:
            row.totp_enrolled, row.totp_secret_enc, row.totp_step = False, None, 0
        await uow.staff.end_sessions_of(row.id)
        await uow.commit()
    return _member(app, row)
