"""Unit of work: one transaction, rolled back unless ``commit()`` was called.

Leaving closes the session, which rolls back anything uncommitted; unlike an explicit
rollback it leaves loaded objects readable (detached), so handlers can use what they read.
A database that cannot be written or reached leaves as ``warta.errors.StoreUnavailable``
(``store.db.translate``), so no layer above meets a driver's error.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from warta.store.db import store_fault, translate
from warta.store.repositories import (
    AgencyRepository,
    BroadcastRepository,
    CallbackRepository,
    ChatRepository,
    CitizenRepository,
    CodeEventRepository,
    InboxRepository,
    NotificationRepository,
    PlatformSecretRepository,
    PortalSessionRepository,
    ReceivedTextRepository,
    SealedColumnRepository,
    SmsRepository,
    StaffRepository,
    TemplateRepository,
)
from warta.store.repositories.cases import CaseRepository
from warta.store.repositories.conversations import ConversationRepository
from warta.store.repositories.dkim import DkimKeyRepository
from warta.store.repositories.email_feedback import EmailFeedbackRepository
from warta.store.repositories.email_opt_outs import EmailOptOutRepository
from warta.store.repositories.expiry import ExpiryRepository


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self.agencies = AgencyRepository(self.session)
        self.templates = TemplateRepository(self.session)
        self.notifications = NotificationRepository(self.session)
        self.callbacks = CallbackRepository(self.session)
        self.received_texts = ReceivedTextRepository(self.session)
        self.sms = SmsRepository(self.session)
        self.citizens = CitizenRepository(self.session)
        self.inbox = InboxRepository(self.session)
        self.broadcasts = BroadcastRepository(self.session)
        self.staff = StaffRepository(self.session)
        self.chat = ChatRepository(self.session)
        self.platform_secrets = PlatformSecretRepository(self.session)
        self.sealed = SealedColumnRepository(self.session)
        self.code_events = CodeEventRepository(self.session)
        self.expiry = ExpiryRepository(self.session)
        self.portal_sessions = PortalSessionRepository(self.session)
        self.cases = CaseRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.dkim_keys = DkimKeyRepository(self.session)
        self.email_opt_outs = EmailOptOutRepository(self.session)
        self.email_feedback = EmailFeedbackRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with translate():
            await self.session.close()
        fault = store_fault(exc) if exc is not None else None
        if fault is not None:
            raise fault from exc

    async def commit(self) -> None:
        await self.session.commit()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
