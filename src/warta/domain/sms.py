"""How an SMS is encoded, counted, split into parts, capped and cleaned.

An SMS carries 140 bytes. If every character is in the GSM 03.38 alphabet the message
is sent as GSM-7 (160 septets, 153 per part once a concatenation header is needed);
otherwise the whole message goes as UCS-2 (70 UTF-16 code units, 67 per part). One
stray character decides: ``"Vaksin gratis!"`` is one GSM-7 part, but ``"Vaksin gratis 💉"``
is UCS-2, and a 100-character Indonesian message containing a curly quote ``’`` pasted
from a word processor costs two parts instead of one. ``sanitise`` exists for that case.

The two encodings differ only in data (``GSM7`` and ``UCS2`` below): their limits and
which characters take two units -- GSM-7's extension table (``€``, ``[``, ``{``...) is
sent as an escape plus a septet, and UCS-2 sends a character outside the Basic
Multilingual Plane (an emoji like ``💉``) as a surrogate pair.

``split`` never cuts a two-unit character across parts, as real SMSCs do not; a part
may then hold one unit less than the maximum, so a long message with such characters
can need one part more than plain arithmetic says. ``fragment_count`` is defined as
``len(split(text))`` so the count we bill and the parts we send always agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from warta.errors import MessageTooLong

EncodingName = Literal["GSM-7", "UCS-2"]

#: GSM 03.38 default alphabet, in table order, without 0x1B (the escape to the extension
#: table, which is not a character anyone types).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: GSM 03.38 extension table: each is sent as ESC + one septet, so counts 2.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7_CHARACTERS = GSM7_BASIC | GSM7_EXTENSION

#: Notify's cap: 6 parts of 153 GSM-7 septets. Counted in characters, as Notify does.
MAX_SMS_CHARACTERS = 918


@dataclass(frozen=True)
class SmsEncoding:
    """The data that differs between GSM-7 and UCS-2."""

    name: EncodingName
    single_part: int  # units that fit in a message sent as one part
    per_part: int  # units per part of a concatenated message (after the 6-byte header)
    is_double: Callable[[str], bool]  # does this character take two units?

    def units(self, char: str) -> int:
        return 2 if self.is_double(char) else 1


GSM7 = SmsEncoding("GSM-7", 160, 153, GSM7_EXTENSION.__contains__)
UCS2 = SmsEncoding("UCS-2", 70, 67, lambda char: ord(char) > 0xFFFF)


@dataclass(frozen=True)
class SmsInfo:
    """What a sender sees under the message box: encoding, characters and parts."""

    encoding: EncodingName
    characters: int
    fragments: int


def _encoding(text: str) -> SmsEncoding:
    return GSM7 if GSM7_CHARACTERS.issuperset(text) else UCS2


def detect_encoding(text: str) -> EncodingName:
    """``"Halo [Budi]"`` -> ``"GSM-7"``; ``"Halo Budi 👋"`` and ``"Halo ‘Budi’"`` -> ``"UCS-2"``."""
    return _encoding(text).name


def encoded_length(text: str) -> int:
    """Length in the units the network counts: ``"€5"`` is 3 septets, ``"💉 ok"`` 5 code units."""
    encoding = _encoding(text)
    return sum(encoding.units(char) for char in text)


def split(text: str) -> list[str]:
    """The parts an SMSC would send, joined back they give ``text``.

    ``""`` -> ``[]``; up to 160 septets (70 code units) -> ``[text]``; longer texts are cut
    greedily into parts of at most 153 septets (67 code units), moving a two-unit
    character that would not fit whole into the next part.
    """
    encoding = _encoding(text)
    if sum(encoding.units(char) for char in text) <= encoding.single_part:
        return [text] if text else []
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        units = encoding.units(char)
        if used + units > encoding.per_part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += units
    parts.append("".join(current))
    return parts


def fragment_count(text: str) -> int:
    """Parts needed to send ``text``: ``0`` for ``""``, ``1`` for ``"a" * 160``, ``2`` for 161."""
    return len(split(text))


def describe(text: str) -> SmsInfo:
    """``describe("Halo €")`` -> ``SmsInfo(encoding="GSM-7", characters=6, fragments=1)``."""
    return SmsInfo(detect_encoding(text), len(text), fragment_count(text))


def check_length(text: str) -> None:
    """Refuse a message longer than ``MAX_SMS_CHARACTERS`` (918) characters."""
    if len(text) > MAX_SMS_CHARACTERS:
        raise MessageTooLong(
            "Your message is too long. Text messages cannot be longer than "
            f"{MAX_SMS_CHARACTERS} characters. Your message is {len(text)} characters long."
        )


#: Look-alikes that word processors, phones and web forms put into text people paste,
#: mapped to the GSM-7 characters they stand for. Each value is GSM-7 (a test checks).
LOOKALIKES: Mapping[str, str] = {
    **dict.fromkeys("‘’‚‛′`´ʼ", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),  # hyphens, dashes, minus
    "…": "...",
    # tab, no-break and other fixed-width spaces; ideographic space
    **dict.fromkeys("\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006", " "),
    **dict.fromkeys("\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u2028\u2029", "\n"),  # line and paragraph separators
    # invisible: zero-width space, word joiner, BOM, soft hyphen, Mongolian vowel separator
    **dict.fromkeys("\u200b\u2060\ufeff\u00ad\u180e", ""),
}
#: Fullwidth forms (U+FF01-U+FF5E), typed by CJK input methods: ``Ａ１！`` -> ``A1!``.
FULLWIDTH: Mapping[str, str] = {
    chr(code): LOOKALIKES.get(chr(code - 0xFEE0), chr(code - 0xFEE0))
    for code in range(0xFF01, 0xFF5F)
}
SMS_REPLACEMENTS: Mapping[str, str] = {**LOOKALIKES, **FULLWIDTH}
_TRANSLATION = str.maketrans(dict(SMS_REPLACEMENTS))

#: Zero-width (non-)joiners matter between two non-GSM characters -- they build emoji
#: such as 👩‍⚕️ (health worker) and shape Indic scripts -- but next to a GSM-7 character
#: or at either end they join nothing and only force UCS-2.
_JOINERS = re.compile("[\u200c\u200d]+")


def _drop_idle_joiners(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start else None
    after = text[end] if end < len(text) else None
    if before is None or after is None or before in GSM7_CHARACTERS or after in GSM7_CHARACTERS:
        return ""
    return match.group(0)


def sanitise(text: str) -> str:
    """Replace look-alike characters with their GSM-7 equivalents; leave the rest alone.

    ``"Jadwal vaksin “Booster” 08.00–12.00…"`` -> ``'Jadwal vaksin "Booster" 08.00-12.00...'``
    (GSM-7, one part). Genuine non-GSM text such as ``"Terima kasih 🙏"`` is unchanged and
    stays UCS-2. Idempotent, and a text that is already GSM-7 comes back unchanged.
    """
    return _JOINERS.sub(_drop_idle_joiners, text.translate(_TRANSLATION))
