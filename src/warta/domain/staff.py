"""Agency staff: what each role may do, when a sign-in locks, which passwords are refused.

Pure rules for the console (``services.staff`` applies them). Roles follow GOV.UK
Notify's split of permissions, made into four fixed roles an agency can explain:

    >>> can("sender", "send")
    True
    >>> can("viewer", "send")
    False
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ROLES = ("admin", "editor", "sender", "viewer")

#: What a permission lets a person do, for the team page and for error messages.
PERMISSIONS = {
    "view": "see the dashboard, templates, notifications, topics and broadcasts",
    "send": "send one message, bulk lists and broadcasts",
    "edit_templates": "create and change templates and topics",
    "manage_api": "create and revoke API keys, set callbacks",
    "manage_team": "invite staff, change their roles, remove them",
}

_GRANTS = {
    "admin": frozenset(PERMISSIONS),
    "editor": frozenset({"view", "send", "edit_templates"}),
    "sender": frozenset({"view", "send"}),
    "viewer": frozenset({"view"}),
}


def can(role: str, permission: str) -> bool:
    """Unknown roles and permissions are refused, never granted by accident."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission in _GRANTS.get(role, frozenset())


def role_problem(role: str) -> str | None:
    if role not in ROLES:
        return f"role must be one of {', '.join(ROLES)}"
    return None


@dataclass(frozen=True)
class Lockout:
    """After ``limit`` wrong passwords or codes in a row, sign-in is refused for ``lock``.

    Counted per account, not per address: guessing from many addresses still locks. A
    right answer while locked is refused too, or a lock would only slow a guesser.
    """

    limit: int = 5
    lock: timedelta = timedelta(minutes=15)

    def locked(self, locked_until: datetime | None, now: datetime) -> bool:
        return locked_until is not None and now < locked_until

    def after_failure(self, failures: int, now: datetime) -> tuple[int, datetime | None]:
        """The new failure count and, once it reaches the limit, when the lock ends."""
        failures += 1
        if failures >= self.limit:
            return 0, now + self.lock
        return failures, None


#: Passwords people pick first; a real deployment adds a breached-password list.
_COMMON = frozenset(
    {
        "password",
        "password1",
        "password123",
        "123456789012",
        "qwertyuiop",
        "iloveyou",
        "admin12345",
        "indonesia",
        "indonesia123",
        "jakarta123",
        "rahasia123",
        "bismillah",
        "bismillah123",
        "katasandi",
        "warta12345",
    }
)
MIN_PASSWORD = 12


def password_problem(password: str, email: str = "") -> str | None:
    """Length over composition rules (NIST SP 800-63B): long, not common, not the email.

    >>> password_problem("short")
    'Password must be at least 12 characters'
    >>> password_problem("kopi tubruk di pagi hari") is None
    True
    """
    if len(password) < MIN_PASSWORD:
        return f"Password must be at least {MIN_PASSWORD} characters"
    if len(password) > 256:
        return "Password must be at most 256 characters"
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        return "Password is too easy to guess: choose another"
    local = email.partition("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        return "Password must not contain your email address"
    return None
