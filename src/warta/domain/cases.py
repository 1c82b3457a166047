"""Citizen cases: complaints (pengaduan), reports (laporan) and applications (permohonan).

The lifecycle follows SP4N-LAPOR!: a case is received, verified or forwarded to the agency
that owns the matter within 3 working days, followed up within 5, and closes 10 working
days after it is resolved (or after the agency asked the citizen something) unless the
citizen answers. Who may move a case where is a table (``MOVES``), tested as one.

Tracking ids are read over the phone: 8 characters from an alphabet without 0/O and 1/I,
the last a check character (Luhn mod 32), so one misheard character is caught before a
lookup, shown as ``K7QM-2H9D``.

Pure: no I/O.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Final, Literal, NamedTuple, get_args

from warta.errors import InvalidInput

Status = Literal[
    "received",
    "verified",
    "forwarded",
    "in_progress",
    "waiting_for_citizen",
    "resolved",
    "closed",
    "rejected",
    "duplicate",
    "reopened",
]
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
Kind = Literal["pengaduan", "laporan", "permohonan"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
Mover = Literal["agency", "citizen", "system"]

TERMINAL: Final = frozenset({"closed", "rejected", "duplicate"})
#: Statuses a duplicate or a rejection may come from: any that is not already final.
_OPEN: Final = frozenset(STATUSES) - TERMINAL

#: Where the agency may move a case from each status, besides rejecting it or marking it
#: a duplicate, which it may do to any case still open.
_AGENCY: Final[dict[str, frozenset[str]]] = {
    "received": frozenset(
        {"verified", "forwarded", "in_progress", "waiting_for_citizen", "resolved"}
    ),
    "verified": frozenset({"forwarded", "in_progress", "waiting_for_citizen", "resolved"}),
    "forwarded": frozenset(
        {"verified", "forwarded", "in_progress", "waiting_for_citizen", "resolved"}
    ),
    "in_progress": frozenset({"forwarded", "waiting_for_citizen", "resolved"}),
    "waiting_for_citizen": frozenset({"in_progress", "resolved", "closed"}),
    "resolved": frozenset({"in_progress", "closed"}),
    "reopened": frozenset({"forwarded", "in_progress", "waiting_for_citizen", "resolved"}),
}

#: Where each side may move a case from each status. Forwarding, marking a duplicate and
#: rejecting have their own commands (they need a target or a reason) but are moves too.
MOVES: Final[dict[Mover, dict[str, frozenset[str]]]] = {
    "agency": {s: _AGENCY.get(s, frozenset()) | {"rejected", "duplicate"} for s in _OPEN},
    # The citizen answers a question, or says a resolved case is not resolved.
    "citizen": {
        "waiting_for_citizen": frozenset({"in_progress"}),
        "resolved": frozenset({"reopened"}),
    },
    # Timers: nobody answered within the window.
    "system": {
        "waiting_for_citizen": frozenset({"closed"}),
        "resolved": frozenset({"closed"}),
    },
}


def can_move(current: str, target: str, by: Mover) -> bool:
    return target in MOVES[by].get(current, frozenset())


def check_move(current: str, target: str, by: Mover) -> None:
    if target not in STATUSES:
        raise InvalidInput(
            "status %(status)s: must be one of %(statuses)s",
            status=repr(target),
            statuses=", ".join(STATUSES),
        )
    if not can_move(current, target, by):
        raise InvalidInput(
            "a case that is %(current)s cannot become %(target)s",
            current=current,
            target=target,
        )


# Deadlines -----------------------------------------------------------------------------

#: The timer each status runs: the agency's (a breach is flagged and its supervisors told)
#: or the citizen's (the case closes by itself when it ends). Terminal statuses run none.
Step = Literal["verify", "follow_up", "citizen_answer", "reopen_window"]
STEP_OF: Final[dict[str, Step]] = {
    "received": "verify",
    "verified": "follow_up",
    "forwarded": "verify",  # the new owner verifies it first, as LAPOR counts it
    "in_progress": "follow_up",
    "reopened": "follow_up",
    "waiting_for_citizen": "citizen_answer",
    "resolved": "reopen_window",
}
AGENCY_STEPS: Final = frozenset({"verify", "follow_up"})


# Open311 -------------------------------------------------------------------------------

#: GeoReport v2 knows only open and closed; the detail is FixMyStreet's extended status.
OPEN311_STATUS: Final[dict[str, str]] = {
    s: ("closed" if s in TERMINAL or s == "resolved" else "open") for s in STATUSES
}
EXTENDED_STATUS: Final[dict[str, str]] = {
    "received": "open",
    "verified": "investigating",
    "forwarded": "internal_referral",
    "in_progress": "in_progress",
    "waiting_for_citizen": "action_scheduled",
    "resolved": "fixed",
    "closed": "closed",
    "rejected": "no_further_action",
    "duplicate": "duplicate",
    "reopened": "open",
}


# Words ---------------------------------------------------------------------------------

STATUS_LABELS: Final[dict[str, dict[str, str]]] = {
    "id": {
        "received": "Diterima",
        "verified": "Diverifikasi",
        "forwarded": "Diteruskan",
        "in_progress": "Sedang ditindaklanjuti",
        "waiting_for_citizen": "Menunggu jawaban Anda",
        "resolved": "Selesai ditindaklanjuti",
        "closed": "Ditutup",
        "rejected": "Ditolak",
        "duplicate": "Duplikat",
        "reopened": "Dibuka kembali",
    },
    "en": {
        "received": "Received",
        "verified": "Verified",
        "forwarded": "Forwarded",
        "in_progress": "In progress",
        "waiting_for_citizen": "Waiting for your answer",
        "resolved": "Resolved",
        "closed": "Closed",
        "rejected": "Rejected",
        "duplicate": "Duplicate",
        "reopened": "Reopened",
    },
}

#: What happens next, told to the citizen with each status.
NEXT_STEP: Final[dict[str, dict[str, str]]] = {
    "id": {
        "received": "Kami akan memverifikasinya dalam 3 hari kerja.",
        "verified": "Instansi akan menindaklanjutinya dalam 5 hari kerja.",
        "forwarded": "Instansi tujuan akan memverifikasinya dalam 3 hari kerja.",
        "in_progress": "Kami akan mengabari Anda setiap ada perkembangan.",
        "waiting_for_citizen": "Mohon jawab dalam 10 hari kerja, atau kasus akan ditutup.",
        "resolved": "Jika belum selesai, balas dalam 10 hari kerja untuk membukanya kembali.",
        "closed": "Kasus ini sudah ditutup.",
        "rejected": "Kasus ini tidak dilanjutkan.",
        "duplicate": "Perkembangan akan dilaporkan pada kasus yang sama.",
        "reopened": "Instansi akan menindaklanjutinya dalam 5 hari kerja.",
    },
    "en": {
        "received": "We will verify it within 3 working days.",
        "verified": "The agency will follow it up within 5 working days.",
        "forwarded": "The receiving agency will verify it within 3 working days.",
        "in_progress": "We will tell you of every development.",
        "waiting_for_citizen": "Please answer within 10 working days, or the case will close.",
        "resolved": "If it is not resolved, reply within 10 working days to reopen it.",
        "closed": "This case is closed.",
        "rejected": "This case will not be taken further.",
        "duplicate": "Progress will be reported on the same case.",
        "reopened": "The agency will follow it up within 5 working days.",
    },
}


# Tracking ids ----------------------------------------------------------------------------

#: No 0/O or 1/I: each character is one a person can say and hear without doubt.
ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_VALUE: Final = {c: i for i, c in enumerate(ALPHABET)}
_LENGTH: Final = 8


def _check_char(body: str) -> str:
    """Luhn mod N: catches any single wrong character and most swaps of neighbours."""
    n, total, factor = len(ALPHABET), 0, 2
    for char in reversed(body):
        addend = factor * _VALUE[char]
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_tracking_id(choice: Callable[[str], str] = secrets.choice) -> str:
    body = "".join(choice(ALPHABET) for _ in range(_LENGTH - 1))
    return body + _check_char(body)


def normalise_tracking_id(raw: str) -> str:
    """``"k7qm 2h9d"`` or ``"K7QM-2H9D"`` -> ``"K7QM2H9D"``, or a clear error."""
    text = "".join(ch for ch in (raw or "").upper() if ch not in " -.")
    if len(text) != _LENGTH or any(ch not in _VALUE for ch in text):
        raise InvalidInput(
            "tracking id %(id)s: 8 letters and digits, without 0, O, 1 or I", id=repr(raw)
        )
    if _check_char(text[:-1]) != text[-1]:
        raise InvalidInput("tracking id %(id)s: a character is wrong", id=repr(raw))
    return text


def format_tracking_id(tracking_id: str) -> str:
    return f"{tracking_id[:4]}-{tracking_id[4:]}"


# Services ------------------------------------------------------------------------------

MAX_DESCRIPTION: Final = 5000
MAX_MESSAGE: Final = 2000


def check_service_code(code: str) -> str:
    text = (code or "").strip()
    if (
        not text
        or len(text) > 64
        or not all(ch.isascii() and (ch.isalnum() or ch in "-_.") for ch in text)
    ):
        raise InvalidInput(
            "service code %(code)s: 1 to 64 letters, digits, '-', '_' or '.'", code=repr(code)
        )
    return text


# What the citizen and the agency's supervisors are sent --------------------------------

#: The key of the message for a public update that does not change the status.
UPDATE: Final = "update"
#: The key of the message to the agency's supervisors when a deadline is missed.
BREACH: Final = "breach"


class DefaultMessage(NamedTuple):
    name: str
    subject: str
    email: str
    sms: str


def default_message(key: str, language: str) -> DefaultMessage:
    """The text an agency starts with for a status (or ``update``, ``breach``); it edits
    the template afterwards. Placeholders: tracking_id, service, status, message,
    next_step, track_url (and due_date, case_url for a breach)."""
    if key == BREACH:
        return DefaultMessage(
            "Kasus: tenggat terlewat",
            "Tenggat terlewat: kasus ((tracking_id))",
            "Kasus ((tracking_id)) (((service))), berstatus ((status)), melewati tenggatnya "
            "((due_date)).\n\nBuka kasus di konsol: ((case_url))",
            "",
        )
    english = language == "en"
    label = STATUS_LABELS["en" if english else "id"].get(key, "Update" if english else "Kabar")
    if english:
        return DefaultMessage(
            f"Case: {label} (en)",
            "Your case ((tracking_id)): ((status))",
            "Your case ((tracking_id)), ((service))\n\nStatus: **((status))**\n\n((message))"
            "\n\n((next_step))\n\nFollow your case: ((track_url))",
            "Case ((tracking_id)) ((service)): ((status)). ((message)) ((next_step)) ((track_url))",
        )
    return DefaultMessage(
        f"Kasus: {label}",
        "Kasus Anda ((tracking_id)): ((status))",
        "Kasus Anda ((tracking_id)), ((service))\n\nStatus: **((status))**\n\n((message))"
        "\n\n((next_step))\n\nLacak kasus Anda: ((track_url))",
        "Kasus ((tracking_id)) ((service)): ((status)). ((message)) ((next_step)) ((track_url))",
    )
