"""Quick replies fitted to what each channel can show, and an SMS menu read back.

A chat answer offers ``Option``\\ s (``warta.domain.channels``): an ``id`` that comes back
when chosen and a ``title`` on the button. Each channel has its own limits, and these
pure functions fit the same options to each:

    Telegram   an inline keyboard: ``callback_data`` is 1-64 bytes of UTF-8; buttons
               are laid out in rows (``telegram_rows``) of at most 3 and ~30 characters.
    WhatsApp   1-3 options: reply buttons, unique titles <= 20 characters, id <= 256;
               4 or more: a list message, at most 10 rows, row title <= 24, id <= 200,
               opened by a button labelled "Pilih" / "Choose" (``whatsapp_menu``).
    SMS        a numbered line after the text, at most 9 options:
               ``"Balas 1 untuk Cek status, 2 untuk Berhenti"`` (id) or
               ``"Reply 1 for Check status, 2 for Stop"`` (en) (``sms_menu``), and the
               citizen's ``"2"`` read back to the option's id (``read_sms_reply``).

A title too long is cut with "…" (``"Perpanjang KTP elektronik"`` -> 20 characters:
``"Perpanjang KTP elek…"``). An option whose id cannot be carried (empty, over the
channel's limit) or repeats an earlier id is left out, not cut: a cut id would come back
as a different one. Ids are the engine's own (intent names, ``status:K7QM2H9D``), so
leaving one out means a bug upstream, never the citizen's input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from warta.domain.channels import Option
from warta.domain.keywords import Language

#: Telegram: InlineKeyboardButton.callback_data is 1-64 bytes.
TELEGRAM_MAX_DATA_BYTES: Final = 64
#: Telegram takes up to 100 buttons; more than 10 in a chat is a wall, not a choice.
TELEGRAM_MAX_OPTIONS: Final = 10
#: Telegram shows a button's text on one line; longer ones are cut by the app anyway.
TELEGRAM_MAX_TITLE: Final = 40
#: A row holds at most this many buttons, and at most ``TELEGRAM_ROW_CHARS`` of titles.
TELEGRAM_ROW_WIDTH: Final = 3
TELEGRAM_ROW_CHARS: Final = 30

#: WhatsApp reply buttons: 1-3, title 1-20 characters, id 1-256 characters.
WHATSAPP_MAX_BUTTONS: Final = 3
WHATSAPP_BUTTON_TITLE: Final = 20
WHATSAPP_BUTTON_ID: Final = 256
#: WhatsApp list messages: 1-10 rows in all, row title 1-24, row id 1-200 characters; the
#: button that opens the list 1-20 characters.
WHATSAPP_MAX_ROWS: Final = 10
WHATSAPP_ROW_TITLE: Final = 24
WHATSAPP_ROW_ID: Final = 200
WHATSAPP_LIST_BUTTON: Final = {"id": "Pilih", "en": "Choose"}

#: SMS: one digit per option.
SMS_MAX_OPTIONS: Final = 9
#: An SMS menu's titles are cut shorter than buttons': every character is paid for.
SMS_TITLE: Final = 24
_SMS_WORDS: Final = {"id": ("Balas", "untuk"), "en": ("Reply", "for")}
#: "2", " 2 ", "2.", "(2)", "#2": a number alone, as people type one.
_SMS_NUMBER = re.compile(r"[#(\[]?\s*([0-9]{1,2})\s*[.)\]]?")


def cut(title: str, limit: int) -> str:
    """``title`` with whitespace collapsed, at most ``limit`` characters, "…" when cut.

    ``cut("Perpanjang KTP elektronik", 20)`` -> ``"Perpanjang KTP elek…"``.
    """
    flat = " ".join(title.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def fit(
    options: Sequence[Option],
    *,
    most: int,
    title: int,
    id_chars: int | None = None,
    id_bytes: int | None = None,
) -> tuple[Option, ...]:
    """The first ``most`` options that can be carried, titles cut to ``title`` characters.

    Left out: an id that is empty, over ``id_chars`` characters or ``id_bytes`` bytes of
    UTF-8, or offered before; a blank title.
    """
    fitted: list[Option] = []
    seen: set[str] = set()
    for option in options:
        too_long = (id_chars is not None and len(option.id) > id_chars) or (
            id_bytes is not None and len(option.id.encode("utf-8")) > id_bytes
        )
        shown = cut(option.title, title)
        if not option.id or too_long or option.id in seen or not shown:
            continue
        seen.add(option.id)
        fitted.append(Option(id=option.id, title=shown))
        if len(fitted) == most:
            break
    return tuple(fitted)


# -- Telegram -------------------------------------------------------------------------------


def telegram_rows(options: Sequence[Option]) -> tuple[tuple[Option, ...], ...]:
    """The options as inline keyboard rows, in order: a row takes the next button while
    it has fewer than 3 and the titles stay within 30 characters.

    ``[Cek status, Buat pengaduan, Berhenti]`` -> ``((Cek status, Buat pengaduan),
    (Berhenti,))``: "Cek status" + "Buat pengaduan" is 24 characters, one more is 32.
    """
    fitted = fit(
        options,
        most=TELEGRAM_MAX_OPTIONS,
        title=TELEGRAM_MAX_TITLE,
        id_bytes=TELEGRAM_MAX_DATA_BYTES,
    )
    rows: list[list[Option]] = []
    for option in fitted:
        row = rows[-1] if rows else None
        if (
            row is not None
            and len(row) < TELEGRAM_ROW_WIDTH
            and sum(len(o.title) for o in row) + len(option.title) <= TELEGRAM_ROW_CHARS
        ):
            row.append(option)
        else:
            rows.append([option])
    return tuple(tuple(row) for row in rows)


# -- WhatsApp -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WhatsAppMenu:
    """Options as WhatsApp shows them: ``kind`` "button" (1-3 reply buttons) or "list"
    (a list message of up to 10 rows, opened by a button that says ``button``)."""

    kind: Literal["button", "list"]
    options: tuple[Option, ...]
    button: str | None = None  # list only: the label of the button that opens the list


def whatsapp_menu(options: Sequence[Option], language: Language = "id") -> WhatsAppMenu | None:
    """Reply buttons for 1-3 options, a list for 4-10 (more are left out), None for none.

    The choice is made on the options that can be carried: four options, one with an id
    over 256 characters, are three buttons.
    """
    buttons = fit(
        options,
        most=WHATSAPP_MAX_BUTTONS + 1,
        title=WHATSAPP_BUTTON_TITLE,
        id_chars=WHATSAPP_BUTTON_ID,
    )
    if not buttons:
        return None
    if len(buttons) <= WHATSAPP_MAX_BUTTONS:
        return WhatsAppMenu(kind="button", options=_distinct(buttons, WHATSAPP_BUTTON_TITLE))
    rows = fit(
        options,
        most=WHATSAPP_MAX_ROWS,
        title=WHATSAPP_ROW_TITLE,
        id_chars=WHATSAPP_ROW_ID,
    )
    return WhatsAppMenu(
        kind="list",
        options=_distinct(rows, WHATSAPP_ROW_TITLE),
        button=WHATSAPP_LIST_BUTTON[language],
    )


def _distinct(options: tuple[Option, ...], limit: int) -> tuple[Option, ...]:
    """Titles made unique, as WhatsApp requires of buttons ("Buttons titles must be
    unique"): a repeated one gets " 2", " 3"... (cut to fit). ``[Info, Info]`` ->
    ``[Info, Info 2]``."""
    seen: set[str] = set()
    distinct: list[Option] = []
    for option in options:
        title, number = option.title, 1
        while title in seen:
            number += 1
            suffix = f" {number}"
            base = option.title.removesuffix("…")
            title = base[: limit - len(suffix)].rstrip() + suffix
        seen.add(title)
        distinct.append(Option(id=option.id, title=title))
    return tuple(distinct)


# -- SMS ------------------------------------------------------------------------------------


def sms_options(options: Sequence[Option]) -> tuple[Option, ...]:
    """The options an SMS menu numbers (1-9, in order); ``read_sms_reply`` needs exactly
    these, so keep what this returns as the options last offered."""
    return fit(options, most=SMS_MAX_OPTIONS, title=SMS_TITLE)


def sms_menu(options: Sequence[Option], language: Language = "id") -> str:
    """``"Balas 1 untuk Cek status, 2 untuk Berhenti"``; ``""`` when there is nothing to
    offer. English: ``"Reply 1 for Check status, 2 for Stop"``."""
    numbered = sms_options(options)
    if not numbered:
        return ""
    reply, for_ = _SMS_WORDS[language]
    choices = ", ".join(f"{n} {for_} {option.title}" for n, option in enumerate(numbered, 1))
    return f"{reply} {choices}"


def with_sms_menu(text: str, options: Sequence[Option], language: Language = "id") -> str:
    """``text``, then the menu on its own line (just ``text`` when there is none)."""
    menu = sms_menu(options, language)
    return f"{text.rstrip()}\n{menu}" if menu else text


def read_sms_reply(text: str, offered: Sequence[Option]) -> str | None:
    """The id of the option a reply chose from ``offered`` (as ``sms_options`` gave them),
    or None when the reply is not a choice (then it is read as a message).

    ``"2"``, ``" 2. "``, ``"(2)"`` -> the second option's id; ``"0"``, ``"12"`` (past the
    end) -> None; a reply that is an option's title, case and spaces aside
    (``"cek STATUS"``), -> that option's id; ``"2 orang"`` -> None.
    """
    numbered = sms_options(offered)
    number = _SMS_NUMBER.fullmatch(text.strip())
    if number is not None:
        index = int(number.group(1))
        return numbered[index - 1].id if 1 <= index <= len(numbered) else None
    said = " ".join(text.split()).casefold()
    return next((o.id for o in numbered if o.title.casefold() == said), None) if said else None
