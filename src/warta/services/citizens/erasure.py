"""Erasing a citizen ("Delete my data"; UU PDP art. 8 and 43): what identifies them is
deleted, not hidden, in one transaction, and then no copy is left in SQLite's files for
someone holding the disk and the key file to read back.

Deleted: the citizen row (NIK ciphertext and lookup hash, name, region, preferences),
every contact (phones, addresses, push subscriptions, chat handles: ciphertexts and
lookup hashes), relationships with agencies, topic subscriptions, consent records,
preference changes and opt-outs, unused Telegram link codes, and their portal sessions
(so every device they signed in on is signed out). The code limits kept by the keyed
hash of their own contacts go too: a hash plus the key file would confirm a guessed
number.

Kept, anonymised: each agency's notification rows (id, status, template, times, channel,
routing reasons, billing units), which the agency needs for its records and audit:
those sent to the citizen, and those sent straight to one of their contacts (the
one-time codes that verified them, any SMS or email to the address) unless another
citizen shares that contact (a family phone: then the row may be theirs). The recipient
becomes empty (ciphertext of "", lookup hash ""), the rendered message and the other
channels' text are deleted (personalisation itself was never stored), and the link to
the citizen is cut. The bounces and complaints about their email keep their kind and
day (the agency's health figures) and lose the address's lookup hash and diagnostic.
Messages not yet sent are cancelled first: nobody is left to send them to. Likewise the
texts the citizen sent from a phone of their own (confirmed, not shared): the agency
keeps that a text came, to which number and when; the sender and the words go.

Deleted too: their chatbot conversations (signed in, or from any of their contacts) with
every message.

Kept, anonymised: their cases (the agency's record, and the transparency figures): the
link to the citizen, the description, the place, the attribute answers, the citizen's
own replies and the photos (files and rows) go; the service, statuses, times and the
agency's own public messages stay.

Kept, untouched: an SMS opt-out (BERHENTI) is a keyed hash of the number per agency, not
tied to the citizen; erasing it would let that agency text the number again. What an
agency added and the citizen never confirmed as theirs (a phone proven at a counter
that may be someone else's) keeps its code limits: otherwise registering a NIK, adding a
phone and erasing, again and again, would send that phone codes without end.

Then the copies: every SQLite connection zeroes what it deletes (``secure_delete``), and
a truncating checkpoint empties the write-ahead log (``store/scrub.py``). If a long read
holds the log, the checkpoint stays owed (a ``pending_checkpoints`` row written with the
erasure, so a crash cannot lose it) and the sweeper pays it. PostgreSQL keeps dead tuples
and WAL beyond our reach: docs/trust.md says what its operator must do.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from warta.deps import Warta
from warta.domain import trust
from warta.errors import NotFound
from warta.services.cases import photos
from warta.services.inbound import CONTENT_FIELD, NUMBER_FIELD
from warta.store import scrub

log = logging.getLogger(__name__)

#: What an erased recipient, sender or text becomes: the row stays, the person does not.
ERASED = ""


async def erase(app: Warta, citizen_id: uuid.UUID) -> None:
    """Erase the citizen (see the module's docstring), then empty SQLite's log."""
    if not await _erase(app, citizen_id):
        raise NotFound("Citizen not found")
    await pay_checkpoints(app)


async def erase_again(app: Warta, citizen_ids: Iterable[uuid.UUID]) -> int:
    """Erase these citizens, skipping any no longer registered; how many were. After a
    backup is restored: those the log names as erased since it was taken."""
    erased = 0
    for citizen_id in citizen_ids:
        erased += await _erase(app, citizen_id)
    await pay_checkpoints(app)
    return erased


async def _erase(app: Warta, citizen_id: uuid.UUID) -> bool:
    now = app.clock()
    seal = app.keyring.encrypt
    async with app.uow() as uow:
        if not await uow.citizens.registered(citizen_id):
            return False
        contacts = await uow.citizens.contacts([citizen_id])
        mine = {c.value_hash for c in contacts}
        only_mine = mine - await uow.citizens.shared_with_others(citizen_id, mine)
        own = {c.value_hash for c in contacts if c.scope == trust.CITIZEN} & only_mine
        erased = seal(ERASED, field="notification.recipient")
        await uow.inbox.forget_citizen(citizen_id, only_mine, erased, ERASED, now)
        await uow.email_feedback.forget_addresses(only_mine)  # bounces keep their counts
        await uow.citizens.forget_texts_from(
            own, seal(ERASED, field=NUMBER_FIELD), seal(ERASED, field=CONTENT_FIELD)
        )
        await uow.citizens.forget_code_events(own)
        await uow.portal_sessions.end_all_of(citizen_id)  # the foreign key cascades too
        photo_files = await uow.cases.forget_citizen(citizen_id)
        chats = await uow.conversations.of_citizen(citizen_id, mine)
        await uow.conversations.forget(c.id for c in chats)
        await uow.citizens.delete_everything(citizen_id)
        uow.citizens.owe_checkpoint(now)
        await uow.commit()
    for path in photo_files:
        await photos.discard(app, path)
    log.info("citizen %s erased their data", citizen_id)
    return True


async def pay_checkpoints(app: Warta) -> bool:
    """Empty SQLite's write-ahead log if an erasure still owes it; True when nothing is
    owed any more. Called after each erasure and by the sweeper."""
    async with app.uow() as uow:
        owed = await uow.citizens.checkpoints_owed()
    if not owed:
        return True
    if not await scrub.checkpoint(app.engine):
        log.warning("write-ahead log busy: %d erasures wait for its checkpoint", len(owed))
        return False
    async with app.uow() as uow:
        await uow.citizens.checkpoints_made(owed)
        await uow.commit()
    return True
