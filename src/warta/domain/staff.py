"""Agency staff: what each role may do, when sign-in stops checking, which passwords are refused.

Pure rules for the console (``services.staff`` applies them). Roles follow GOV.UK
Notify's split of permissions, made into four fixed roles an agency can explain:

    >>> can("sender", "send")
    True
    >>> can("viewer", "send")
    False
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

ROLES = ("admin", "editor", "sender", "viewer")

#: What a permission lets a person do, for the team page and for error messages.
PERMISSIONS = {
    "view": "see the dashboard, templates, notifications, topics and broadcasts",
    "send": "send one message, bulk lists and broadcasts",
    "edit_templates": "create and change templates and topics",
    "manage_api": "create and revoke API keys, set callbacks",
    "manage_team": "invite staff, change their roles, remove them",
    "work_cases": "assign, update, forward and close citizens' cases",
}

_GRANTS = {
    "admin": frozenset(PERMISSIONS),
    "editor": frozenset({"view", "send", "edit_templates", "work_cases"}),
    "sender": frozenset({"view", "send", "work_cases"}),
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
class Allowance:
    """``limit`` wrong tries, each within ``lock`` of the one before; after the last, no
    try is checked until ``lock`` has passed since it."""

    limit: int
    lock: timedelta


@dataclass(frozen=True)
class Lockout:
    """When the console stops checking passwords and codes for an account.

    Counted per account *and client address* (IPv6: its /64), with a much higher ceiling
    per account from every address together:

    - ``per_client``: 5 wrong tries lock that address out of that account for 15
      minutes. A guesser is stopped, and someone elsewhere cannot lock a colleague out:
      the colleague's own address still signs in.
    - ``per_account``: 100 wrong tries from all addresses together lock the account for
      everyone for an hour (NIST SP 800-63B: at most 100 failed tries on an account).
      This bounds a guesser with many addresses (about 2,400 guesses a day instead of
      20 a day per address); locking someone out this way takes 20 addresses (/64s),
      not one, and lifts by itself, or at once with ``warta staff reset``.

    A try is counted *before* its password is checked (``store.repositories.staff``
    reserves it atomically), so tries sent all at once check at most ``limit``. A right
    answer clears the address's count and gives back its own reservation of the
    ceiling. A locked account, an unknown one and a wrong password answer alike.
    """

    per_client: Allowance = Allowance(5, timedelta(minutes=15))
    per_account: Allowance = Allowance(100, timedelta(hours=1))

    @property
    def kept(self) -> timedelta:
        """How long a count matters: older ones are forgotten."""
        return max(self.per_client.lock, self.per_account.lock)


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
