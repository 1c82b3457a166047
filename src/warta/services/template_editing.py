"""The console's template editor: a draft previewed per channel as it would be sent,
saved as a new version, and two versions compared line by line.

Saving goes through ``services.admin`` (its rules for names, subjects and bodies); the
editor adds the one rule a person typing needs at once: an SMS body over Notify's
918-character cap is refused when saved, not when the first send fails.
"""

from __future__ import annotations

import difflib
import html
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from warta.deps import Warta
from warta.domain import sms
from warta.domain.email import body_html
from warta.domain.templates import TemplateKind, key, placeholders, render
from warta.errors import BadRequest, MessageTooLong, NotFound
from warta.services import admin, lookups
from warta.services.sending import MULTI, sender_of
from warta.store.models import Template, TemplateVersion

#: A placeholder in a preview is filled with its own name between these two private-use
#: characters, which neither markdown nor HTML escaping touch, so it can be shown as a
#: highlighted ``((name))`` wherever it lands.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKED = re.compile(f"{_OPEN}([^{_CLOSE}]*){_CLOSE}")


@dataclass(frozen=True)
class Draft:
    """Template text as typed into the form (or as one saved version holds it)."""

    kind: str
    name: str
    subject: str = ""
    body: str = ""
    sms_body: str = ""  # a multi-channel template's SMS part

    @classmethod
    def of(cls, kind: str, saved: Template | TemplateVersion) -> Draft:
        sms_body = json.loads(saved.channel_bodies or "{}").get("sms") or ""
        return cls(kind, saved.name, saved.subject or "", saved.body, sms_body)

    def for_kind(self, kind: str) -> Draft:
        """This draft as a ``kind`` template: fields that kind does not have are dropped
        (the form keeps them, hidden, while someone switches kinds)."""
        subject = "" if kind == "sms" else self.subject
        sms_body = self.sms_body if kind == MULTI else ""
        return Draft(kind, self.name, subject, self.body, sms_body)

    def parts(self) -> list[tuple[TemplateKind, str, str]]:
        """(channel, subject, body) of each channel this draft sends on."""
        if self.kind == "email":
            return [("email", self.subject, self.body)]
        if self.kind == "sms":
            return [("sms", "", self.body)]
        parts: list[tuple[TemplateKind, str, str]] = []
        if self.body.strip():
            parts.append(("email", self.subject, self.body))
        if self.sms_body.strip():
            parts.append(("sms", "", self.sms_body))
        return parts


@dataclass(frozen=True)
class ChannelPreview:
    """One channel as the recipient gets it, with each placeholder highlighted.

    ``subject_html`` and ``body_html`` are escaped HTML; ``sms`` counts the text as sent
    (look-alike characters already replaced), with placeholders as written.
    """

    channel: TemplateKind
    sender: str
    subject_html: str
    body_html: str
    sms: sms.SmsInfo | None = None
    too_long: bool = False  # over the 918-character cap: refused when saved or sent
    sanitised: bool = False  # look-alike characters will be replaced when sent
    literal_brackets: bool = False  # some "((" or "))" is not a placeholder: sent as typed


@dataclass(frozen=True)
class Preview:
    placeholders: list[str]
    channels: list[ChannelPreview]
    sms_limit: int = sms.MAX_SMS_CHARACTERS


def placeholder_names(draft: Draft) -> list[str]:
    """Every placeholder of the draft's channels, each once, in the order written."""
    seen: dict[str, str] = {}
    for _channel, subject, body in draft.parts():
        for name in placeholders(subject) + placeholders(body):
            seen.setdefault(key(name), name)
    return list(seen.values())


def _highlight(escaped: str) -> str:
    return _MARKED.sub(r'<mark class="placeholder">((\1))</mark>', escaped)


def _as_written(text: str) -> str:
    return _MARKED.sub(r"((\1))", text)


def _markers(names: Iterable[str]) -> dict[str, object]:
    return {name: f"{_OPEN}{name}{_CLOSE}" for name in names}


def _sms_text(body: str, markers: dict[str, object]) -> tuple[str, str]:
    """The SMS as typed (optional text shown) and as sent (look-alikes replaced)."""
    rendered = render(body, markers, channel="sms")
    return rendered, sms.sanitise(rendered)


def _sms_preview(sender: str, body: str, markers: dict[str, object]) -> ChannelPreview:
    rendered, sent = _sms_text(body, markers)
    counted = _as_written(sent)  # counted with each placeholder as written, as Notify does
    return ChannelPreview(
        channel="sms",
        sender=sender,
        subject_html="",
        body_html=_highlight(html.escape(sent)),
        sms=sms.describe(counted),
        too_long=len(counted) > sms.MAX_SMS_CHARACTERS,
        sanitised=sent != rendered,
        literal_brackets=_has_literal_brackets(rendered),
    )


def _email_preview(
    sender: str, subject: str, body: str, markers: dict[str, object]
) -> ChannelPreview:
    rendered_subject = " ".join(render(subject, markers, channel="sms").split())
    rendered = render(body, markers, channel="email")
    return ChannelPreview(
        channel="email",
        sender=sender,
        subject_html=_highlight(html.escape(rendered_subject)),
        body_html=_highlight(_under_h3(body_html(rendered))),
        literal_brackets=_has_literal_brackets(rendered_subject + rendered),
    )


_EMAIL_HEADING = re.compile(r"<(/?)h([12])\b")


def _under_h3(blocks: str) -> str:
    """An email's ``# heading`` is an <h1> in the email; in the preview it sits under the
    page's "Email" <h3>, so it becomes an <h4> (``##`` an <h5>), keeping one <h1> a page."""
    return _EMAIL_HEADING.sub(lambda m: f"<{m[1]}h{int(m[2]) + 3}", blocks)


def _has_literal_brackets(rendered: str) -> bool:
    return "((" in rendered or "))" in rendered


async def preview(app: Warta, agency_id: uuid.UUID, draft: Draft) -> Preview:
    """What each channel of ``draft`` would send, from this agency's sender."""
    names = placeholder_names(draft)
    markers = _markers(names)
    entry = await lookups.agency_and_keys(app, agency_id)
    if entry is None:
        raise NotFound("No agency with id %(agency_id)s", agency_id=agency_id)
    channels = [
        _sms_preview(sender_of(app, entry.agency, "sms"), body, markers)
        if channel == "sms"
        else _email_preview(sender_of(app, entry.agency, "email"), subject, body, markers)
        for channel, subject, body in draft.parts()
    ]
    return Preview(names, channels)


def _check_sms_length(draft: Draft) -> None:
    markers = _markers(placeholder_names(draft))
    for channel, _subject, body in draft.parts():
        if channel == "sms":
            try:
                sms.check_length(_as_written(_sms_text(body, markers)[1]))
            except MessageTooLong as exc:
                raise BadRequest(exc.msgid, field=exc.field, **exc.values) from exc


async def create(app: Warta, agency_id: uuid.UUID, draft: Draft) -> Template:
    draft = draft.for_kind(draft.kind)
    _check_sms_length(draft)
    return await admin.create_template(
        app,
        agency_id,
        kind=draft.kind,
        name=draft.name,
        subject=None if draft.kind == "sms" else draft.subject,
        body=draft.body,
        sms_body=draft.sms_body if draft.kind == MULTI else None,
    )


async def update(
    app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID, draft: Draft
) -> Template | None:
    """A new version of the template, or None when the draft changes nothing."""
    template, _versions = await history(app, agency_id, template_id)
    draft = draft.for_kind(template.type)
    if draft == Draft.of(template.type, template):
        return None
    _check_sms_length(draft)
    return await admin.update_template(
        app,
        agency_id,
        template_id,
        name=draft.name,
        subject=None if draft.kind == "sms" else draft.subject,  # None: keep (no) subject
        body=draft.body,
        sms_body=draft.sms_body if draft.kind == MULTI else None,
    )


async def history(
    app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID
) -> tuple[Template, list[TemplateVersion]]:
    """The template and its versions, newest first. Warta's own archived templates (the
    one-time code messages) are not the agency's to see or edit."""
    async with app.uow() as uow:
        template = await uow.templates.get(agency_id, template_id)
        if template is None or template.archived:
            raise NotFound("No template with id %(template_id)s", template_id=template_id)
        versions = await uow.templates.versions(template_id)
    return template, versions


async def templates(app: Warta, agency_id: uuid.UUID) -> list[Template]:
    async with app.uow() as uow:
        return list(await uow.templates.for_agency(agency_id, None))


# -- comparing versions --------------------------------------------------------------------

Change = Literal["same", "removed", "added"]


@dataclass(frozen=True)
class DiffLine:
    change: Change
    old_number: int | None
    new_number: int | None
    text: str


@dataclass(frozen=True)
class FieldDiff:
    field: str  # "Name", "Subject", "Message" or "SMS message" (English; the page translates)
    lines: list[DiffLine]


def diff_lines(old: str, new: str) -> list[DiffLine]:
    """Every line of both texts, in order, marked as kept, removed or added.

    >>> [(d.change, d.text) for d in diff_lines("Halo\\nJam 8", "Halo\\nJam 9")]
    [('same', 'Halo'), ('removed', 'Jam 8'), ('added', 'Jam 9')]
    """
    a, b = old.splitlines(), new.splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines += [
                DiffLine("same", i + 1, j + 1, a[i])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
            continue
        lines += [DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2)]
        lines += [DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2)]
    return lines


def compare(kind: str, old: TemplateVersion, new: TemplateVersion) -> list[FieldDiff]:
    """The fields that differ between two versions; empty when they are the same."""
    before, after = Draft.of(kind, old), Draft.of(kind, new)
    fields: Iterable[tuple[str, str, str]] = (
        ("Name", before.name, after.name),
        ("Subject", before.subject, after.subject),
        ("Message", before.body, after.body),
        ("SMS message", before.sms_body, after.sms_body),
    )
    return [FieldDiff(name, diff_lines(a, b)) for name, a, b in fields if a != b]
