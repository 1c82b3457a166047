"""The limits every one-time code shares (portal sign-in, contact verification, the
citizen's presence at a counter): how many codes a contact and a client address may be
sent, and the lockout after wrong guesses. The rules and numbers are
``domain/limits.py``; the counts are ``CodeEvent`` rows, so every process and host on the
database shares them, and a restart forgets nothing.

Keys are keyed hashes (hex), never the value: ``contact_key`` of a normalised phone
number or address, which is the same as that contact's ``value_hash`` (so a sign-in code,
a verification code and a presence code to one contact count together, whether or not a
citizen has it: pass ``contact.value_hash`` when holding the row); ``client_key`` of a
client address and ``challenge_key`` of a sealed challenge, each namespaced.

In one unit of work, committed promptly (a guess, as the portal's ``verify`` does)::

    async with app.uow() as uow:
        if await code_limits.locked(app, uow, key_hash=key):
            raise BadRequest("The code is not right")  # no code is checked
        if not right(code):
            await code_limits.wrong_guess(app, uow, key_hash=key)
            await uow.commit()
            raise BadRequest("The code is not right")

``allow_code`` and ``locked`` hold their keys until the unit of work ends
(``CodeEventRepository.hold``), which makes check-then-record safe against requests at
once: call one of them once per unit of work.
Events are written with the caller's commit.
"""

from __future__ import annotations

from warta.deps import Warta
from warta.domain import limits
from warta.store.uow import UnitOfWork

_SPANS = sorted({a.within for a in (*limits.CODES_PER_CONTACT, *limits.CODES_PER_CLIENT)})


def contact_key(app: Warta, value: str) -> str:
    """The key of a normalised phone number or address (``+6281234567890``): its
    ``value_hash`` under the current key."""
    return app.keyring.lookup_hash(value)


def client_key(app: Warta, address: str) -> str:
    """The key of a client address (``203.0.113.7``; an IPv6 address counts by its /64):
    the address itself is never kept."""
    return app.keyring.lookup_hash(f"client {limits.client_network(address)}")


def challenge_key(app: Warta, challenge: str) -> str:
    """The key of a sealed challenge, for marking it used."""
    return app.keyring.lookup_hash(f"challenge {challenge}")


async def _hold(app: Warta, uow: UnitOfWork, keys: list[str]) -> None:
    await uow.code_events.hold(keys, older_than=app.clock() - limits.CODE_EVENTS_KEPT)


async def allow_code(
    app: Warta, uow: UnitOfWork, *, key_hash: str, client: str | None = None
) -> bool:
    """May a code go to this contact (and to this client address, if given)? When it may,
    a 'sent' event is recorded for both. A refused one records nothing: it cannot push
    the window further."""
    client_hash = client_key(app, client) if client else None
    keys = [key_hash] + ([client_hash] if client_hash else [])
    await _hold(app, uow, keys)
    now = app.clock()  # after the hold: what was recorded while it waited is in the past
    sent = await uow.code_events.sent_counts(keys, _SPANS, now)
    allowed = limits.may_send(sent[key_hash], limits.CODES_PER_CONTACT) and (
        client_hash is None or limits.may_send(sent[client_hash], limits.CODES_PER_CLIENT)
    )
    if allowed:
        for key in keys:
            uow.code_events.record(key, "sent", now)
    return allowed


async def locked(app: Warta, uow: UnitOfWork, *, key_hash: str) -> bool:
    """Too many wrong guesses at this contact's codes recently: check no code now, and
    answer as if it were wrong (the lockout must not tell a guesser anything)."""
    await _hold(app, uow, [key_hash])
    now = app.clock()
    since = now - limits.WRONG_CODES.within - limits.LOCKOUT
    return limits.locked_out(await uow.code_events.times(key_hash, "wrong", since), now)


async def wrong_guess(app: Warta, uow: UnitOfWork, *, key_hash: str) -> None:
    """A wrong code for this contact, whichever code it was a guess at."""
    uow.code_events.record(key_hash, "wrong", app.clock())


async def used(app: Warta, uow: UnitOfWork, *, key_hash: str) -> bool:
    """Was this challenge (``challenge_key``) used already? Ask after ``locked`` for its
    contact in the same unit of work: that hold makes two requests with one challenge go
    one after the other, so only the first finds it unused."""
    return await uow.code_events.happened(key_hash, "used")


async def mark_used(app: Warta, uow: UnitOfWork, *, key_hash: str) -> None:
    """This challenge signed in: it never will again."""
    uow.code_events.record(key_hash, "used", app.clock())


async def forget_old(app: Warta) -> int:
    """The sweeper's cleanup: delete events older than any limit looks at."""
    async with app.uow() as uow:
        dropped = await uow.code_events.delete_older_than(app.clock() - limits.CODE_EVENTS_KEPT)
        await uow.commit()
    return dropped
