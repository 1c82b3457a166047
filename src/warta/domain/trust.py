"""Who may read, add, change and remove each piece of a citizen's data: the registry's
trust model as a pure policy. ``docs/trust.md`` says it in prose; every rule here has a
row in ``tests/unit/test_trust.py``.

One citizen identity is shared by every agency, so the rules protect the citizen from any
one agency, including a hostile one holding only a test key:

- **An agency sees what it supplied; of the rest, only that it exists.** The agency that
  registered a citizen sees the name, region, zone and language it gave; an agency that
  linked to a known NIK sees the id and the masked NIK (``3273**********02``). Contacts
  it added are shown in clear; the citizen's own contacts masked (``+62812****7890``).
  Preferences are the citizen's: no agency reads them back.
- **Contacts have a scope.** ``citizen``: the citizen's own, used by every agency that
  knows the citizen, by the digest and escalation, and the ones that open the portal.
  ``<agency id>``: added and proven (by a code sent to that contact) by one agency, used
  by that agency alone until the citizen confirms it as their own (in the portal, with a
  code Warta sends to that contact: being signed in proves nothing about it). Until then
  the citizen sees it masked (``shown_to_citizen``). The one exception is the first own
  contact (``opens_portal``): a citizen with none signs in with one the registering
  agency proved, which thereby becomes theirs.
- **The inbox shows what reached the citizen's own contacts**: a message an agency sent
  to a contact only it may use is that agency's business with the person (perhaps not
  the person who signs in: a squatter) until the citizen makes the contact their own
  (a query: ``store/repositories/inbox.py``).
- **An agency changes only what it added and has not yet been confirmed**: it may send a
  new code to, or remove, its own agency-scoped contacts; never the citizen's own, never
  another agency's.
- **Preferences** are set by an agency only when it creates the citizen; afterwards only
  with the citizen present (a one-time code the citizen receives on one of their own
  contacts), or by the citizen themselves (portal, SMS keywords, chat).
- **Name, region, zone and language** are changed by the registering agency or the
  citizen; a linking agency's differing values are not written over the record.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

#: The scope of a contact that is the citizen's own.
CITIZEN: Final = "citizen"

Proof = Literal["code", "device", "chat-link", "portal", "import", "migrated"]
#: How a contact the citizen added themselves was proven: the act shows it is theirs (a
#: push subscription made in their signed-in browser, a Telegram link opened in their chat).
OWN_PROOFS: Final[frozenset[str]] = frozenset({"device", "chat-link", "portal"})


def scope_for(agency_id: uuid.UUID | None) -> str:
    """The scope a new contact gets: the citizen's own when the citizen added it, else the
    adding agency's alone.

    >>> scope_for(None)
    'citizen'
    """
    return CITIZEN if agency_id is None else str(agency_id)


def usable_by(scope: str, agency_id: uuid.UUID) -> bool:
    """May this agency send to a contact of this scope? Its own, and the citizen's."""
    return scope in (CITIZEN, str(agency_id))


def opens_portal(
    scope: str,
    *,
    added_by: uuid.UUID | None,
    registered_by: uuid.UUID | None,
    citizen_has_own: bool,
) -> bool:
    """May a code sent to this (verified, working) contact sign the citizen in?

    Their own contacts, always. And the *first own contact*: while the citizen has no own
    contact at all, one the registering agency added and proved (still its alone) opens
    the portal, and signing in with it makes it the citizen's own (proof ``portal``).
    Without that, a citizen an agency registers could never sign in: their contacts are
    all the agency's, and confirming one takes a signed-in citizen. The registrant is
    trusted that far already (it chose the NIK's first contacts); a linking agency is not:
    its contacts never open the portal, nor does any agency's once the citizen has their
    own (they confirm it in the portal instead).

    >>> A = uuid.UUID(int=1)
    >>> opens_portal(str(A), added_by=A, registered_by=A, citizen_has_own=False)
    True
    >>> opens_portal(str(A), added_by=A, registered_by=A, citizen_has_own=True)
    False
    """
    if scope == CITIZEN:
        return True
    return (
        not citizen_has_own
        and registered_by is not None
        and added_by == registered_by
        and scope == str(registered_by)
    )


def may_change_contact(scope: str, agency_id: uuid.UUID) -> bool:
    """May this agency send a new code to, or remove, this contact? Only one it added that
    the citizen has not yet confirmed as their own."""
    return scope == str(agency_id)


def shown_in_clear(added_by: uuid.UUID | None, agency_id: uuid.UUID) -> bool:
    """Is a contact's value shown to this agency, or masked? In clear only if it added it."""
    return added_by == agency_id


def shown_to_citizen(scope: str) -> bool:
    """Is a contact's value shown to the signed-in citizen (portal, data download) in
    clear, or masked? Their own only. An agency's contact is one it proved with someone at
    its counter, perhaps not the person signed in: a squatter who registered the NIK
    first, with their own phone, would otherwise read the real person's. Confirming it
    takes the code Warta sends to it, which only its holder reads; then it is shown.

    >>> shown_to_citizen("citizen"), shown_to_citizen(str(uuid.UUID(int=1)))
    (True, False)
    """
    return scope == CITIZEN


def may_edit_record(registered_by: uuid.UUID | None, agency_id: uuid.UUID) -> bool:
    """May this agency change the name, region, zone or language? The registering agency
    only; for a record made before registrants were kept (None), no agency."""
    return registered_by == agency_id


def sees_record(registered_by: uuid.UUID | None, agency_id: uuid.UUID) -> bool:
    """Are the name, region, zone and language shown to this agency? Only to the one that
    supplied them."""
    return registered_by == agency_id


def may_set_preferences(*, creating: bool, citizen_present: bool) -> bool:
    """May an agency set the citizen's preferences? When it creates the citizen, or with the
    citizen present (a code they received on their own contact)."""
    return creating or citizen_present


@dataclass(frozen=True, slots=True)
class ContactChoice:
    """One proven, live contact of a kind, as routing sees it."""

    id: uuid.UUID
    scope: str
    created_at_order: int  # older first, as the store lists them


def pick_contact(candidates: Sequence[ContactChoice], agency_id: uuid.UUID) -> ContactChoice | None:
    """The contact of one kind an agency's message goes to: one it added and proved itself
    first (the citizen at its counter gave it), else the citizen's own.

    A squatter who registered someone's NIK first with their own phone thus never receives
    the messages of an agency that proved the real person's number.
    """
    own = [c for c in candidates if c.scope == str(agency_id)]
    if own:
        return min(own, key=lambda c: c.created_at_order)
    theirs = [c for c in candidates if c.scope == CITIZEN]
    return min(theirs, key=lambda c: c.created_at_order) if theirs else None


def mask_nik(nik: str) -> str:
    """The NIK with its birth date and serial hidden: the region digits tell an officer
    which record it is without revealing the person.

    >>> mask_nik("3273014101900002")
    '3273**********02'
    """
    return nik[:4] + "*" * (len(nik) - 6) + nik[-2:]


def mask_contact(kind: str, value: str) -> str:
    """A contact shown without revealing it.

    >>> mask_contact("sms", "+6281234567890")
    '+62812****7890'
    >>> mask_contact("email", "budi.santoso@example.com")
    'b***@example.com'
    """
    if kind == "email" and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    prefix, _, rest = value.rpartition(":")  # chat: whatsapp:+62..., telegram:123...
    head = f"{prefix}:" if prefix else ""
    if len(rest) >= 12:  # a phone number: its operator prefix and last digits
        return head + rest[:6] + "****" + rest[-4:]
    if len(rest) >= 7:  # a chat id
        return head + rest[:2] + "****" + rest[-2:]
    return head + "*" * len(rest)


def sandbox_nik_key(agency_id: uuid.UUID, nik: str) -> str:
    """What a test key's citizen is found by: a NIK of that agency's sandbox only, so a
    test key can neither find a real citizen nor learn that a NIK is registered."""
    return f"sandbox:{agency_id}:{nik}"
