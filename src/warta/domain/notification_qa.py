"""What the chatbot answers about a message a citizen just received: the Q&A an agency
wrote on the template, filled with that message's personalisation when it was sent.

The personalisation itself is never stored; so the Q&A is rendered when the message is
(``render``), sealed with its content, and read back when the citizen asks (``answer``).

Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from warta.domain.templates import render as render_text
from warta.errors import InvalidInput

#: The fixed questions, each with the words that ask it (normalised, Indonesian and
#: English); free pairs match on their own question's words.
FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "deadline": ("kapan", "batas", "tenggat", "deadline", "when", "sampai", "jatuh tempo"),
    "where": ("di mana", "dimana", "mana", "lokasi", "alamat", "where", "tempat"),
    "contact": ("hubungi", "kontak", "telepon", "contact", "siapa", "call", "nomor"),
    "todo": ("harus", "lakukan", "apa yang", "bagaimana", "gimana", "cara", "what should", "do"),
    "about": ("maksud", "apa ini", "tentang", "arti", "mean", "about", "what is"),
}
MAX_TEXT: Final = 1000
MAX_PAIRS: Final = 20


def check(qa: Mapping[str, object]) -> dict[str, object]:
    """A template's Q&A as the console or API gives it, checked: the fixed fields as
    text, ``pairs`` as [question, answer] lists."""
    checked: dict[str, object] = {}
    for name in FIELDS:
        value = qa.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise InvalidInput(
                "%(name)s: text of at most %(max)s characters", name=name, max=MAX_TEXT
            )
        checked[name] = value.strip()
    pairs = qa.get("pairs") or []
    if not isinstance(pairs, list) or len(pairs) > MAX_PAIRS:
        raise InvalidInput("pairs: at most %(max)s questions and answers", max=MAX_PAIRS)
    good = []
    for pair in pairs:
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not all(isinstance(p, str) and p.strip() and len(p) <= MAX_TEXT for p in pair)
        ):
            raise InvalidInput("pairs: each a question and its answer, as text")
        good.append([pair[0].strip(), pair[1].strip()])
    if good:
        checked["pairs"] = good
    return checked


def render(qa_json: str | None, personalisation: Mapping[str, object]) -> str | None:
    """The Q&A filled for one message, as JSON to seal with it; None without Q&A. A
    placeholder the message was not given stays as it is written."""
    if not qa_json:
        return None
    qa = json.loads(qa_json)
    filled: dict[str, object] = {}
    for name, value in qa.items():
        if name == "pairs":
            filled[name] = [
                [_fill(q, personalisation), _fill(a, personalisation)] for q, a in value
            ]
        else:
            filled[name] = _fill(value, personalisation)
    return json.dumps(filled, ensure_ascii=False)


def _fill(text: str, personalisation: Mapping[str, object]) -> str:
    try:
        return render_text(text, personalisation, channel="sms")
    except InvalidInput:
        return text


def answer(rendered: str | None, question: str) -> str | None:
    """The answer to ``question`` (normalised text) from a message's rendered Q&A: a free
    pair whose question shares the most words, else the fixed field the question asks,
    else None (the bot then says what the message was about, if it can)."""
    if not rendered:
        return None
    qa = json.loads(rendered)
    words = set(question.split())
    best, best_score = None, 0
    for q, a in qa.get("pairs", []):
        score = len(words & set(q.lower().split()))
        if score > best_score:
            best, best_score = a, score
    if best is not None and best_score >= 2:
        return str(best)
    for name, cues in FIELDS.items():
        if name in qa and any(cue in question for cue in cues):
            return str(qa[name])
    return str(best) if best is not None else None
