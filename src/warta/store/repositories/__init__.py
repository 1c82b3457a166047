"""Repositories: the queries Warta needs, one module per aggregate, named for what they
answer. The only code that writes SQL; ``store/uow.py`` hands one of each to a unit of work.
"""

from warta.store.repositories.agencies import AgencyRepository
from warta.store.repositories.broadcasts import BroadcastRepository
from warta.store.repositories.callbacks import CallbackRepository
from warta.store.repositories.chat import ChatRepository
from warta.store.repositories.citizens import CitizenRepository
from warta.store.repositories.code_events import CodeEventRepository
from warta.store.repositories.inbox import InboxRepository
from warta.store.repositories.notifications import (
    CLAIMED,
    STATUS_ALIASES,
    ClaimedRow,
    NotificationRepository,
)
from warta.store.repositories.platform_secrets import PlatformSecretRepository
from warta.store.repositories.portal_sessions import PortalSessionRepository
from warta.store.repositories.received_texts import ReceivedTextRepository
from warta.store.repositories.sealed import SealedColumnRepository
from warta.store.repositories.sms import SmsRepository
from warta.store.repositories.staff import StaffRepository
from warta.store.repositories.templates import TemplateRepository

__all__ = [
    "CLAIMED",
    "STATUS_ALIASES",
    "AgencyRepository",
    "BroadcastRepository",
    "CallbackRepository",
    "ChatRepository",
    "CitizenRepository",
    "ClaimedRow",
    "CodeEventRepository",
    "InboxRepository",
    "NotificationRepository",
    "PlatformSecretRepository",
    "PortalSessionRepository",
    "ReceivedTextRepository",
    "SealedColumnRepository",
    "SmsRepository",
    "StaffRepository",
    "TemplateRepository",
]
