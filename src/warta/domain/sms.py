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

``encode_parts`` turns those parts into the bytes an SMPP ``submit_sm`` carries, and
``decode_short_message`` reads a ``deliver_sm`` back into text; both are pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec; pure, no I/O)

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
    # No character is more than two units, so a short text needs no counting.
    short = len(text) * 2 <= encoding.single_part
    if short or sum(encoding.units(char) for char in text) <= encoding.single_part:
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
            "Your message is too long. Text messages cannot be longer than %(limit)s "
            "characters. Your message is %(length)s characters long.",
            limit=MAX_SMS_CHARACTERS,
            length=len(text),
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


# -- SMPP wire form -----------------------------------------------------------------------

#: SMPP ``data_coding`` values: the SMSC default alphabet (GSM-7 here), IA5 (ASCII),
#: Latin-1 and UCS-2.
DATA_CODING_DEFAULT = 0
DATA_CODING_IA5 = 1
DATA_CODING_LATIN1 = 3
DATA_CODING_UCS2 = 8
#: ``esm_class`` bit saying ``short_message`` starts with a User Data Header.
ESM_CLASS_UDHI = 0x40

_DATA_CODING: Mapping[EncodingName, int] = {"GSM-7": DATA_CODING_DEFAULT, "UCS-2": DATA_CODING_UCS2}
#: Text codecs by ``data_coding``; anything else is read as Latin-1 so no byte is lost.
_TEXT_CODECS: Mapping[int, str] = {
    DATA_CODING_DEFAULT: "gsm03.38",
    DATA_CODING_IA5: "ascii",
    DATA_CODING_LATIN1: "latin-1",
    DATA_CODING_UCS2: "utf-16-be",
}


@dataclass(frozen=True, slots=True)
class Concat:
    """Where one part sits in a concatenated SMS: the UDH's reference, total and sequence
    (1-based), as in ``05 00 03 <reference> <total> <sequence>``."""

    reference: int
    total: int
    sequence: int


@dataclass(frozen=True, slots=True)
class EncodedSms:
    """The ``submit_sm`` fields of one text: ``data_coding``, ``esm_class`` and one
    ``short_message`` per part (UDH included when there are several)."""

    data_coding: int
    parts: tuple[bytes, ...]

    @property
    def esm_class(self) -> int:
        return ESM_CLASS_UDHI if len(self.parts) > 1 else 0


def encode_parts(text: str, reference: int) -> EncodedSms:
    r"""The parts of ``split(text)`` as SMPP sends them; ``reference`` (0-255) ties them.

    GSM-7 goes unpacked, one octet per septet, with ``data_coding`` 0 (the SMSC packs it
    for the air), so a part can be 153 septets plus a 6-byte header, 159 octets. UCS-2 is
    UTF-16-BE, an emoji as a surrogate pair.

    >>> encode_parts("Halo €5", reference=7)
    EncodedSms(data_coding=0, parts=(b'Halo \x1be5',))
    >>> [p[:6].hex(" ") for p in encode_parts("x" * 161, reference=7).parts]
    ['05 00 03 07 02 01', '05 00 03 07 02 02']
    >>> encode_parts("Terima kasih 🙏", reference=0).data_coding
    8
    """
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"concatenation reference must be 0-255, got {reference}")
    encoding = _encoding(text)
    codec = _TEXT_CODECS[_DATA_CODING[encoding.name]]
    texts = split(text)
    if len(texts) > 0xFF:
        raise ValueError(f"a text of {len(texts)} parts cannot be concatenated (255 at most)")
    payloads = [part.encode(codec) for part in texts]
    if len(payloads) > 1:
        total = len(payloads)
        payloads = [
            bytes((5, 0, 3, reference, total, sequence)) + payload
            for sequence, payload in enumerate(payloads, start=1)
        ]
    return EncodedSms(_DATA_CODING[encoding.name], tuple(payloads))


def decode_short_message(
    data: bytes, data_coding: int, esm_class: int
) -> tuple[str, Concat | None]:
    r"""The text of a received ``short_message``, and its place if it is one of several.

    The header is read when ``esm_class`` has the UDHI bit (0x40); both the 8-bit (IEI 0)
    and 16-bit (IEI 8) reference forms count. ``data_coding`` 0 is GSM-7, 1 ASCII, 3
    Latin-1, 8 UTF-16-BE; bytes that do not fit their coding (and any other coding) are
    read as Latin-1 rather than refused, because a citizen's reply must not be lost.
    A UCS-2 part may end in half a surrogate pair; ``join_parts`` mends it.

    >>> decode_short_message(bytes.fromhex("050003070201") + b"Halo", 0, 0x40)
    ('Halo', Concat(reference=7, total=2, sequence=1))
    >>> decode_short_message(b"\x00\x48\x00\x69", 8, 0)
    ('Hi', None)
    """
    concat = None
    if esm_class & ESM_CLASS_UDHI:
        if not data or len(data) < data[0] + 1:
            raise ValueError("short_message is shorter than its user data header")
        concat = _concat_from_udh(data[1 : data[0] + 1])
        data = data[data[0] + 1 :]
    codec = _TEXT_CODECS.get(data_coding, "latin-1")
    try:
        return data.decode(codec, "surrogatepass" if codec == "utf-16-be" else "strict"), concat
    except UnicodeDecodeError:
        return data.decode("latin-1"), concat


def _concat_from_udh(header: bytes) -> Concat | None:
    position = 0
    while position + 2 <= len(header):
        iei, length = header[position], header[position + 1]
        value = header[position + 2 : position + 2 + length]
        if len(value) < length:
            raise ValueError("user data header element runs past the header")
        if iei == 0x00 and length == 3:
            return Concat(value[0], value[1], value[2])
        if iei == 0x08 and length == 4:
            return Concat(int.from_bytes(value[:2], "big"), value[2], value[3])
        position += 2 + length
    return None


def join_parts(parts: Sequence[str]) -> str:
    r"""Join decoded parts in order, pairing a surrogate pair a phone split across two
    UCS-2 parts back into one character.

    >>> join_parts(["Terima kasih \ud83d", "\ude4f"]) == "Terima kasih 🙏"
    True
    """
    joined = "".join(parts)
    return joined.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")


T = TypeVar("T")


@dataclass
class _Waiting(Generic[T]):
    since: float
    total: int
    parts: dict[int, T] = field(default_factory=dict)


class PartCollector(Generic[T]):
    """Parts of concatenated texts waiting for their siblings; pure, the time passed in.

    ``add`` keeps a part under ``(key, reference, total)`` -- ``key`` being whatever
    tells two senders apart, such as ``(sender, recipient)`` -- and returns every part
    in order once the last one came. Parts may come in any order; a repeated part
    replaces the earlier copy. ``expire`` hands back, in order, what arrived of texts
    older than ``timeout`` seconds, so a lost part costs the end of a reply, not all of it.
    """

    def __init__(self, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.timeout = timeout
        self._waiting: dict[Hashable, _Waiting[T]] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, key: Hashable, concat: Concat, part: T, now: float) -> list[T] | None:
        slot = (key, concat.reference, concat.total)
        waiting = self._waiting.setdefault(slot, _Waiting(now, concat.total))
        waiting.parts[concat.sequence] = part
        if len(waiting.parts) < waiting.total:
            return None
        del self._waiting[slot]
        return [waiting.parts[n] for n in sorted(waiting.parts)]

    def expire(self, now: float) -> list[list[T]]:
        old = [slot for slot, w in self._waiting.items() if now - w.since >= self.timeout]
        return [
            [waiting.parts[n] for n in sorted(waiting.parts)]
            for waiting in (self._waiting.pop(slot) for slot in old)
        ]
