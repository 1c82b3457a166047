"""The bounce listener: the SMTP server behind WARTA_BOUNCE_DOMAIN's MX, where bounces,
complaints and one-click unsubscribe mailtos come back.

What it answers, and why:

=====================================  =================================================
MAIL FROM anything                     bounces come from the null sender ``<>``
RCPT TO another domain                 ``550 5.7.1``: never an open relay
RCPT TO refused by ``accepts``         ``550 5.1.1`` (a VERP address with a forged MAC)
more than ``max_recipients``           ``452 4.5.3`` (the sender sends the rest later)
DATA over ``max_size``                 ``552`` (from aiosmtpd; SIZE is advertised in EHLO)
DATA, once ``receive`` has it          ``250 2.0.0``
DATA, ``receive`` raised               ``451 4.3.0``: the sending MTA keeps the message in
                                       its queue and retries, so a database that is down
                                       loses no bounce
=====================================  =================================================

The listener only speaks SMTP: what a message is and what it does is the service's
(``warta.services.bounce_mail``), handed in as ``accepts`` and ``receive``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from aiosmtpd.smtp import SMTP, Envelope, Session

from warta.channels.capture import CaptureSmtpServer
from warta.domain.bounces import is_at_domain

log = logging.getLogger(__name__)

#: Is this address (at the bounce domain) one to take mail for?
Accepts = Callable[[str], bool]
#: Take one message (its recipients at the bounce domain, and the raw bytes); raise to
#: have the sender retry.
Receive = Callable[[Sequence[str], bytes], Awaitable[None]]

#: A DSN or ARF report with the returned message and a small attachment fits in this.
MAX_SIZE = 1_048_576


class BounceHandler:
    """aiosmtpd handler: refuses what is not for the bounce domain, hands the rest on."""

    def __init__(
        self, domain: str, accepts: Accepts, receive: Receive, *, max_recipients: int = 10
    ) -> None:
        self.domain = domain
        self.accepts = accepts
        self.receive = receive
        self.max_recipients = max_recipients

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not is_at_domain(address, self.domain):
            return "550 5.7.1 Relaying denied"
        if not self.accepts(address):
            return "550 5.1.1 No such mailbox here"
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            await self.receive(tuple(envelope.rcpt_tos), envelope.original_content or b"")
        except Exception:
            # Logged without the message: it quotes a citizen's address and content.
            log.exception("could not take a message for the bounce domain; the sender retries")
            return "451 4.3.0 Could not take the message now, try again later"
        return "250 2.0.0 OK"


class BounceListener:
    """The SMTP server for ``domain`` on ``host``:``port`` (0: a free port)."""

    def __init__(
        self,
        *,
        domain: str,
        accepts: Accepts,
        receive: Receive,
        host: str = "127.0.0.1",
        port: int = 0,
        max_size: int = MAX_SIZE,
    ) -> None:
        self.domain = domain
        self.handler = BounceHandler(domain, accepts, receive)
        self._server = CaptureSmtpServer(
            self.handler,
            host=host,
            port=port,
            hostname=domain,
            data_size_limit=max_size,
            # Behind one MX, every `serve --processes` process takes a share.
            reuse_port=port != 0,
        )

    async def start(self) -> tuple[str, int]:
        return await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    async def __aenter__(self) -> BounceListener:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
