"""Telling the citizen that an agency added a contact to their record, on every contact
of their own, with how to refuse it (the portal's contacts page).

Sent by Warta itself, straight through the channels like a portal sign-in code, and not
as a notification of the agency that added the contact: an agency reads back its
notifications with their recipients, and this one goes to the citizen's own phone and
address, which that agency must not learn (``domain/trust.py``). Urgent: it ignores quiet
hours, since a contact the citizen does not know of may be someone else's.

The same limits as one-time codes bound how often one agency can make Warta write to a
citizen this way: adding and removing contacts in a loop would otherwise text them without
end (``code_limits``, keyed by the citizen and the agency, so one agency's abuse never
stops another's additions).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from warta.deps import Warta
from warta.domain import trust
from warta.domain.channels import ChannelName, OutboundMessage, is_channel
from warta.domain.email import render_email
from warta.errors import DeliveryError, RateLimited
from warta.services import code_limits
from warta.services.sending import PLATFORM_SMS_SENDER
from warta.store.models import Citizen, CitizenContact
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

TOO_MANY = "Too many contacts added for this citizen: try again later"
#: (subject, text): the text is short enough for one or two SMS parts.
TEXT = {
    "id": (
        "Kontak baru di data Warta Anda",
        "Warta: {agency} menambahkan {contacts} ke data Anda. Bukan milik Anda? Tolak di {url}",
    ),
    "en": (
        "A new contact on your Warta record",
        "Warta: {agency} added {contacts} to your record. Not yours? Refuse it at {url}",
    ),
}


def own_and_live(contact: CitizenContact) -> bool:
    """One of the citizen's own contacts that is proven and working."""
    return (
        contact.scope == trust.CITIZEN
        and contact.verified_at is not None
        and contact.gone_at is None
    )


@dataclass(frozen=True)
class Notice:
    """What to tell the citizen, and on which of their contacts (kind, value)."""

    language: str
    to: tuple[tuple[str, str], ...]
    agency: str
    added: tuple[str, ...]  # masked, as the citizen sees them

    @classmethod
    def of(
        cls,
        app: Warta,
        citizen: Citizen,
        contacts: Iterable[CitizenContact],
        agency: str,
        added: Iterable[tuple[str, str]],
    ) -> Notice | None:
        """The notice for ``added`` (kind, value), or None when there is nothing to say or
        nobody to tell (a new citizen, a sandbox one: no contact of their own)."""
        shown = tuple(trust.mask_contact(kind, value) for kind, value in added)
        decrypt = app.keyring.decrypt
        to = tuple(
            (c.kind, decrypt(c.value_enc, field="contact.value"))
            for c in contacts
            if own_and_live(c)
        )
        if not shown or not to:
            return None
        return cls(citizen.language, to, agency, shown)


async def allow_notice(
    app: Warta, uow: UnitOfWork, citizen_id: uuid.UUID, agency_id: uuid.UUID
) -> None:
    """Count one notice from this agency to this citizen; RateLimited (429) when it has
    made too many lately, and then nothing may be added."""
    key = app.keyring.lookup_hash(f"contact notice {citizen_id} {agency_id}")
    if not await code_limits.allow_code(app, uow, key_hash=key):
        raise RateLimited(TOO_MANY)


async def tell_citizen(app: Warta, notice: Notice) -> None:
    """Send the notice on each of the citizen's own contacts Warta can reach. A failure is
    logged, not retried: the portal's contacts page shows the contact all the same."""
    subject, text = TEXT.get(notice.language, TEXT["id"])
    body = text.format(
        agency=notice.agency,
        contacts=", ".join(notice.added),
        url=f"{app.settings.public_url.rstrip('/')}/portal/contacts",
    )
    for kind, to in notice.to:
        if not is_channel(kind) or kind not in app.channels:
            continue
        message = platform_message(app, kind, to, subject, body, notice.language)
        try:
            await app.channels[kind].send(message)
        except DeliveryError as exc:
            log.warning("contact notice not sent by %s (%s)", kind, type(exc).__name__)


def platform_message(
    app: Warta, kind: ChannelName, to: str, subject: str, body: str, language: str
) -> OutboundMessage:
    """An urgent message from Warta itself (not an agency) to one of the citizen's own
    contacts: from ``WARTA`` by SMS, warta@ by email, "Warta" on push and chat."""
    # A fresh id, not a row's: it is not a notification (see the module's docstring).
    plain = OutboundMessage(str(uuid.uuid4()), 1, kind, to, PLATFORM_SMS_SENDER, body, urgent=True)
    if kind == "email":
        email = render_email(subject, body, lang=language)
        return OutboundMessage(
            plain.notification_id, 1, kind, to, f"warta@{app.settings.email_from_domain}",
            email.text, subject=email.subject, html=email.html, urgent=True,
        )  # fmt: skip
    if kind in ("push", "chat"):
        url = f"{app.settings.public_url.rstrip('/')}/portal/contacts"
        return OutboundMessage(
            plain.notification_id, 1, kind, to, "Warta", body, subject=subject, url=url,
            urgent=True,
        )  # fmt: skip
    return plain
