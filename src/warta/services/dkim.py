"""DKIM keys: make one for an agency's sending domain (or Warta's own), list them, and
load the ones that sign (docs/email.md "DNS set-up: SPF, DKIM and DMARC").

A domain belongs to one owner: an agency, or Warta itself for ``WARTA_EMAIL_FROM_DOMAIN``
(agencies without a From address of their own send from it). Rotation is a new key under
a new selector: it signs at once, and the key it replaces signs beside it for
``overlap`` (7 days by default) so mail still verifies while the new DNS record is being
published; then the old key is retired. Its record should stay published a week longer,
since a relay may hold signed mail for up to five days before delivering it.

The private key is sealed with the keyring (field ``dkim.private_key``, re-sealed by
``warta keys rotate``); only the public key is readable in the database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from warta.deps import Warta
from warta.domain import dkim
from warta.domain.dkim import DkimRecord, SigningKey
from warta.errors import BadRequest, NotFound
from warta.security.crypto import DecryptionError
from warta.security.dkim_keys import new_key_pair
from warta.services.sending import sender_of
from warta.store.models import DkimKey

log = logging.getLogger(__name__)

FIELD = "dkim.private_key"
ROTATION_OVERLAP = timedelta(days=7)


@dataclass(frozen=True)
class MadeKey:
    record: DkimRecord
    #: What the operator should know: a From address at another domain, a key retired.
    notes: tuple[str, ...]


@dataclass(frozen=True)
class KeyInfo:
    record: DkimRecord
    agency_id: uuid.UUID | None
    created_at: datetime
    retired_at: datetime | None

    def signing(self, now: datetime) -> bool:
        return self.retired_at is None or self.retired_at > now


async def make_key(
    app: Warta,
    agency_id: uuid.UUID | None,
    domain: str | None,
    selector: str | None = None,
    overlap: timedelta = ROTATION_OVERLAP,
) -> MadeKey:
    """A new RSA 2048 key for ``domain`` owned by the agency (None: Warta; its domain by
    default), under ``selector`` (default ``warta`` + year and month)."""
    now = app.clock()
    from_domain = await _from_domain(app, agency_id)
    name = dkim.sending_domain(domain if domain is not None else from_domain)
    chosen = dkim.selector(selector) if selector is not None else dkim.default_selector(now)
    pair = await asyncio.to_thread(new_key_pair)  # ~0.1 s of CPU, off the event loop
    async with app.uow() as uow:
        existing = await uow.dkim_keys.of_domain(name)
        if any(k.agency_id != agency_id for k in existing):
            if existing[0].agency_id is None:
                raise BadRequest("DKIM keys for %(domain)s belong to Warta itself", domain=name)
            raise BadRequest("DKIM keys for %(domain)s belong to another agency", domain=name)
        if any(k.selector == chosen for k in existing):
            raise BadRequest(
                "The DKIM selector %(selector)s is taken for %(domain)s: choose another",
                selector=chosen,
                domain=name,
            )
        until = now + overlap
        replaced = [  # read before ``retire`` updates these rows in the session too
            (k.selector, min(k.retired_at or until, until))
            for k in existing
            if k.retired_at is None or k.retired_at > now
        ]
        await uow.dkim_keys.retire(name, until)
        uow.dkim_keys.add(
            DkimKey(
                id=uuid.uuid4(),
                agency_id=agency_id,
                domain=name,
                selector=chosen,
                private_key_enc=app.keyring.encrypt_bytes(pair.private_pem, field=FIELD),
                public_key=pair.public_key,
                created_at=now,
            )
        )
        await uow.commit()
    notes = [_rotation_note(old, chosen, name, end, now) for old, end in replaced]
    if from_domain != name:
        who = "Warta's own mail" if agency_id is None else "This agency's mail"
        notes.append(
            f"{who} is sent from @{from_domain}, and mail is signed with the key of its From "
            f"domain: this key signs nothing until the From address is at {name}"
        )
    return MadeKey(DkimRecord(chosen, name, pair.public_key), tuple(notes))


def _rotation_note(old: str, new: str, domain: str, until: datetime, now: datetime) -> str:
    keep = f"keep {old}._domainkey.{domain} published for a week after that"
    if until <= now:
        return f"The key {old} no longer signs: {keep}"
    return (
        f"The key {old} signs beside {new} until {until:%Y-%m-%d %H:%M} UTC: publish "
        f"{new}._domainkey.{domain} before then, and {keep}"
    )


async def list_keys(app: Warta, agency_id: uuid.UUID | None) -> list[KeyInfo]:
    """The owner's keys, retired ones too (their records may still need to be published)."""
    await _from_domain(app, agency_id)  # the agency exists
    async with app.uow() as uow:
        rows = await uow.dkim_keys.of_owner(agency_id)
    return [
        KeyInfo(
            DkimRecord(r.selector, r.domain, r.public_key), r.agency_id, r.created_at, r.retired_at
        )
        for r in rows
    ]


async def signing_keys(app: Warta) -> list[SigningKey]:
    """Every key that signs now, newest first: what ``channels.email_dkim`` loads."""
    async with app.uow() as uow:
        rows = await uow.dkim_keys.signing(app.clock())
    keys = []
    for row in rows:
        try:
            pem = app.keyring.decrypt_bytes(row.private_key_enc, field=FIELD)
        except DecryptionError as exc:  # sealed under a master key this process lacks
            log.error("the DKIM key %s of %s is skipped: %s", row.selector, row.domain, exc)
            continue
        keys.append(SigningKey(row.domain, row.selector, pem))
    return keys


async def _from_domain(app: Warta, agency_id: uuid.UUID | None) -> str:
    """The domain the owner's email is sent from now (IDNA, lower case)."""
    if agency_id is None:
        return dkim.sending_domain(app.settings.email_from_domain)
    async with app.uow() as uow:
        agency = await uow.agencies.get(agency_id)
    if agency is None:
        raise NotFound("No agency with id %(agency_id)s", agency_id=agency_id)
    found = dkim.address_domain(sender_of(app, agency, "email"))
    return found or dkim.sending_domain(app.settings.email_from_domain)
