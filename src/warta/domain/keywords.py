"""Keywords citizens text back to an agency's number, in Bahasa Indonesia and English.

``BERHENTI``/``STOP`` opts the number out of that agency's non-urgent SMS, ``MULAI``/
``START`` opts back in, ``INFO``/``BANTUAN``/``HELP`` asks for help. ``BERHENTI SEMUA``/
``STOP ALL`` stops every agency's non-urgent SMS to the number at once, and ``MULAI
SEMUA``/``START ALL`` lifts that (a stop sent to one agency stays). Only a message that is
the keyword alone counts (case, spaces and trailing punctuation aside): "stop kirim
tagihan ke ibu saya" is a message for a person to read, not an instruction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["stop", "start", "help"]
Language = Literal["id", "en"]


@dataclass(frozen=True)
class Keyword:
    action: Action
    language: Language
    #: Every agency at once (BERHENTI SEMUA), not only the one the text is for.
    everyone: bool = False


KEYWORDS: dict[str, Keyword] = {
    "BERHENTI": Keyword("stop", "id"),
    "STOP": Keyword("stop", "en"),
    "UNSUBSCRIBE": Keyword("stop", "en"),
    "MULAI": Keyword("start", "id"),
    "START": Keyword("start", "en"),
    "INFO": Keyword("help", "id"),
    "BANTUAN": Keyword("help", "id"),
    "HELP": Keyword("help", "en"),
    "BERHENTI SEMUA": Keyword("stop", "id", everyone=True),
    "STOP ALL": Keyword("stop", "en", everyone=True),
    "MULAI SEMUA": Keyword("start", "id", everyone=True),
    "START ALL": Keyword("start", "en", everyone=True),
}

_REPLIES: dict[tuple[Action, Language], str] = {
    ("stop", "id"): "Anda tidak akan lagi menerima SMS dari {agency}, kecuali pesan darurat. "
    "Balas MULAI untuk menerimanya lagi.",
    ("stop", "en"): "You will no longer get text messages from {agency}, except emergencies. "
    "Reply START to get them again.",
    ("start", "id"): "Anda akan kembali menerima SMS dari {agency}. Balas BERHENTI untuk berhenti.",
    ("start", "en"): "You will get text messages from {agency} again. Reply STOP to stop.",
    ("help", "id"): "SMS ini dari {agency} melalui Warta. Balas BERHENTI untuk berhenti, "
    "MULAI untuk menerima lagi.",
    ("help", "en"): "These texts are from {agency}, sent through Warta. Reply STOP to stop, "
    "START to get them again.",
}

_EVERYONE_REPLIES: dict[tuple[Action, Language], str] = {
    ("stop", "id"): "Anda tidak akan lagi menerima SMS dari instansi mana pun melalui Warta, "
    "kecuali pesan darurat. Balas MULAI SEMUA untuk menerimanya lagi.",
    ("stop", "en"): "You will no longer get text messages from any agency through Warta, "
    "except emergencies. Reply START ALL to get them again.",
    ("start", "id"): "Anda akan kembali menerima SMS dari instansi melalui Warta, kecuali yang "
    "Anda hentikan sendiri. Balas BERHENTI SEMUA untuk berhenti.",
    ("start", "en"): "You will get text messages from agencies through Warta again, except "
    "those you stopped one by one. Reply STOP ALL to stop.",
}

#: The answer to a text no agency is for (sent to Warta's own number, which no agency used
#: to text that phone lately): nobody will read it, and how to stop every agency's SMS.
_PLATFORM_HELP: dict[Language, str] = {
    "id": "Warta: pesan ke nomor ini tidak diteruskan ke instansi mana pun. Balas BERHENTI "
    "SEMUA untuk berhenti menerima SMS dari semua instansi, kecuali pesan darurat.",
    "en": "Warta: texts to this number reach no agency. Reply STOP ALL to stop texts from "
    "every agency, except emergencies.",
}


def parse(text: str) -> Keyword | None:
    """The keyword a message is, if it is one.

    >>> parse(" berhenti! ")
    Keyword(action='stop', language='id', everyone=False)
    >>> parse("Berhenti  semua.")
    Keyword(action='stop', language='id', everyone=True)
    >>> parse("stop kirim tagihan") is None
    True
    """
    words = text.strip().rstrip(".!?").split()
    return KEYWORDS.get(" ".join(words).upper())


def reply(keyword: Keyword, agency: str) -> str:
    """The answer to a keyword: naming the agency it acted on, or (``everyone``) saying it
    acted on every agency."""
    if keyword.everyone:
        return _EVERYONE_REPLIES[(keyword.action, keyword.language)]
    return _REPLIES[(keyword.action, keyword.language)].format(agency=agency)


def platform_help(keyword: Keyword | None) -> str:
    """The answer to a text no agency is for, in the keyword's language (Indonesian for
    anything else)."""
    return _PLATFORM_HELP[keyword.language if keyword else "id"]
