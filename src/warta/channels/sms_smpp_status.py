"""SMPP 3.4 ``command_status`` values (section 5.1.3): their names, and what a refused
``submit_sm`` means for Warta (see the table in ``warta.channels.sms_smpp``)."""

from __future__ import annotations

from collections.abc import Mapping

from warta.errors import DeliveryError, PermanentFailure, ProviderUnavailable, TechnicalFailure

#: SMPP 3.4 command_status names, for messages and logs.
ESME_NAMES: Mapping[int, str] = {
    0x00: "ESME_ROK", 0x01: "ESME_RINVMSGLEN", 0x02: "ESME_RINVCMDLEN",
    0x03: "ESME_RINVCMDID", 0x04: "ESME_RINVBNDSTS", 0x05: "ESME_RALYBND",
    0x06: "ESME_RINVPRTFLG", 0x07: "ESME_RINVREGDLVFLG", 0x08: "ESME_RSYSERR",
    0x0A: "ESME_RINVSRCADR", 0x0B: "ESME_RINVDSTADR", 0x0C: "ESME_RINVMSGID",
    0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID",
    0x11: "ESME_RCANCELFAIL", 0x13: "ESME_RREPLACEFAIL", 0x14: "ESME_RMSGQFUL",
    0x15: "ESME_RINVSERTYP", 0x33: "ESME_RINVNUMDESTS", 0x34: "ESME_RINVDLNAME",
    0x40: "ESME_RINVDESTFLAG", 0x42: "ESME_RINVSUBREP", 0x43: "ESME_RINVESMCLASS",
    0x44: "ESME_RCNTSUBDL", 0x45: "ESME_RSUBMITFAIL", 0x48: "ESME_RINVSRCTON",
    0x49: "ESME_RINVSRCNPI", 0x50: "ESME_RINVDSTTON", 0x51: "ESME_RINVDSTNPI",
    0x53: "ESME_RINVSYSTYP", 0x54: "ESME_RINVREPFLAG", 0x55: "ESME_RINVNUMMSGS",
    0x58: "ESME_RTHROTTLED", 0x61: "ESME_RINVSCHED", 0x62: "ESME_RINVEXPIRY",
    0x63: "ESME_RINVDFTMSGID", 0x64: "ESME_RX_T_APPN", 0x65: "ESME_RX_P_APPN",
    0x66: "ESME_RX_R_APPN", 0x67: "ESME_RQUERYFAIL", 0xC0: "ESME_RINVOPTPARSTREAM",
    0xC1: "ESME_ROPTPARNOTALLWD", 0xC2: "ESME_RINVPARLEN", 0xC3: "ESME_RMISSINGOPTPARAM",
    0xC4: "ESME_RINVOPTPARAMVAL", 0xFE: "ESME_RDELIVERYFAILURE", 0xFF: "ESME_RUNKNOWNERR",
}  # fmt: skip
BUSY = frozenset({0x14, 0x58})  # queue full, throttled: wait and submit again
_NUMBER_REFUSED = frozenset({0x0B, 0x50, 0x51, 0xFE})  # the destination is the problem
_SMSC_FAULT = frozenset({0x08})  # the SMSC's own error: it may work later, or elsewhere


def status_name(status: int) -> str:
    """``status_name(0x58)`` -> ``"ESME_RTHROTTLED (0x00000058)"``."""
    return f"{ESME_NAMES.get(status, 'ESME status')} (0x{status:08X})"


def refused(provider: str, status: int) -> DeliveryError:
    """The error for a ``submit_sm_resp`` with a status other than ``BUSY`` or OK."""
    message = f"SMPP provider {provider} refused submit_sm: {status_name(status)}"
    if status in _NUMBER_REFUSED:
        return PermanentFailure(message)
    if status in _SMSC_FAULT:
        return ProviderUnavailable(message)
    return TechnicalFailure(message)
