"""Recipients that are never sent to, so agencies can test against live keys safely.

These are GOV.UK Notify's own, so test suites written for Notify keep working. With any
key, the smoke-test recipients are accepted and marked delivered without sending. With a
test key every recipient is simulated, and these give the matching failure status:

    >>> simulated_status("sms", "07700900002", test_key=True)
    'permanent-failure'
    >>> simulated_status("email", "budi@example.go.id", test_key=True)
    'delivered'
    >>> simulated_status("email", "budi@example.go.id", test_key=False) is None
    True
"""

from __future__ import annotations

import re

_SMOKE_SMS = {"7700900000", "7700900111", "7700900222"}
_SMOKE_EMAIL = {
    "simulate-delivered@notifications.service.gov.uk",
    "simulate-delivered-2@notifications.service.gov.uk",
    "simulate-delivered-3@notifications.service.gov.uk",
}
_FAILING_SMS = {"7700900002": "permanent-failure", "7700900003": "temporary-failure"}
_FAILING_EMAIL = {
    "perm-fail@simulator.notify": "permanent-failure",
    "temp-fail@simulator.notify": "temporary-failure",
}


def _uk_national(phone: str) -> str | None:
    """'07700 900002', '+447700900002' and '447700900002' -> '7700900002'."""
    digits = re.sub(r"[\s()\-.]", "", phone)
    for prefix in ("+44", "0044", "44", "0"):
        if digits.startswith(prefix):
            rest = digits[len(prefix) :]
            return rest if rest.isdigit() and len(rest) == 10 else None
    return None


def is_simulated(channel: str, recipient: str) -> bool:
    """True for every Notify simulated recipient (smoke-test or failure)."""
    if channel == "sms":
        national = _uk_national(recipient)
        return national is not None and (national in _SMOKE_SMS or national in _FAILING_SMS)
    address = recipient.strip().lower()
    return address in _SMOKE_EMAIL or address in _FAILING_EMAIL


def simulated_status(channel: str, recipient: str, *, test_key: bool) -> str | None:
    """The final status to record instead of sending, or None to really send."""
    if channel == "sms":
        national = _uk_national(recipient)
        failing = _FAILING_SMS.get(national or "")
        smoke = national in _SMOKE_SMS
    else:
        address = recipient.strip().lower()
        failing = _FAILING_EMAIL.get(address)
        smoke = address in _SMOKE_EMAIL
    if failing and test_key:
        return failing
    if smoke or failing or test_key:
        return "delivered"
    return None
