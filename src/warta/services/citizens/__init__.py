"""The citizen registry: one identity per NIK, shared by every agency, seen by an agency
only once it has a relationship with the citizen (it registered them, or they subscribed
to one of its topics).

Who may see, add, change and remove what is ``domain/trust.py``: contacts have a scope
(the citizen's own, or the one agency that added and proved them), the registrant alone
sees and changes the record it supplied, preferences change only with the citizen present,
and test keys work on a sandbox of their own. Contacts are usable for routing only once
verified by a one-time code sent through the contact's own channel. Consent is an
append-only record (``consents``) whose current state (``opt_outs``) changes in the same
transaction, so a withdrawal takes effect for the very next routing decision.

By concern: ``registry`` (citizens and what an agency sees of them), ``preferences`` (how
a citizen is reached, and its one conversion each way between row and ``Preferences``),
``contacts`` (contacts and one-time codes), ``notices`` (telling the citizen of a contact
an agency added), ``confirming`` (the citizen making such a contact their own, with a
code sent to it), ``presence`` (the citizen's code for a preference change), ``consent``
(consent and topics) and ``importing`` (an agency's CSV file). The names below are what
the rest of Warta uses.
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
    SANDBOX_CODE,
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
from warta.services.citizens.presence import PresenceAsked, set_preferences
from warta.services.citizens.presence import ask as ask_presence
from warta.services.citizens.registry import (
    CitizenChanges,
    CitizenView,
    ContactView,
    NewCitizen,
    find_by_nik,
    get,
    register,
    update,
)

__all__ = [
    "SANDBOX_CODE",
    "CitizenChanges",
    "CitizenImport",
    "CitizenView",
    "CodeSent",
    "ConsentChoice",
    "ContactView",
    "ImportSummary",
    "ImportedRow",
    "NewCitizen",
    "Preferences",
    "PresenceAsked",
    "add_contact",
    "apply_preferences",
    "ask_presence",
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
