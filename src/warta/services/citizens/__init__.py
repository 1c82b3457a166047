"""The citizen registry: one identity per NIK, shared by every agency, seen by an agency
only once it has a relationship with the citizen (it registered them, or they subscribed
to one of its topics).

Contacts are usable for routing only once verified by a one-time code sent through the
contact's own channel. Consent is an append-only record (``consents``) whose current
state (``opt_outs``) changes in the same transaction, so a withdrawal takes effect for the
very next routing decision.

By concern: ``registry`` (citizens and what an agency sees of them), ``preferences`` (how
a citizen is reached, and its one conversion each way between row and ``Preferences``),
``contacts`` (contacts and one-time codes), ``consent`` (consent and topics) and
``importing`` (an agency's CSV file). The names below are what the rest of Warta uses.
"""

from warta.services.citizens.consent import (
    ConsentChoice,
    consents,
    create_topic,
    record_consent,
    topics,
    topics_with_subscribers,
    write_consent,
)
from warta.services.citizens.contacts import (
    CodeSent,
    add_contact,
    code_hash,
    code_problem,
    proven_contact,
    remove_contact,
    verify_contact,
)
from warta.services.citizens.importing import CitizenImport, ImportedRow, ImportSummary, read_csv
from warta.services.citizens.preferences import (
    Preferences,
    apply_preferences,
    check_preferences,
    preferences_document,
    preferences_of,
    reached_by,
    record_preferences,
    routing_preferences,
)
from warta.services.citizens.registry import (
    CitizenChanges,
    CitizenView,
    NewCitizen,
    find_by_nik,
    get,
    register,
    set_preferences,
    update,
)

__all__ = [
    "CitizenChanges",
    "CitizenImport",
    "CitizenView",
    "CodeSent",
    "ConsentChoice",
    "ImportSummary",
    "ImportedRow",
    "NewCitizen",
    "Preferences",
    "add_contact",
    "apply_preferences",
    "check_preferences",
    "code_hash",
    "code_problem",
    "consents",
    "create_topic",
    "find_by_nik",
    "get",
    "preferences_document",
    "preferences_of",
    "proven_contact",
    "reached_by",
    "read_csv",
    "record_consent",
    "record_preferences",
    "register",
    "remove_contact",
    "routing_preferences",
    "set_preferences",
    "topics",
    "topics_with_subscribers",
    "update",
    "verify_contact",
    "write_consent",
]
