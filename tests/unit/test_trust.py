"""The trust model's rules (``domain/trust.py``), one row per case, named for who tries what."""

from __future__ import annotations

import uuid

import pytest

from warta.domain import trust
from warta.domain.trust import CITIZEN, ContactChoice

US = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
THEM = uuid.UUID("00000000-0000-0000-0000-0000000000b2")


@pytest.mark.parametrize(
    ("scope", "agency", "usable", "changeable"),
    [
        pytest.param(CITIZEN, US, True, False, id="citizen's own: used, not changed"),
        pytest.param(str(US), US, True, True, id="ours, unconfirmed: used and changed"),
        pytest.param(str(THEM), US, False, False, id="another agency's: untouchable"),
        pytest.param(str(US), THEM, False, False, id="ours, seen by them: untouchable"),
    ],
)
def test_what_an_agency_may_do_with_a_contact(
    scope: str, agency: uuid.UUID, usable: bool, changeable: bool
) -> None:
    assert trust.usable_by(scope, agency) is usable
    assert trust.may_change_contact(scope, agency) is changeable


@pytest.mark.parametrize(
    ("scope", "added_by", "registered_by", "has_own", "opens"),
    [
        pytest.param(CITIZEN, None, US, True, True, id="the citizen's own"),
        pytest.param(CITIZEN, US, US, True, True, id="the registrant's, confirmed: their own"),
        pytest.param(CITIZEN, THEM, US, True, True, id="a linker's, confirmed: their own"),
        pytest.param(str(US), US, US, False, True, id="first own: the registrant's, none own"),
        pytest.param(str(US), US, US, True, False, id="the registrant's, once one is own"),
        pytest.param(str(THEM), THEM, US, False, False, id="a linking agency's: never"),
        pytest.param(str(THEM), THEM, US, True, False, id="a linking agency's, one own: never"),
        pytest.param(str(US), US, None, False, False, id="registrant unknown: never"),
        pytest.param(str(THEM), US, US, False, False, id="scope not the registrant's: never"),
        pytest.param(str(US), THEM, US, False, False, id="added by another: never"),
    ],
)
def test_which_contacts_open_the_portal(
    scope: str,
    added_by: uuid.UUID | None,
    registered_by: uuid.UUID | None,
    has_own: bool,
    opens: bool,
) -> None:
    allowed = trust.opens_portal(
        scope, added_by=added_by, registered_by=registered_by, citizen_has_own=has_own
    )
    assert allowed is opens


@pytest.mark.parametrize(
    ("adder", "scope"),
    [
        pytest.param(None, CITIZEN, id="the citizen adds: their own"),
        pytest.param(US, str(US), id="an agency adds: that agency's alone"),
    ],
)
def test_a_new_contact_takes_the_scope_of_who_added_it(adder: uuid.UUID | None, scope: str) -> None:
    assert trust.scope_for(adder) == scope


@pytest.mark.parametrize(
    ("registered_by", "agency", "allowed"),
    [
        pytest.param(US, US, True, id="the registrant"),
        pytest.param(THEM, US, False, id="a linking agency"),
        pytest.param(None, US, False, id="registrant unknown (made before it was kept)"),
    ],
)
def test_only_the_registrant_sees_and_edits_the_record(
    registered_by: uuid.UUID | None, agency: uuid.UUID, allowed: bool
) -> None:
    assert trust.sees_record(registered_by, agency) is allowed
    assert trust.may_edit_record(registered_by, agency) is allowed


@pytest.mark.parametrize(
    ("added_by", "clear"),
    [
        pytest.param(US, True, id="we added it: in clear"),
        pytest.param(THEM, False, id="another agency added it: masked"),
        pytest.param(None, False, id="the citizen added it: masked"),
    ],
)
def test_a_contact_value_is_shown_only_to_who_supplied_it(
    added_by: uuid.UUID | None, clear: bool
) -> None:
    assert trust.shown_in_clear(added_by, US) is clear


@pytest.mark.parametrize(
    ("scope", "clear"),
    [
        pytest.param(CITIZEN, True, id="their own: in clear"),
        pytest.param(str(US), False, id="an agency's, not confirmed: masked"),
        pytest.param(str(THEM), False, id="another agency's, not confirmed: masked"),
    ],
)
def test_a_contact_is_shown_to_the_citizen_in_clear_only_once_their_own(
    scope: str, clear: bool
) -> None:
    assert trust.shown_to_citizen(scope) is clear


@pytest.mark.parametrize(
    ("creating", "present", "allowed"),
    [
        pytest.param(True, False, True, id="creating the citizen"),
        pytest.param(False, True, True, id="later, the citizen present (code)"),
        pytest.param(False, False, False, id="later, without the citizen"),
    ],
)
def test_preferences_are_set_by_an_agency_only_at_creation_or_with_the_citizen(
    creating: bool, present: bool, allowed: bool
) -> None:
    assert trust.may_set_preferences(creating=creating, citizen_present=present) is allowed


def _choice(n: int, scope: str) -> ContactChoice:
    return ContactChoice(uuid.UUID(int=n), scope, n)


@pytest.mark.parametrize(
    ("candidates", "picked"),
    [
        pytest.param([], None, id="none"),
        pytest.param([_choice(1, CITIZEN)], 1, id="only the citizen's own"),
        pytest.param([_choice(1, CITIZEN), _choice(2, str(US))], 2, id="ours before theirs"),
        pytest.param([_choice(1, str(THEM))], None, id="only another agency's: none"),
        pytest.param(
            [_choice(3, CITIZEN), _choice(1, str(THEM)), _choice(2, CITIZEN)],
            2,
            id="the oldest of the citizen's own",
        ),
        pytest.param([_choice(5, str(US)), _choice(4, str(US))], 4, id="the oldest of ours"),
    ],
)
def test_which_contact_an_agency_sends_to(
    candidates: list[ContactChoice], picked: int | None
) -> None:
    chosen = trust.pick_contact(candidates, US)
    assert (chosen.id.int if chosen else None) == picked


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        pytest.param("sms", "+6281234567890", "+62812****7890", id="phone"),
        pytest.param("email", "budi.santoso@example.com", "b***@example.com", id="email"),
        pytest.param("chat", "whatsapp:+6281234567890", "whatsapp:+62812****7890", id="whatsapp"),
        pytest.param("chat", "telegram:123456789", "telegram:12****89", id="telegram"),
        pytest.param("chat", "telegram:12345", "telegram:*****", id="short id: all hidden"),
    ],
)
def test_masked_contacts_hide_the_middle(kind: str, value: str, masked: str) -> None:
    assert trust.mask_contact(kind, value) == masked


def test_a_masked_nik_keeps_only_the_region_and_the_last_two_digits() -> None:
    assert trust.mask_nik("3273014101900002") == "3273**********02"


def test_a_sandbox_nik_never_equals_the_real_one() -> None:
    assert trust.sandbox_nik_key(US, "3273014101900002") != "3273014101900002"
    assert trust.sandbox_nik_key(US, "1") != trust.sandbox_nik_key(THEM, "1")
