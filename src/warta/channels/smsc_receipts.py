"""The delivery receipts the local SMSC (``warta.channels.smsc``) owes its ESMEs.

Each part it takes gets a receipt, as a real SMSC sends one: as receipt text (SMPP 3.4
Appendix B, ``id:... stat:DELIVRD err:000 text:...``) or as the ``receipted_message_id`` and
``message_state`` TLVs. A receipt that finds no bound ESME waits for the next bind, as an
SMSC queues them.
"""

from __future__ import annotations

import asyncio
import builtins
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import smpp34

from warta.channels.sms_smpp_receiving import TLV_MESSAGE_STATE, TLV_RECEIPTED_MESSAGE_ID
from warta.domain.receipts import MESSAGE_STATES
from warta.domain.sms import Concat

ReceiptForm = Literal["text", "tlv"]

_RECEIPT = 0x04  # esm_class of an SMSC delivery receipt
_STATE_NUMBERS = {name: number for number, name in MESSAGE_STATES.items()}


@dataclass(frozen=True, slots=True)
class SubmittedPart:
    """One ``submit_sm`` the SMSC took, as it came over the wire."""

    message_id: str
    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    text: str  # decoded, without the UDH
    concat: Concat | None


class Receipts:
    """Sends receipts to the ESME ``receiver()`` names (``None``: none bound) and keeps
    those it could not send for ``take_unsent`` on the next bind. ``sent`` holds the newest
    ``keep`` (message id, state) sent, oldest first."""

    def __init__(
        self, form: ReceiptForm, receiver: Callable[[], smpp34.Esme | None], *, keep: int
    ) -> None:
        if form not in ("text", "tlv"):
            raise ValueError(f"receipt_form must be text or tlv, got {form!r}")
        self.form: ReceiptForm = form
        self.sent: deque[tuple[str, str]] = deque(maxlen=keep)
        self._receiver = receiver
        self._unsent: builtins.list[tuple[SubmittedPart, str]] = []

    async def send(self, part: SubmittedPart, state: str, delay: float = 0.0) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        esme = self._receiver()
        fields = receipt_fields(part, state, self.form)
        try:
            if esme is None:
                raise LookupError("no ESME bound")
            response = await esme.deliver_sm(part.source_addr, **fields)
            if not response.is_success:
                raise LookupError("refused")
        except (LookupError, smpp34.SmppError):
            self._unsent.append((part, state))  # sent again on the next bind
            return
        self.sent.append((part.message_id, state))

    def take_unsent(self) -> builtins.list[tuple[SubmittedPart, str]]:
        unsent, self._unsent = self._unsent, []
        return unsent


def receipt_fields(part: SubmittedPart, state: str, form: ReceiptForm) -> dict[str, Any]:
    """The ``deliver_sm`` fields of ``part``'s receipt in ``state`` (``DELIVRD``...)."""
    fields: dict[str, Any] = {
        "source_addr": part.destination_addr,
        "source_addr_ton": part.dest_addr_ton,
        "source_addr_npi": part.dest_addr_npi,
        "dest_addr_ton": part.source_addr_ton,
        "dest_addr_npi": part.source_addr_npi,
        "esm_class": _RECEIPT,
    }
    if form == "tlv":
        fields["tlvs"] = [
            smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, part.message_id.encode() + b"\0"),
            smpp34.Tlv(TLV_MESSAGE_STATE, bytes([_STATE_NUMBERS.get(state, 7)])),
        ]
        return fields
    stamp = datetime.now(UTC).strftime("%y%m%d%H%M")
    delivered = "001" if state == "DELIVRD" else "000"
    error = "000" if state == "DELIVRD" else "001"
    # Real SMSCs echo the first 20 characters; Warta must ignore them (personal data).
    sample = part.text[:20].encode("ascii", "replace").decode("ascii")
    fields["short_message"] = (
        f"id:{part.message_id} sub:001 dlvrd:{delivered} submit date:{stamp} "
        f"done date:{stamp} stat:{state} err:{error} text:{sample}"
    ).encode("ascii")
    return fields
