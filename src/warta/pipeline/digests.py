"""A citizen's digest in the pipeline: the rows routing held for the daily digest go as
one message per channel when they fall due.

How it fits the delivery task (``pipeline/delivery.py``):

1. ``claim_companions``: when a claimed batch holds a digest row (the ``digest`` column:
   routing's latest decision for it was ``digest``), the worker also claims the same
   citizen's other due digest rows on that channel, so a batch boundary (``batch_size``
   1, or the sweeper's limit) never splits a digest. Rows another worker holds are
   skipped: that worker sends them, in a digest of its own.
2. The last routing look runs on all of them as usual; what it holds back stays out.
3. ``plan`` groups what is left by (citizen, channel, address) and builds each group's
   text with the pure ``domain/digest.py``. One row of each digest is its *carrier*:
   the channel sends the combined message once, as that row. The other rows are its
   *members*: ``follow`` gives them the carrier's outcome and ``digest_of`` pointing at
   it, so they succeed, retry, fail and escalate exactly as the carrier does, each with
   its own agency callback. A receipt for the carrier settles its members too
   (``services/receipts.settle``).

Each row keeps its own content, so ``GET /v2/notifications/{id}`` still shows each
agency its own message; its routing explanation gains a line saying it went in the
digest (never which other agencies' messages were with it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from warta.deps import Warta
from warta.domain import digest
from warta.domain.channels import OutboundMessage
from warta.services import bounce_mail, content
from warta.services.sending import platform_sender
from warta.store.attempts import AttemptChanges
from warta.store.repositories import ClaimedRow
from warta.store.uow import UnitOfWork

#: Channels whose messages are gathered; push and chat will have their own inboxes.
GATHERED = frozenset({"sms", "email"})


@dataclass(frozen=True)
class Digest:
    carrier: ClaimedRow
    members: tuple[ClaimedRow, ...]
    message: OutboundMessage


def waiting(row: ClaimedRow) -> bool:
    """A row routed to the citizen's digest, to be sent with the others."""
    return bool(
        row.digest and row.citizen_id is not None and not row.simulate and row.type in GATHERED
    )


async def claim_companions(
    uow: UnitOfWork, rows: Sequence[ClaimedRow], now: Any, lease_until: Any, owner: str | None
) -> list[ClaimedRow]:
    """The due digest rows of the batch's digest citizens that the batch does not hold."""
    pairs = {(r.citizen_id, r.type) for r in rows if waiting(r)}
    if not pairs:
        return []
    found = await uow.notifications.claim_digest_due(
        pairs, besides=[r.id for r in rows], now=now, lease_until=lease_until, owner=owner
    )
    return list(found)


async def plan(
    app: Warta,
    uow: UnitOfWork,
    rows: Iterable[ClaimedRow],
    shared: dict[uuid.UUID, content.ChannelContents],
) -> list[Digest]:
    """The digests to send among ``rows`` (claimed, still to be sent now). Rows in no
    digest (alone in their group, or alone in an SMS part) are sent as usual."""
    groups: dict[tuple[Any, ...], list[ClaimedRow]] = {}
    for row in rows:
        if waiting(row):
            # The address too: a row keeps the contact it was routed to, and a member
            # must be delivered where its own row says (a contact may have changed).
            key = (row.citizen_id, row.type, row.recipient_hash)
            groups.setdefault(key, []).append(row)
    groups = {k: g for k, g in groups.items() if len(g) > 1}
    if not groups:
        return []
    languages = await uow.citizens.digest_languages({k[0] for k in groups})
    digests: list[Digest] = []
    for (citizen_id, channel, _), group in groups.items():
        if citizen_id not in languages:  # the citizen turned the digest off meanwhile
            continue
        group.sort(key=lambda r: (r.created_at, r.id))
        items = [await _item(app, uow, row, shared) for row in group]
        language = languages[citizen_id]
        if channel == "sms":
            for part in digest.sms_digests(items, language=language):
                if len(part.items) > 1:
                    carried = [group[i] for i in part.items]
                    digests.append(_digest(app, carried, part.text))
        else:
            mail = digest.email_digest(items, language=language)
            digests.append(_digest(app, group, mail.text, mail.subject, mail.html))
    return digests


async def _item(
    app: Warta,
    uow: UnitOfWork,
    row: ClaimedRow,
    shared: dict[uuid.UUID, content.ChannelContents],
) -> digest.Item:
    if row.content_enc is not None:
        sealed = content.unseal(app.keyring, row.content_enc)
    else:  # a broadcast's row: the content is the broadcast's, per channel
        sealed = shared[row.broadcast_id][row.type]
    agency = await uow.agencies.get(row.agency_id)  # the session's identity map: one read
    return digest.Item(
        agency=agency.name if agency is not None else "",
        text=sealed.get("text") or sealed.get("body") or "",
        subject=sealed.get("subject"),
        body=sealed.get("body") if row.type == "email" else None,
    )


def _digest(
    app: Warta,
    rows: Sequence[ClaimedRow],
    body: str,
    subject: str | None = None,
    html: str | None = None,
) -> Digest:
    carrier = rows[0]
    # One agency's messages come from that agency's sender. Messages of several agencies
    # come from the platform's default sender (``sending.platform_sender``: "WARTA", and
    # warta@ the email domain): one agency's name on another's message would mislead the
    # citizen, and a reply to it belongs to no single agency.
    if len({r.agency_id for r in rows}) == 1:
        sender = carrier.sender or ""
    else:
        sender = platform_sender(app, carrier.type)
    message = OutboundMessage(
        notification_id=str(carrier.id),
        attempt=carrier.attempts,
        channel=carrier.type,
        to=app.keyring.decrypt(carrier.recipient_enc, field="notification.recipient"),
        sender=sender,
        body=body,
        subject=subject,
        html=html,
        # A bounce names the carrier; email_feedback fails the digest's rows with it.
        return_path=bounce_mail.return_path(app, carrier.id) if carrier.type == "email" else None,
    )
    return Digest(carrier, tuple(rows[1:]), message)


def carried(digest_: Digest, changes: AttemptChanges) -> AttemptChanges:
    """The carrier's own outcome, marked as a digest's."""
    return replace(changes, digest_of=None, routing=_explained(digest_.carrier))


def follow(digest_: Digest, member: ClaimedRow, changes: AttemptChanges) -> AttemptChanges:
    """A member's outcome: the carrier's, pointing at the carrier."""
    return replace(changes, id=member.id, digest_of=digest_.carrier.id, routing=_explained(member))


def _explained(row: ClaimedRow) -> str | None:
    """The row's routing explanation, with the line that says it went in the digest."""
    if row.routing is None:
        return None
    decided = json.loads(row.routing)
    line = f"sent in the citizen's digest: one {row.type} with their other waiting messages"
    if line not in decided.get("reasons", []):
        decided["reasons"] = [*decided.get("reasons", []), line]
    decided["digest"] = True
    return json.dumps(decided, ensure_ascii=False)
