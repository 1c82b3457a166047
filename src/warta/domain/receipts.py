"""Reading an SMPP delivery receipt: which message, and what Warta status it means.

An SMSC reports the fate of each part it took in a ``deliver_sm``. The short message
holds the text form of SMPP 3.4 Appendix B::

    id:0123456789 sub:001 dlvrd:001 submit date:2506121030 done date:2506121031
    stat:DELIVRD err:000 text:Halo Budi, jadwal

and SMPP 3.4 added two TLVs that say the same more reliably: ``receipted_message_id``
(0x001E) and ``message_state`` (0x0427). A TLV wins over the text when both are given.
SMSCs differ in case, order and which fields they send, so the text is read leniently.

States map to Notify's statuses as GOV.UK Notify maps them:

    DELIVRD (2)                          -> delivered
    EXPIRED (3), UNKNOWN (7)             -> temporary-failure   (phone off all validity)
    UNDELIV (5), REJECTD (8), DELETED (4) -> permanent-failure
    ENROUTE (1), ACCEPTD (6)             -> None                (not final: wait)

The ``text:`` field repeats the start of the message, which is personal data: it is never
read, and ``detail`` keeps only ``stat`` and ``err``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

FinalStatus = Literal["delivered", "temporary-failure", "permanent-failure"]

#: ``message_state`` TLV values, SMPP 3.4 section 5.2.28, by their receipt-text names.
MESSAGE_STATES: Mapping[int, str] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
_STATUSES: Mapping[str, FinalStatus | None] = {
    "DELIVRD": "delivered",
    "EXPIRED": "temporary-failure",
    "UNKNOWN": "temporary-failure",
    "UNDELIV": "permanent-failure",
    "REJECTD": "permanent-failure",
    "DELETED": "permanent-failure",
    "ENROUTE": None,
    "ACCEPTD": None,
}
#: Spellings some SMSCs use instead of the seven-letter codes.
_ALIASES: Mapping[str, str] = {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV",
    "REJECTED": "REJECTD",
    "ACCEPTED": "ACCEPTD",
    "ENROUTE": "ENROUTE",
    "EN_ROUTE": "ENROUTE",
}
# Each field's value runs to the next space; "text:" ends the part we read.
_FIELD = re.compile(
    r"\b(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text)\s*:(\S*)",
    re.IGNORECASE,
)
_STATE_NAME = re.compile(r"[A-Z_]{1,16}")
_ERROR_CODE = re.compile(r"[0-9A-Za-z]{1,10}")


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A parsed receipt. ``status`` is None while the message is not final yet."""

    message_id: str
    status: FinalStatus | None
    detail: str  # "stat:UNDELIV err:001": the SMSC's own words, without personal data


def parse_receipt(
    text: str,
    *,
    receipted_message_id: str | None = None,
    message_state: int | None = None,
) -> DeliveryReport:
    """Read a receipt from its short message text and the two TLVs, if sent.

    >>> parse_receipt("id:7f3a sub:001 dlvrd:001 submit date:2506121030 "
    ...               "done date:2506121031 stat:DELIVRD err:000 text:Halo")
    DeliveryReport(message_id='7f3a', status='delivered', detail='stat:DELIVRD err:000')
    >>> parse_receipt("", receipted_message_id="7f3a", message_state=5)
    DeliveryReport(message_id='7f3a', status='permanent-failure', detail='stat:UNDELIV')

    A state this module does not know is treated as SMPP's UNKNOWN (temporary-failure),
    so the notification still ends. Raises ``ValueError`` if no message id is given.
    """
    fields = _fields(text)
    message_id = (receipted_message_id or "").strip("\x00 ") or fields.get("id", "")
    if not message_id:
        raise ValueError("delivery receipt has no message id")
    state = MESSAGE_STATES.get(message_state or 0) or _state_name(fields.get("stat", ""))
    error = fields.get("err", "")
    detail = f"stat:{state}" + (f" err:{error}" if _ERROR_CODE.fullmatch(error) else "")
    return DeliveryReport(message_id, _STATUSES.get(state, "temporary-failure"), detail)


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for match in _FIELD.finditer(text):
        name = match.group(1).lower().replace("_", " ")
        if name == "text":
            break  # the rest is the message itself
        fields.setdefault(name, match.group(2))
    return fields


def _state_name(raw: str) -> str:
    name = raw.upper()
    name = _ALIASES.get(name, name)
    return name if _STATE_NAME.fullmatch(name) else "UNKNOWN"
