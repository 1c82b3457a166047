"""Tables. Personal data lives only in ``*_enc`` columns (see warta.security.crypto) and is
found through ``*_hash`` columns; everything else is safe to read in a database console.
"""

from warta.store.models.agencies import (
    Agency,
    ApiKey,
    GuestListEntry,
    PlatformSecret,
    Template,
    TemplateVersion,
)
from warta.store.models.base import NAMING, Base, UtcDateTime
from warta.store.models.cases import (
    AgencyDayOff,
    Case,
    CaseEvent,
    CaseMessage,
    CasePhoto,
    CaseService,
    Open311Key,
)
from warta.store.models.citizens import (
    AgencyCitizen,
    ChatLink,
    Citizen,
    CitizenContact,
    Consent,
    OptOut,
    PreferenceChange,
    Topic,
    TopicSubscription,
)
from warta.store.models.conversations import Conversation, ConversationMessage, FaqEntry
from warta.store.models.dkim import DkimKey
from warta.store.models.email_feedback import EmailFeedback
from warta.store.models.email_opt_outs import EmailOptOut
from warta.store.models.notifications import (
    NOTIFICATIONS,
    Broadcast,
    Callback,
    CodeEvent,
    Job,
    Notification,
    ReceivedText,
    SmsOptOut,
    SmsPart,
    SmsPlatformOptOut,
)
from warta.store.models.portal import PortalSession
from warta.store.models.staff import Staff, StaffSession, StaffSignInFailure

__all__ = [
    "NAMING",
    "NOTIFICATIONS",
    "Agency",
    "AgencyCitizen",
    "AgencyDayOff",
    "ApiKey",
    "Base",
    "Broadcast",
    "Callback",
    "Case",
    "CaseEvent",
    "CaseMessage",
    "CasePhoto",
    "CaseService",
    "ChatLink",
    "Citizen",
    "CitizenContact",
    "CodeEvent",
    "Consent",
    "Conversation",
    "ConversationMessage",
    "DkimKey",
    "EmailFeedback",
    "EmailOptOut",
    "FaqEntry",
    "GuestListEntry",
    "Job",
    "Notification",
    "Open311Key",
    "OptOut",
    "PlatformSecret",
    "PortalSession",
    "PreferenceChange",
    "ReceivedText",
    "SmsOptOut",
    "SmsPart",
    "SmsPlatformOptOut",
    "Staff",
    "StaffSession",
    "StaffSignInFailure",
    "Template",
    "TemplateVersion",
    "Topic",
    "TopicSubscription",
    "UtcDateTime",
]
