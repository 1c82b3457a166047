"""Mail to the bounce domain: the Return-Path each email leaves with, and what comes back
to it (bounces and complaints to record, one-click unsubscribe mailtos to honour).

The listener (``warta.channels.bounce_listener``) asks ``accepts`` at RCPT TO and hands
each message to ``receive``; ``receive`` returning means the message is taken (250), and
raising means the sender keeps it and retries (451). So ``receive`` raises only when
recording failed, never for a message it cannot read: that one is dropped, as a retry
would read no better.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from warta.deps import Warta
from warta.domain import bounces
from warta.services import email_feedback, unsubscribe

log = logging.getLogger(__name__)


def return_path(app: Warta, notification_id: str | uuid.UUID) -> str | None:
    """The envelope sender of a notification's email (VERP), or None without a bounce
    domain (bounces then go to the From address)."""
    domain = app.settings.effective_bounce_domain
    if not domain:
        return None
    named = (
        notification_id if isinstance(notification_id, uuid.UUID) else uuid.UUID(notification_id)
    )
    return bounces.verp_address(named, app.keyring.lookup_hash, domain)


def recipient(app: Warta, address: str) -> bounces.Recipient:
    """What an address at the listener is (a VERP MAC made under any key still held)."""
    return bounces.recipient(
        address, app.keyring.lookup_hashes, app.settings.effective_bounce_domain
    )


def accepts(app: Warta, address: str) -> bool:
    return recipient(app, address).kind != "refused"


async def receive(app: Warta, recipients: Sequence[str], raw: bytes) -> None:
    """Honour the unsubscribe mailtos among ``recipients``; if any other recipient is
    left, read the message as a report and record what it says."""
    named: uuid.UUID | None = None
    reports = False
    for address in recipients:
        found = recipient(app, address)
        if found.kind == "unsubscribe" and found.notification_id is not None:
            if not await unsubscribe.unsubscribe_notification(app, found.notification_id):
                log.info("an unsubscribe mailto for a notification no longer kept: dropped")
        elif found.kind in ("bounce", "mailbox"):
            reports = True
            named = named or found.notification_id
    if not reports:
        return
    try:
        feedback = bounces.read_report(raw, named)
    except Exception:  # hostile or broken MIME: reading it again would fail again
        log.warning("unreadable mail to the bounce domain: dropped", exc_info=True)
        return
    if feedback is None:
        log.info("mail to the bounce domain that is no bounce or complaint: dropped")
        return
    outcome = await email_feedback.record(app, feedback)
    log.info("%s %s (%s) read: %s", feedback.kind, feedback.status or "report", named, outcome)
