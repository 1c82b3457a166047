"""Keywords citizens text back to an agency's number, in Bahasa Indonesia and English.

``BERHENTI``/``STOP`` opts the number out of that agency's non-urgent SMS, ``MULAI``/
``START`` opts back in, ``INFO``/``BANTUAN``/``HELP`` asks for help. Only a message that is
the keyword alone counts (case, spaces and trailing punctuation aside): "stop kirim tagihan
ke ibu saya" is a message for a person to read, not an instruction.
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


KEYWORDS: dict[str, Keyword] = {
    "BERHENTI": Keyword("stop", "id"),
    "STOP": Keyword("stop", "en"),
    "UNSUBSCRIBE": Keyword("stop", "en"),
    "MULAI": Keyword("start", "id"),
    "START": Keyword("start", "en"),
    "INFO": Keyword("help", "id"),
    "BANTUAN": Keyword("help", "id"),
    "HELP": Keyword("help", "en"),
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


def parse(text: str) -> Keyword | None:
    """The keyword a message is, if it is one.

    >>> parse(" berhenti! ")
    Keyword(action='stop', language='id')
    >>> parse("stop kirim tagihan") is None
    True
    """
    word = text.strip().rstrip(".!?").strip().upper()
    return KEYWORDS.get(word)


def reply(keyword: Keyword, agency: str) -> str:
    return _REPLIES[(keyword.action, keyword.language)].format(agency=agency)
