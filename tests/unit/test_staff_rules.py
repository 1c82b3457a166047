"""The console's pure rules: what each role may do, lockout, which passwords are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warta.domain.staff import (
    PERMISSIONS,
    ROLES,
    Allowance,
    Lockout,
    can,
    password_problem,
    role_problem,
)

GRANTED = {
    "admin": {"view", "send", "edit_templates", "manage_api", "manage_team", "work_cases"},
    "editor": {"view", "send", "edit_templates", "work_cases"},
    "sender": {"view", "send", "work_cases"},
    "viewer": {"view"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("permission", sorted(PERMISSIONS))
def test_each_role_has_exactly_its_permissions(role: str, permission: str) -> None:
    assert can(role, permission) is (permission in GRANTED[role])


def test_unknown_roles_get_nothing_and_unknown_permissions_are_a_bug() -> None:
    assert not can("superuser", "view")
    with pytest.raises(ValueError, match="unknown permission"):
        can("admin", "delete_everything")
    assert role_problem("owner") == "role must be one of admin, editor, sender, viewer"
    assert role_problem("viewer") is None


EMAIL_IN_IT = "Password must not contain your email address"
NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def test_the_lockout_pauses_an_address_after_5_and_an_account_after_100() -> None:
    """The numbers the store counts against (``StaffRepository.reserve_try``): per account
    and address a few tries and a short pause; per account, NIST's 100 and a longer one.
    Counts are kept as long as the longer pause looks back."""
    policy = Lockout()
    assert policy.per_client == Allowance(5, timedelta(minutes=15))
    assert policy.per_account == Allowance(100, timedelta(hours=1))
    assert policy.kept == timedelta(hours=1)
    assert Lockout(per_client=Allowance(3, timedelta(days=1))).kept == timedelta(days=1)


@pytest.mark.parametrize(
    ("password", "email", "problem"),
    [
        ("pendek", "", "Password must be at least 12 characters"),
        ("x" * 257, "", "Password must be at most 256 characters"),
        ("Indonesia123", "", "Password is too easy to guess: choose another"),
        ("aaaaaaaaaaaaaaaa", "", "Password is too easy to guess: choose another"),
        ("ababababababab", "", "Password is too easy to guess: choose another"),
        ("budi.santoso-2026!", "budi.santoso@kominfo.go.id", EMAIL_IN_IT),
        ("kopi tubruk di pagi hari", "budi@kominfo.go.id", None),
        ("Budi likes kopi a lot", "bu@x.id", None),  # a short local part is not a rule
    ],
    ids=["short", "long", "common", "one-letter", "two-letters", "email", "fine", "short-local"],
)  # fmt: skip
def test_password_rules(password: str, email: str, problem: str | None) -> None:
    assert password_problem(password, email) == problem
