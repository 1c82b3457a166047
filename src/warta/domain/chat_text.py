"""What a citizen's chat message says before any model reads it: the text made plain, the
things named in it, and its language.

Pure: strings in, strings and small frozen values out (the slang list is package data,
read once when first needed). The classifier in ``warta.services.chatbot.nlu`` reads
``normalise``'s output; the conversation engine reads ``extract``'s entities.

* ``normalise``: lowercase, accents off ("café" -> "cafe"), punctuation to spaces, a tracking
  id to the word ``kodelacak`` (the model learns "a tracking id was given", not the id),
  runs of three or more letters cut down ("tolonggg" -> "tolong", "maaaaf" -> "maaf",
  "tungggu" -> "tunggu"), reduplication written with a 2 spelled out ("hati2" -> "hati
  hati"), then every word looked up in the slang list (``chat_slang.tsv``: "gmn" ->
  "bagaimana", "udh" -> "sudah", "gak" -> "tidak"; particles such as "dong" and "sih" are
  dropped).
* ``extract``: a tracking id (8 characters with a valid check character, written
  "K7QM2H9D", "k7qm-2h9d" or "K7QM 2H9D"), channels ("wa" -> whatsapp, "surel" -> email,
  "aplikasi" -> push), times ("21:00", "jam 9 malam" -> 21:00, "9pm" -> 21:00), a language
  named ("bahasa inggris" -> en) and a number ("balas 2" -> 2).
* ``detect_language``: "id" or "en" from small word lists, or None when the message gives
  no evidence ("ok", a tracking id alone), so the caller keeps the conversation's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final, Literal

from warta.domain.cases import normalise_tracking_id
from warta.errors import InvalidInput

Language = Literal["id", "en"]
#: How a citizen names a channel: the chat networks by name, push as the app.
ChatChannel = Literal["sms", "email", "whatsapp", "telegram", "push"]
#: The word a tracking id becomes in normalised text.
TRACKING_WORD: Final = "kodelacak"


@dataclass(frozen=True, slots=True)
class Entities:
    """What a message names. ``tracking_id`` is normalised ("K7QM2H9D"); ``times`` are
    "HH:MM" on a 24-hour clock; ``language`` is a language the message names (not the one
    it is written in); ``number`` is the first number that is not part of a time or id."""

    tracking_id: str | None = None
    channels: tuple[ChatChannel, ...] = ()
    times: tuple[str, ...] = ()
    language: Language | None = None
    number: int | None = None


# Normalising -------------------------------------------------------------------------

# Candidates: 8 letters and digits, or 4 + 4 with a hyphen or a space between. The check
# character decides; the spaced form must hold a digit, so two 4-letter words ("mana saja")
# that happen to pass the check are not taken for an id.
# A lookahead, so candidates may overlap: in "kode u6yf kl9u" both "kode u6yf" and
# "u6yf kl9u" are tried.
_ID_CANDIDATE: Final = re.compile(r"(?<![a-z0-9])(?=([a-z0-9]{4})([- ]?)([a-z0-9]{4})(?![a-z0-9]))")
_RUN: Final = re.compile(r"([a-z])\1{2,}")
_DOUBLE: Final = re.compile(r"([a-z])\1")
_REDUPLICATED: Final = re.compile(r"^([a-z]{2,})2$")
_NOT_WORD: Final = re.compile(r"[^a-z0-9]+")
#: Words whose double letter is real: a longer run is cut to two for these.
_DOUBLES: Final = frozenset(
    {"maaf", "saat", "taat", "jumaat", "good", "need", "see", "too", "soon", "week", "free"}
    | {"hello", "all", "call", "will", "off", "sorry", "address", "apply", "support"}
)


@cache
def slang() -> dict[str, str]:
    """The slang list: a word -> its standard spelling ("" drops the word)."""
    text = resources.files("warta.domain").joinpath("chat_slang.tsv").read_text("utf-8")
    table: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, standard = line.partition("\t")
        table[word.strip()] = standard.strip()
    return table


def _plain(text: str) -> str:
    """Lowercase without accents: "Café  TOLONG" -> "cafe  tolong"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _tracking_ids(plain: str) -> list[tuple[int, int, str]]:
    """(start, end, id) of each tracking id in lowercase text."""
    found: list[tuple[int, int, str]] = []
    for match in _ID_CANDIDATE.finditer(plain):
        head, sep, tail = match.groups()
        start, end = match.start(), match.start() + len(head + sep + tail)
        if found and start < found[-1][1]:
            continue
        if sep == " " and not any(ch.isdigit() for ch in head + tail):
            continue
        try:
            found.append((start, end, normalise_tracking_id(head + tail)))
        except InvalidInput:
            continue
    return found


def _shorten_runs(word: str) -> str:
    """ "tolonggg" -> "tolong", "tungggu" -> "tunggu" (ngg before a vowel), "maaaf" -> "maaf"."""
    if not _RUN.search(word):
        return word
    single = _RUN.sub(r"\1", word)
    double = _RUN.sub(r"\1\1", word)
    if double in _DOUBLES:
        return double
    return re.sub(r"ng(?=[aeiou])", "ngg", single) if "nggg" in word else single


def normalise(text: str) -> str:
    """The message as the classifier reads it.

    >>> normalise("Min, gmn cara cek laporan KTM5-GSQT yg udh dikirim dong??")
    'admin bagaimana cara cek laporan kodelacak yang sudah dikirim'
    >>> normalise("TOLONGGG hati2 dong")
    'tolong hati hati'
    """
    plain = _plain(text)
    for start, end, _ in reversed(_tracking_ids(plain)):
        plain = f"{plain[:start]} {TRACKING_WORD} {plain[end:]}"
    table = slang()
    words: list[str] = []
    for raw in _NOT_WORD.sub(" ", plain).split():
        word = _shorten_runs(raw)
        if (twice := _REDUPLICATED.match(word)) is not None:
            words += [twice.group(1), twice.group(1)]
            continue
        standard = table.get(word)
        if standard is None:  # "makasihh", "sudahh": the word with its doubles undone
            standard = table.get(_DOUBLE.sub(r"\1", word), word)
        if standard:
            words += standard.split()
    return " ".join(words)


# Entities ----------------------------------------------------------------------------

_CHANNEL_WORDS: Final[dict[str, ChatChannel]] = {
    "sms": "sms",
    "email": "email",
    "whatsapp": "whatsapp",
    "telegram": "telegram",
    "push": "push",
    "aplikasi": "push",
    "notifikasi aplikasi": "push",
}
_LANGUAGE_WORDS: Final[dict[str, Language]] = {
    "inggris": "en",
    "english": "en",
    "indonesia": "id",
    "indonesian": "id",
    "indo": "id",
}
_NUMBER_WORDS: Final[dict[str, int]] = {
    "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
}  # fmt: skip
# "21:00", "21.00", "jam 9", "pukul 21.30 malam", "9pm", "9:30 am".
_TIME: Final = re.compile(
    r"(?:(?P<lead>\b(?:jam|pukul|pkl|at)\s+)(?P<h1>\d{1,2})(?:[:.](?P<m1>\d{2}))?"
    r"|\b(?P<h2>\d{1,2})[:.](?P<m2>\d{2})(?![.:]?\d))"
    r"(?:\s*(?P<part>pagi|siang|sore|malam|subuh|am|pm|a\.m\.|p\.m\.)\b)?"
    r"|\b(?P<h3>\d{1,2})\s*(?P<part3>am|pm)\b"
)
_NUMBER: Final = re.compile(r"(?<![\w:.])\d{1,6}(?![\w:]|\.\d)")


def _clock(hour: int, minute: int, part: str | None) -> str | None:
    """24-hour "HH:MM" from a spoken time: 9 malam -> 21:00, 12 siang -> 12:00,
    12 malam -> 00:00, 3 sore -> 15:00, 9 pm -> 21:00; None when out of range."""
    part = (part or "").replace(".", "")
    if hour > 23 or minute > 59 or (part in {"am", "pm"} and hour > 12):
        return None
    if (part in {"pm", "sore"} and hour < 12) or (part == "malam" and 6 <= hour < 12):
        hour += 12
    elif part in {"am", "malam", "subuh", "pagi"} and hour == 12:
        hour = 0
    elif part == "siang" and hour < 6:
        hour += 12
    return f"{hour:02d}:{minute:02d}"


def _times(plain: str) -> tuple[list[str], list[tuple[int, int]]]:
    times, spans = [], []
    for match in _TIME.finditer(plain):
        hour = match.group("h1") or match.group("h2") or match.group("h3")
        minute = match.group("m1") or match.group("m2") or "0"
        clock = _clock(int(hour), int(minute), match.group("part") or match.group("part3"))
        if clock is not None:
            times.append(clock)
            spans.append(match.span())
    return times, spans


def extract(text: str) -> Entities:
    """The entities a message names.

    >>> extract("kirim lewat WA saja, jangan sms, mulai jam 9 malam")
    Entities(tracking_id=None, channels=('whatsapp', 'sms'), times=('21:00',), \
language=None, number=None)
    """
    plain = _plain(text)
    ids = _tracking_ids(plain)
    times, time_spans = _times(plain)
    taken = [(start, end) for start, end, _ in ids] + time_spans
    number = None
    for match in _NUMBER.finditer(plain):
        if not any(start <= match.start() < end for start, end in taken):
            number = int(match.group())
            break
    words = normalise(plain).split()
    if number is None:
        number = next((_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS), None)
    channels: list[ChatChannel] = []
    for i, word in enumerate(words):
        channel = _CHANNEL_WORDS.get(" ".join(words[i : i + 2])) or _CHANNEL_WORDS.get(word)
        if channel and channel not in channels:
            channels.append(channel)
    language = next((_LANGUAGE_WORDS[w] for w in words if w in _LANGUAGE_WORDS), None)
    return Entities(ids[0][2] if ids else None, tuple(channels), tuple(times), language, number)


# Language ----------------------------------------------------------------------------

_ENGLISH: Final = frozenset(
    [
        "the",
        "a",
        "an",
        "is",
        "are",
        "am",
        "was",
        "be",
        "i",
        "you",
        "your",
        "my",
        "me",
        "we",
        "our",
        "it",
        "this",
        "that",
        "what",
        "how",
        "when",
        "where",
        "why",
        "who",
        "which",
        "can",
        "could",
        "would",
        "will",
        "do",
        "does",
        "did",
        "not",
        "no",
        "yes",
        "please",
        "thanks",
        "thank",
        "hello",
        "hi",
        "hey",
        "want",
        "need",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "with",
        "about",
        "from",
        "have",
        "has",
        "get",
        "check",
        "my",
        "report",
        "status",
        "stop",
        "start",
        "help",
        "agent",
        "person",
        "human",
        "talk",
        "speak",
        "someone",
        "morning",
        "evening",
        "afternoon",
        "good",
        "bye",
        "and",
        "or",
        "by",
        "via",
        "there",
        "here",
        "some",
        "any",
        "tell",
        "know",
        "complaint",
        "problem",
        "road",
        "broken",
        "language",
        "change",
        "messages",
        "message",
        "send",
        "receive",
        "reply",
        "notification",
        "notifications",
        "time",
        "quiet",
        "case",
    ]
)
_INDONESIAN: Final = frozenset(
    [
        "saya",
        "aku",
        "kami",
        "kita",
        "anda",
        "apa",
        "bagaimana",
        "kapan",
        "di",
        "mana",
        "ke",
        "dari",
        "yang",
        "dan",
        "atau",
        "tidak",
        "sudah",
        "belum",
        "mau",
        "ingin",
        "tolong",
        "mohon",
        "bisa",
        "ada",
        "ini",
        "itu",
        "untuk",
        "dengan",
        "kakak",
        "admin",
        "terima",
        "kasih",
        "selamat",
        "pagi",
        "siang",
        "sore",
        "malam",
        "berhenti",
        "mulai",
        "laporan",
        "lapor",
        "pengaduan",
        "jalan",
        "rusak",
        "cara",
        "cek",
        "status",
        "kasus",
        "nomor",
        "berapa",
        "lama",
        "masih",
        "sampai",
        "apakah",
        "kenapa",
        "mengapa",
        "bagaimana",
        "pesan",
        "kirim",
        "jangan",
        "lagi",
        "ganti",
        "ubah",
        "bahasa",
        "jam",
        "halo",
        "tanya",
        "bantuan",
        "petugas",
        "orang",
        "buat",
        "membuat",
        "adu",
        "mengadu",
        "keluhan",
        "sekarang",
        "hari",
        "besok",
        "kemarin",
        "juga",
        "saja",
        "dong",
        "tolong",
        "boleh",
        "minta",
        "info",
        "informasi",
        "daftar",
        "syarat",
        "urus",
        "bayar",
        "pajak",
    ]
)


def detect_language(text: str) -> Language | None:
    """ "id" or "en" by which word list the message's words fall in more often; None when
    neither is ahead (no known words, or as many of each).

    >>> detect_language("gmn cara cek laporan sy"), detect_language("how do I check my report")
    ('id', 'en')
    >>> detect_language("ok") is None
    True
    """
    words = normalise(text).split()
    english = sum(w in _ENGLISH for w in words)
    indonesian = sum(w in _INDONESIAN for w in words)
    if english == indonesian:
        return None
    return "en" if english > indonesian else "id"
