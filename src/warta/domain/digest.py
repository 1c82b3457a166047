"""A citizen's digest: the low-priority messages waiting for their daily digest time,
gathered into one message per channel.

Pure: the pipeline (``pipeline/digests.py``) hands in each message's agency and rendered
text and sends what comes back. Bahasa Indonesia unless the citizen chose English.

* SMS: ``"Ringkasan Warta (3 pesan):\\n1) Dinas Uji: Pajak D 1234 XY ...\\n2) ..."``.
  A digest SMS keeps to Notify's cap (``sms.MAX_SMS_CHARACTERS``, 918 characters): when
  the messages do not fit in one, they are split, in order, into several digests, each
  a whole list of whole messages. Nothing is ever cut short: a message that fits in no
  digest with another goes as itself, as does the last one left over on its own.
* Email: one message, subject ``"Ringkasan pesan Anda hari ini (3)"``, each message
  under a heading naming its agency and subject, in a text and an HTML part. Email has
  no length cap worth splitting for.

A single message is never a "digest of one": it is sent exactly as the agency wrote it
(``sms_digests`` answers it as its own part; the caller sends a lone email as itself).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from warta.domain.email import STYLES, body_html, document
from warta.domain.sms import MAX_SMS_CHARACTERS
from warta.errors import InvalidInput

#: Phrases per language; any language Warta does not write in gets Indonesian.
_WORDS: Final[dict[str, dict[str, str]]] = {
    "id": {
        "sms_title": "Ringkasan Warta ({count} pesan):",
        "email_subject": "Ringkasan pesan Anda hari ini ({count})",
        "email_intro": "Pesan berprioritas rendah untuk Anda, dikumpulkan jadi satu sesuai "
        "pilihan Anda.",
    },
    "en": {
        "sms_title": "Warta digest ({count} messages):",
        "email_subject": "Your messages today ({count})",
        "email_intro": "Your low-priority messages, gathered into one as you chose.",
    },
}
_RULE: Final = "-" * 40


@dataclass(frozen=True)
class Item:
    """One message in a digest. ``text`` is the SMS text or the email's text part;
    ``subject`` and ``body`` (the markdown it was rendered from) are email only."""

    agency: str
    text: str
    subject: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class SmsPart:
    """One SMS to send: the items it carries (indexes into the input, in order) and its
    text. One item means the message goes as itself."""

    items: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class EmailDigest:
    subject: str
    text: str
    html: str


def _words(language: str) -> dict[str, str]:
    return _WORDS.get(language, _WORDS["id"])


def _line(agency: str) -> str:
    """An agency name on one line: a newline in it would break the numbered list."""
    return " ".join(agency.split())


def sms_text(items: Sequence[Item], *, language: str = "id") -> str:
    """The digest SMS for ``items`` (two or more), whatever its length.

    >>> sms_text([Item("Bapenda", "Pajak jatuh tempo."), Item("Samsat", "STNK siap.")])
    'Ringkasan Warta (2 pesan):\\n1) Bapenda: Pajak jatuh tempo.\\n2) Samsat: STNK siap.'
    """
    if len(items) < 2:
        raise InvalidInput("a digest gathers two messages or more")
    lines = [_words(language)["sms_title"].format(count=len(items))]
    lines += [f"{n}) {_line(item.agency)}: {item.text}" for n, item in enumerate(items, 1)]
    return "\n".join(lines)


def sms_digests(
    items: Sequence[Item], *, language: str = "id", limit: int = MAX_SMS_CHARACTERS
) -> list[SmsPart]:
    """Split ``items`` into as few SMS as a greedy pass in order allows, each at most
    ``limit`` characters (counted as Notify counts, in characters).

    In order, so the citizen reads them as they came; greedy, since an optimal packing
    would reorder messages to save a part or two. An item alone goes as its own text,
    even over ``limit`` (it was accepted so; cutting it here would lose words).
    """
    parts: list[list[int]] = []
    for index in range(len(items)):
        current = parts[-1] if parts else None
        if current is not None and _fits([*current, index], items, language, limit):
            current.append(index)
        else:
            parts.append([index])
    return [SmsPart(tuple(part), _sms(part, items, language)) for part in parts]


def _fits(indexes: list[int], items: Sequence[Item], language: str, limit: int) -> bool:
    return len(_sms(indexes, items, language)) <= limit


def _sms(indexes: list[int], items: Sequence[Item], language: str) -> str:
    if len(indexes) == 1:
        return items[indexes[0]].text
    return sms_text([items[i] for i in indexes], language=language)


def email_digest(items: Sequence[Item], *, language: str = "id") -> EmailDigest:
    """One email for ``items`` (two or more): a numbered heading per message naming its
    agency and subject, then its body; text and HTML parts say the same."""
    if len(items) < 2:
        raise InvalidInput("a digest gathers two messages or more")
    words = _words(language)
    subject = words["email_subject"].format(count=len(items))
    intro = words["email_intro"]
    headings = [_heading(n, item) for n, item in enumerate(items, 1)]
    text_blocks = [intro]
    html_blocks = [f"<p{_style('p')}>{html.escape(intro)}</p>\n"]
    for heading, item in zip(headings, items, strict=True):
        text_blocks += [_RULE, f"{heading}\n\n{item.text}"]
        html_blocks.append(f"<hr{_style('hr')}>\n<h2{_style('h2')}>{html.escape(heading)}</h2>\n")
        html_blocks.append(
            body_html(item.body)
            if item.body is not None
            else f"<p{_style('p')}>{html.escape(item.text)}</p>\n"
        )
    return EmailDigest(
        subject=subject,
        text="\n\n".join(text_blocks),
        html=document(subject, "".join(html_blocks), lang=language if language in _WORDS else "id"),
    )


def _heading(number: int, item: Item) -> str:
    subject = " ".join((item.subject or "").split())
    return f"{number}) {_line(item.agency)}" + (f": {subject}" if subject else "")


def _style(tag: str) -> str:
    return f' style="{STYLES[tag]}"'
