"""The console's pure rules: what each role may do, lockout, which passwords are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warta.domain.staff import PERMISSIONS, ROLES, Lockout, can, password_problem, role_problem

GRANTED = {
    "admin": {"view", "send", "edit_templates", "manage_api", "manage_team"},
    "editor": {"view", "send", "edit_templates"},
    "sender": {"view", "send"},
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


def test_the_fifth_failure_locks_for_fifteen_minutes_and_resets_the_count() -> None:
    policy, failures, until = Lockout(), 0, None
    for expected in (1, 2, 3, 4):
        failures, until = policy.after_failure(failures, NOW)
        assert (failures, until) == (expected, None)
    failures, until = policy.after_failure(failures, NOW)
    assert (failures, until) == (0, NOW + timedelta(minutes=15))
    assert policy.locked(until, NOW + timedelta(minutes=14, seconds=59))
    assert not policy.locked(until, NOW + timedelta(minutes=15))
    assert not policy.locked(None, NOW)


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
