"""What the console reports about an agency's notifications: counts per channel and day
for the dashboard, a search over its notifications, and one notification with its attempts.

Days are Jakarta (WIB) days, the agency's working day. Counts use Notify's status groups:
``sending`` (accepted, not yet settled), ``delivered`` and ``failed`` (permanent,
temporary and technical failures together); a citizen's message counts once per attempt,
on that attempt's channel. Test-key sends are simulated and cancelled ones never went
out, so neither counts toward what was sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from warta.deps import Warta
from warta.domain import statuses
from warta.domain.regions import ZONES
from warta.errors import NotFound, ValidationFailed
from warta.services import content, notification_status
from warta.services.attempts import shared_contents
from warta.services.sending import normalise_recipient
from warta.store.models import Notification
from warta.store.repositories import STATUS_ALIASES

WIB = ZoneInfo(ZONES["WIB"])
CHANNELS = ("email", "sms", "push", "chat")
SPANS = (7, 30)
PAGE_SIZE = 50
GROUP_OF = {
    statuses.CREATED: "sending",
    statuses.SENDING: "sending",
    statuses.PENDING: "sending",
    statuses.DELIVERED: "delivered",
    statuses.PERMANENT_FAILURE: "failed",
    statuses.TEMPORARY_FAILURE: "failed",
    statuses.TECHNICAL_FAILURE: "failed",
    statuses.CANCELLED: "cancelled",
}
BAD_SPAN = "Show 7 or 30 days"
BAD_RECIPIENT = "Search by a whole phone number or email address"
BAD_FILTER = "Choose a status, channel and template from the lists"


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    sending: int = 0

    @property
    def sent(self) -> int:
        return self.delivered + self.failed + self.sending

    def add(self, other: Tally) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.sending += other.sending


@dataclass
class Dashboard:
    days: list[date]  # oldest first, WIB
    by_channel: dict[str, list[Tally]]  # one tally per day, in ``days`` order
    cancelled: int = 0

    def total(self, channel: str) -> Tally:
        summed = Tally()
        for tally in self.by_channel[channel]:
            summed.add(tally)
        return summed

    @property
    def grand_total(self) -> Tally:
        summed = Tally()
        for channel in self.by_channel:
            summed.add(self.total(channel))
        return summed


def day_bounds(now: datetime, days: int) -> list[datetime]:
    """The WIB midnights around the last ``days`` days (today included), in order.

    >>> from datetime import UTC
    >>> [b.isoformat() for b in day_bounds(datetime(2026, 12, 1, 18, tzinfo=UTC), 1)]
    ['2026-12-02T00:00:00+07:00', '2026-12-03T00:00:00+07:00']
    """
    first = now.astimezone(WIB).date() - timedelta(days=days - 1)
    return [datetime.combine(first + timedelta(days=i), time(), WIB) for i in range(days + 1)]


async def dashboard(app: Warta, agency_id: uuid.UUID, days: int) -> Dashboard:
    """Counted in one query (``NotificationRepository.daily_counts``) by WIB day."""
    if days not in SPANS:
        raise ValidationFailed(BAD_SPAN)
    bounds = day_bounds(app.clock(), days)
    report = Dashboard(
        days=[b.date() for b in bounds[:-1]],
        by_channel={c: [Tally() for _ in range(days)] for c in CHANNELS},
    )
    async with app.uow() as uow:
        counted = await uow.notifications.daily_counts(agency_id, bounds)
    for channel, status, index, count in counted:
        group = GROUP_OF.get(status, "sending")
        if group == "cancelled":
            report.cancelled += count
        elif channel in report.by_channel:
            tally = report.by_channel[channel][index]
            setattr(tally, group, getattr(tally, group) + count)
    return report


@dataclass(frozen=True)
class Search:
    """What the notifications page filters by; empty means any."""

    recipient: str = ""
    reference: str = ""
    template_id: str = ""
    status: str = ""  # a status, or the group "failed" / "sending"
    channel: str = ""
    older_than: uuid.UUID | None = None


@dataclass
class Found:
    rows: Sequence[Notification]
    template_names: dict[uuid.UUID, str]
    older: uuid.UUID | None  # the next page's cursor, when there are older matches
    recipients: dict[uuid.UUID, str | None] = field(default_factory=dict)


def _recipient_hashes(app: Warta, raw: str) -> list[str]:
    """The keyed hashes to look a recipient up by: stored recipients are encrypted, and
    hashed after the same normalisation a send applies (so 0812-... finds +62812...)."""
    raw = raw.strip()
    channel = "email" if "@" in raw else "chat" if raw.startswith("whatsapp:") else "sms"
    try:
        return app.keyring.lookup_hashes(normalise_recipient(channel, raw))
    except ValidationFailed as exc:
        raise ValidationFailed(BAD_RECIPIENT) from exc


def _template_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError as exc:
        raise ValidationFailed(BAD_FILTER) from exc


async def search(app: Warta, agency_id: uuid.UUID, wanted: Search) -> Found:
    """Newest first, a page at a time; ``older_than`` is the last id of the page before."""
    if wanted.status and wanted.status not in statuses.FILTERS | STATUS_ALIASES.keys():
        raise ValidationFailed(BAD_FILTER)
    if wanted.channel and wanted.channel not in CHANNELS:
        raise ValidationFailed(BAD_FILTER)
    hashes = _recipient_hashes(app, wanted.recipient) if wanted.recipient.strip() else None
    template_id = _template_id(wanted.template_id)
    async with app.uow() as uow:
        anchor = None
        if wanted.older_than is not None:
            anchor = await uow.notifications.get(agency_id, wanted.older_than)
            if anchor is None:
                raise NotFound()
        rows = await uow.notifications.search(
            agency_id,
            recipient_hashes=hashes,
            reference=wanted.reference.strip() or None,
            template_id=template_id,
            status=wanted.status or None,
            channel=wanted.channel or None,
            older_than=anchor,
            limit=PAGE_SIZE + 1,
        )
        names = await uow.templates.names({r.template_id for r in rows})
        clear = await notification_status.in_clear(uow, agency_id, rows)
    page = rows[:PAGE_SIZE]
    older = page[-1].id if len(rows) > PAGE_SIZE else None
    if hashes is not None:
        # A message to a citizen matches a searched address only if this agency may read
        # that contact in clear: else searching a guessed phone would confirm it is theirs.
        page = [r for r in page if notification_status.readable_in_clear(r, clear)]
    return Found(page, names, older, notification_status.recipients(app, page, clear))


@dataclass(frozen=True)
class Detail:
    """One notification as ``GET /v2/notifications/{id}`` reads it: the row, every attempt
    of its message (a send to a citizen), and broadcasts' shared content."""

    row: Notification
    attempts: Sequence[Notification]
    shared: dict[uuid.UUID, content.ChannelContents]
    template_name: str
    recipients: dict[uuid.UUID, str | None]
    clear: notification_status.InClear  # the citizens' contacts the agency reads in clear


async def detail(app: Warta, agency_id: uuid.UUID, notification_id: uuid.UUID) -> Detail:
    async with app.uow() as uow:
        row = await uow.notifications.get(agency_id, notification_id)
        if row is None:
            raise NotFound()
        attempts = await uow.notifications.attempts(row.message_id) if row.message_id else []
        shared = await shared_contents(app, uow, [row, *attempts])
        names = await uow.templates.names({row.template_id})
        clear = await notification_status.in_clear(uow, agency_id, [row, *attempts])
    recipients = notification_status.recipients(app, [row, *attempts], clear)
    return Detail(row, attempts, shared, names.get(row.template_id, ""), recipients, clear)
