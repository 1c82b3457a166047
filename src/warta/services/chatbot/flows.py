"""What the bot does for each intent, and the guided complaint: one function per intent,
each given the turn (who, what was understood, the conversation's state) and giving the
answer and the state to keep.

The citizen's own data and actions on their account (their cases and messages, changing
preferences, stopping an agency's messages) need a chat address the citizen proved
(``Turn.citizen_id``, docs/trust.md); a tracking id alone shows a case's status and public
updates, as the public page does.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from warta.deps import Warta
from warta.domain import cases as case_rules
from warta.domain import chat_replies as say
from warta.domain import chat_text, notification_qa
from warta.domain.channels import Option
from warta.errors import WartaError
from warta.services import citizen_self, content
from warta.services.cases import catalogue, filing, reads
from warta.services.cases.types import Actor, Location, NewCase, Reporter
from warta.services.chatbot import faq
from warta.services.chatbot.handoff import next_answer_time
from warta.services.chatbot.types import Answer

#: How long after a message "apa maksudnya?" is taken to be about it.
ABOUT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Turn:
    app: Warta
    channel: str
    address: str
    agency_id: uuid.UUID | None
    citizen_id: uuid.UUID | None
    language: str
    intent: str
    confidence: float
    entities: Any
    text: str
    option: str | None
    photo: bytes | None
    state: dict[str, Any] = field(default_factory=dict)
    now: datetime | None = None


Flow = Callable[[Turn], Awaitable[tuple[Answer, dict[str, Any]]]]


async def respond(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    """The answer to this turn: the guided complaint when one is under way (unless the
    citizen chose something else), a question about the last message, else the intent's."""
    flow = turn.state.get("flow")
    if flow == "buat_pengaduan" and not (turn.option or "").startswith("intent:"):
        return await complaint(turn)
    if flow == "cek_status" and turn.entities.tracking_id:
        return await status(turn)
    if turn.option == "ask" or turn.intent in ("faq", "tidak_dikenal"):
        about = await about_message(turn)
        if about is not None:
            return about, {}
    return await FLOWS[turn.intent](turn)


def _answer(turn: Turn, key: str, options: tuple[Option, ...] = (), **values: object) -> Answer:
    return Answer(turn.intent, turn.confidence, say.text(turn.language, key, **values), options)


# Small talk and help ---------------------------------------------------------------------


async def greet(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    return _answer(turn, "salam", say.menu(turn.language)), {}


async def thanks(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    return _answer(turn, "terima_kasih"), {}


async def help_menu(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    return _answer(turn, "bantuan", say.menu(turn.language)), {}


async def not_understood(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    """A short apology and the menu: never a made-up answer."""
    return _answer(turn, "tidak_dikenal", say.menu(turn.language)), {}


# Status ----------------------------------------------------------------------------------


async def status(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    tracking = turn.entities.tracking_id
    if tracking:
        return await _one_case(turn, tracking), {}
    if turn.citizen_id is not None:
        return await _own_cases(turn), {}
    return _answer(turn, "ask_tracking"), {"flow": "cek_status"}


async def _one_case(turn: Turn, tracking: str) -> Answer:
    shown = case_rules.format_tracking_id(tracking)
    try:
        case = await reads.public(turn.app, tracking)
    except WartaError:
        return _answer(turn, "no_case", id=shown)
    labels = case_rules.STATUS_LABELS["en" if turn.language == "en" else "id"]
    lines = [
        say.text(turn.language, "status", id=shown, service=case.service_name,
                 status=labels[case.status])
    ]  # fmt: skip
    said = [u.public_message for u in case.public_updates if u.public_message]
    if said:
        lines.append(say.text(turn.language, "status_update", message=said[-1]))
    lines.append(case_rules.NEXT_STEP["en" if turn.language == "en" else "id"][case.status])
    return Answer(turn.intent, turn.confidence, "\n".join(lines))


async def _own_cases(turn: Turn) -> Answer:
    assert turn.citizen_id is not None
    mine = (await reads.for_citizen(turn.app, turn.citizen_id))[:3]
    if not mine:
        return _answer(turn, "no_cases", (say.option(turn.language, "buat_pengaduan"),))
    labels = case_rules.STATUS_LABELS["en" if turn.language == "en" else "id"]
    lines = [say.text(turn.language, "my_cases")] + [
        f"{case_rules.format_tracking_id(c.tracking_id)} {c.service.name}: {labels[c.status]}"
        for c in mine
    ]
    return Answer(turn.intent, turn.confidence, "\n".join(lines))


# The guided complaint ----------------------------------------------------------------------


async def complaint(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    """Which service, what, where, a photo (chat channels), confirm, file: one step per
    message, the slots kept in the conversation's state."""
    state = dict(turn.state) if turn.state.get("flow") == "buat_pengaduan" else {}
    step = state.get("step")
    if step is None:
        return await _ask_service(turn)
    if step == "service":
        code = (turn.option or "").removeprefix("svc:")
        if not code or code not in state.get("codes", []):
            return await _ask_service(turn)
        return _answer(turn, "ask_what"), state | {"step": "what", "service": code}
    if step == "what" and turn.text.strip():
        return _answer(turn, "ask_where"), state | {"step": "where", "what": turn.text.strip()}
    if step == "where" and turn.text.strip():
        state |= {"where": turn.text.strip()}
        if turn.channel in ("telegram", "whatsapp"):  # where a citizen can send a photo
            skip = (say.option(turn.language, "skip"),)
            return _answer(turn, "ask_photo", skip), state | {"step": "photo"}
        return _confirm(turn, state)
    if step == "photo":
        return _confirm(turn, state, photo=turn.photo)
    if step == "confirm":
        if turn.option == "yes" or chat_text.normalise(turn.text) in ("ya", "yes", "iya", "y"):
            return await _file(turn, state)
        return _answer(turn, "cancelled", say.menu(turn.language)), {}
    return _answer(turn, f"ask_{step}" if step in ("what", "where") else "ask_what"), state


async def _ask_service(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    offered = [
        s for s in await catalogue.services(turn.app, turn.agency_id)
        if s.kind in ("pengaduan", "laporan")
    ][:10]  # fmt: skip
    if not offered:
        return _answer(turn, "no_service"), {}
    options = tuple(Option(f"svc:{s.code}", s.name[:20]) for s in offered)
    state = {"flow": "buat_pengaduan", "step": "service", "codes": [s.code for s in offered]}
    return _answer(turn, "ask_service", options), state


def _confirm(
    turn: Turn, state: dict[str, Any], photo: bytes | None = None
) -> tuple[Answer, dict[str, Any]]:
    options = (say.option(turn.language, "yes"), say.option(turn.language, "no"))
    answer = _answer(turn, "confirm", options, what=state["what"], where=state["where"])
    # The photo waits in the (sealed) state until the citizen confirms; it is checked and
    # stripped of its metadata when the case is filed.
    kept = base64.b64encode(photo).decode() if photo else None
    return answer, state | {"step": "confirm", "photo": kept}


async def _file(turn: Turn, state: dict[str, Any]) -> tuple[Answer, dict[str, Any]]:
    actor = Actor("citizen", turn.citizen_id) if turn.citizen_id else Actor("reporter")
    reporter = None
    if turn.citizen_id is None and turn.channel in ("sms", "whatsapp"):
        reporter = Reporter(phone=turn.address.removeprefix("whatsapp:"))
    new = NewCase(
        state["service"],
        state["what"],
        location=Location(address=state["where"]),
        citizen_id=None,
        reporter=reporter,
        photos=[base64.b64decode(state["photo"])] if state.get("photo") else (),
        source="chat" if turn.channel != "sms" else "sms",
        language="en" if turn.language == "en" else "id",
    )
    made = await filing.file_case(turn.app, actor, new)
    shown = case_rules.format_tracking_id(made.tracking_id)
    return _answer(turn, "filed", id=shown), {}


# Stop, start, preferences -------------------------------------------------------------


async def stop(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    return await _subscription(turn, granted=False), {}


async def start(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    return await _subscription(turn, granted=True), {}


async def _subscription(turn: Turn, *, granted: bool) -> Answer:
    """As the SMS keywords do: the phone's opt-out (for the agency, or every agency when
    the bot is the platform's); on Telegram, the portal or an app, the proven citizen's
    consent for the agency."""
    app, now = turn.app, turn.now or turn.app.clock()
    async with app.uow() as uow:
        agency = await uow.agencies.get(turn.agency_id) if turn.agency_id else None
        name = agency.name if agency else say.text(turn.language, "everyone")
        phone = (
            turn.address.removeprefix("whatsapp:") if turn.channel in ("sms", "whatsapp") else None
        )
        if phone:
            phone_hash = app.keyring.lookup_hash(phone)
            if agency is None:
                await (uow.sms.opt_out_everywhere(phone_hash, now) if not granted
                       else uow.sms.opt_in_everywhere(phone_hash))  # fmt: skip
            elif granted:
                await uow.sms.opt_in(agency.id, phone_hash)
            else:
                await uow.sms.opt_out(agency.id, phone_hash, now)
            await uow.commit()
    if not phone and turn.citizen_id is not None and agency is not None:
        shown = say.text(turn.language, "started" if granted else "stopped", agency=name)
        await citizen_self.choose(app, turn.citizen_id, agency.id, None, granted, shown)
    elif not phone:
        return _answer(turn, "prefs_need_proof", url=_portal(turn))
    return _answer(turn, "started" if granted else "stopped", agency=name)


async def preferences(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    """Channel order, quiet hours and language from what was said; a contact is changed
    only in the portal, where the trust model's proof is asked."""
    if turn.citizen_id is None:
        return _answer(turn, "prefs_need_proof", url=_portal(turn)), {}
    chosen = await citizen_self.choices(turn.app, turn.citizen_id)
    prefs, language, done = chosen.preferences, chosen.language, []
    # WhatsApp and Telegram are both Warta's "chat" channel (the contact decides which).
    named = [{"whatsapp": "chat", "telegram": "chat"}.get(c, c) for c in turn.entities.channels]
    channels = tuple(dict.fromkeys(c for c in named if c in ("sms", "email", "push", "chat")))
    if channels:
        order = channels + tuple(c for c in prefs.channels if c not in channels)
        prefs = replace(prefs, channels=order)
        done.append(say.text(turn.language, "channels", value=", ".join(order)))
    times = list(turn.entities.times)
    if times:
        start, end = times[0], times[1] if len(times) > 1 else prefs.quiet_end or "06:00"
        prefs = replace(prefs, quiet_start=start, quiet_end=end)
        done.append(say.text(turn.language, "quiet", value=f"{start}-{end}"))
    cap = _cap(turn)
    if cap is not None:
        field, most = cap
        if field == "max_per_week":
            prefs = replace(prefs, max_per_week=most)
        else:
            prefs = replace(prefs, max_per_day=most)
        done.append(say.text(turn.language, field, value=most))
    if turn.entities.language in ("id", "en"):
        language = turn.entities.language
        done.append(say.text(language, "language"))
    if not done:
        return _answer(turn, "prefs_how", url=_portal(turn)), {}
    await citizen_self.set_preferences(turn.app, turn.citizen_id, prefs, language)
    return _answer(replace(turn, language=language), "prefs_done", what=", ".join(done)), {}


_PER_DAY = ("sehari", "per hari", "a day", "per day", "daily")
_PER_WEEK = ("seminggu", "per minggu", "a week", "per week", "weekly")


def _cap(turn: Turn) -> tuple[str, int] | None:
    """ "paling banyak 3 pesan sehari" -> ("max_per_day", 3); per week likewise."""
    most = turn.entities.number
    if most is None or not 1 <= most <= 100:
        return None
    words = chat_text.normalise(turn.text)
    if any(w in words for w in _PER_WEEK):
        return "max_per_week", most
    if any(w in words for w in _PER_DAY):
        return "max_per_day", most
    return None


# Questions -------------------------------------------------------------------------------


async def question(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    """The agency's FAQ; without a match, an honest "not yet" and a person to ask."""
    if turn.agency_id is not None:
        found = faq.best(await faq.entries(turn.app, turn.agency_id), turn.text)
        if found is not None:
            return Answer(turn.intent, turn.confidence, found.answer), {}
    staff = (say.option(turn.language, "hubungi_petugas"),)
    return _answer(turn, "faq_none", staff), {}


async def about_message(turn: Turn) -> Answer | None:
    """A question about the message this address received last (within a week): from
    the template's Q&A, filled for that message; "apa maksudnya?" without a match gets
    the message itself back with who sent it."""
    app, now = turn.app, turn.now or turn.app.clock()
    async with app.uow() as uow:
        if turn.channel == "portal" and turn.citizen_id is not None:
            # On the portal, the message just received is the newest in their inbox.
            newest = await uow.inbox.page(turn.citizen_id, None, 1)
            row = newest[0] if newest and newest[0].created_at >= now - ABOUT_WINDOW else None
        else:
            row = await uow.conversations.last_notification(
                app.keyring.lookup_hashes(turn.address), now - ABOUT_WINDOW
            )
        agency = await uow.agencies.get(row.agency_id) if row is not None else None
    if row is None or row.content_enc is None or agency is None:
        return None
    sealed = content.unseal(app.keyring, row.content_enc)
    normalised = chat_text.normalise(turn.text)
    found = notification_qa.answer(sealed.get("qa"), normalised)
    if found is not None:
        return Answer("faq", max(turn.confidence, 0.9), found)
    if turn.option == "ask" or any(c in normalised for c in notification_qa.FIELDS["about"]):
        body = sealed.get("body") or sealed.get("text") or ""
        return _answer(turn, "about_message", agency=agency.name, text=body[:500])
    return None


# A person --------------------------------------------------------------------------------


async def person(turn: Turn) -> tuple[Answer, dict[str, Any]]:
    """Hand the conversation to the agency's staff (engine marks it); outside office
    hours the citizen is told when someone will answer."""
    if turn.agency_id is None or (turn.channel == "api" and turn.state.get("test")):
        return _answer(turn, "handoff_none"), {}
    async with turn.app.uow() as uow:
        agency = await uow.agencies.get(turn.agency_id)
    if agency is None:
        return _answer(turn, "handoff_none"), {}
    when = next_answer_time(agency, turn.now or turn.app.clock())
    if when is None:
        answer = _answer(turn, "handoff", agency=agency.name)
    else:
        zone = agency.office_zone
        answer = _answer(turn, "handoff_later", agency=agency.name,
                         when=when.strftime("%d-%m-%Y %H:%M ") + zone)  # fmt: skip
    return replace(answer, intent="hubungi_petugas", handed_off=True), {}


def _portal(turn: Turn) -> str:
    base = turn.app.settings.public_url.rstrip("/")
    return f"{base or ''}/portal/" if base else "/portal/"


FLOWS: dict[str, Flow] = {
    "cek_status": status,
    "buat_pengaduan": complaint,
    "berhenti": stop,
    "mulai": start,
    "ubah_preferensi": preferences,
    "bantuan": help_menu,
    "faq": question,
    "hubungi_petugas": person,
    "salam": greet,
    "terima_kasih": thanks,
    "tidak_dikenal": not_understood,
}
