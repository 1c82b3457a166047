"""TelegramChannel against a local Bot API on 127.0.0.1.

No mocks: every call crosses a loopback socket to ``warta.devpeers.telegram``, which checks
the token, the chat and the text as Telegram does and records what it took.
"""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from warta.channels.telegram import TelegramChannel, TelegramConfig
from warta.devpeers.telegram import BotApi, Sent, Webhook
from warta.domain.channels import Channel, OutboundMessage, SendResult
from warta.errors import (
    ContactGone,
    DeliveryError,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

CHAT = 5_123_456_789
STRANGER = 6_000_000_001  # never pressed Start
SECRET = "wh-secret_7d2e"
SUBJECT = "Jadwal vaksinasi"
BODY = "Vaksinasi anak Anda dijadwalkan Senin, 3 Maret.\nBawa buku KIA."
URL = "https://warta.go.id/kotak/7f3a"
NO_PREVIEW = {"is_disabled": True}


def chat(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "notification_id": "0d5b6a1e-0000-4000-8000-000000000009",
        "attempt": 1,
        "channel": "chat",
        "to": f"telegram:{CHAT}",
        "sender": "Dinkes Kota Bandung",
        "subject": SUBJECT,
        "body": BODY,
        "url": URL,
    }
    return OutboundMessage(**(fields | changes))


def channel_for(bot: BotApi, http: httpx.AsyncClient, **changes: Any) -> TelegramChannel:
    fields: dict[str, Any] = {
        "token": bot.token,
        "username": bot.username,
        "webhook_secret": SECRET,
        "base_url": bot.url,
    }
    return TelegramChannel(TelegramConfig(**(fields | changes)), http)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def bot() -> AsyncIterator[BotApi]:
    async with BotApi(chats={CHAT}).running() as running:
        yield running


@pytest.fixture
def channel(bot: BotApi, http: httpx.AsyncClient) -> TelegramChannel:
    return channel_for(bot, http)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


# -- sending ----------------------------------------------------------------------------


async def test_a_message_arrives_with_subject_body_and_link(
    bot: BotApi, channel: TelegramChannel
) -> None:
    assert isinstance(channel, Channel)
    result = await channel.send(chat())

    assert bot.sent == [Sent(CHAT, f"{SUBJECT}\n{BODY}\n{URL}", 1, NO_PREVIEW)]
    assert result == SendResult(status="delivered", provider_reference="1", provider="telegram")


async def test_without_subject_and_link_only_the_body_goes(
    bot: BotApi, channel: TelegramChannel
) -> None:
    await channel.send(chat(subject=None, url=None))
    assert [s.text for s in bot.sent] == [BODY]


async def test_a_5000_character_text_arrives_as_two_messages_in_order(
    bot: BotApi, channel: TelegramChannel
) -> None:
    body = "".join(chr(ord("a") + i % 26) for i in range(5000))  # no space to cut at
    result = await channel.send(chat(subject=None, url=None, body=body))

    first, second = bot.sent
    assert (len(first.text), len(second.text)) == (4096, 904)
    assert first.text + second.text == body
    assert first.message_id < second.message_id
    assert result.provider_reference == str(first.message_id)


async def test_a_long_text_is_cut_between_words(bot: BotApi, channel: TelegramChannel) -> None:
    words = ("Posyandu Melati buka pukul 08.00. " * 160).strip()  # 5439 characters
    await channel.send(chat(subject=None, url=None, body=words))

    assert [len(s.text) <= 4096 for s in bot.sent] == [True, True]
    # Joined again with the one space each cut dropped: no word was split.
    assert " ".join(s.text for s in bot.sent) == words


async def test_a_reply_goes_to_the_chat(bot: BotApi, channel: TelegramChannel) -> None:
    result = await channel.reply(str(CHAT), "Halo, ini Warta.")
    assert bot.sent == [Sent(CHAT, "Halo, ini Warta.", 1, NO_PREVIEW)]
    assert result.provider_reference == "1"


async def test_a_blocked_bot_means_the_contact_is_gone(
    bot: BotApi, channel: TelegramChannel
) -> None:
    bot.block(CHAT)
    with pytest.raises(ContactGone) as caught:
        await channel.send(chat())
    assert str(caught.value) == (
        "Telegram answered HTTP 403: the citizen blocked the bot or left Telegram"
    )
    assert bot.sent == []


async def test_a_chat_telegram_does_not_know_is_gone(bot: BotApi, channel: TelegramChannel) -> None:
    with pytest.raises(ContactGone) as caught:
        await channel.send(chat(to=f"telegram:{STRANGER}"))
    assert str(caught.value) == "Telegram answered HTTP 400: chat not found"
    assert str(STRANGER) not in str(caught.value)


@pytest.mark.parametrize("retry_after", [0, 1])
async def test_a_short_flood_wait_is_waited_out_and_sent_once(
    bot: BotApi, channel: TelegramChannel, retry_after: int
) -> None:
    bot.fail_next(status=429, retry_after=retry_after)
    result = await channel.send(chat())

    assert [s.text for s in bot.sent] == [f"{SUBJECT}\n{BODY}\n{URL}"]
    assert result.provider_reference == "1"
    refused, taken = bot.calls
    assert (refused.status, taken.status) == (429, 200)
    assert taken.at - refused.at >= retry_after


async def test_a_long_flood_wait_goes_back_to_the_pipeline(
    bot: BotApi, channel: TelegramChannel
) -> None:
    bot.fail_next(status=429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(TemporaryFailure) as caught:
        await channel.send(chat())
    assert time.monotonic() - started < 5
    assert str(caught.value) == "Telegram answered HTTP 429: flood control"
    assert [c.status for c in bot.calls] == [429]


async def test_throttled_twice_is_a_temporary_failure(
    bot: BotApi, channel: TelegramChannel
) -> None:
    bot.fail_next(2, status=429, retry_after=0)
    with pytest.raises(TemporaryFailure):
        await channel.send(chat())
    assert [c.status for c in bot.calls] == [429, 429]


async def test_a_server_error_is_provider_unavailable(
    bot: BotApi, channel: TelegramChannel
) -> None:
    bot.fail_next(status=500)
    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(chat())
    assert str(caught.value) == "Telegram answered HTTP 500"


async def test_a_closed_port_is_provider_unavailable(bot: BotApi, http: httpx.AsyncClient) -> None:
    channel = channel_for(bot, http, base_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(chat())
    assert str(caught.value) == "cannot reach Telegram: ConnectError"
    # Not even a logged traceback may show the URL, which holds the token.
    assert bot.token not in "".join(traceback.format_exception(caught.value))


async def test_a_bot_api_that_does_not_answer_in_time_is_provider_unavailable(
    bot: BotApi, http: httpx.AsyncClient
) -> None:
    bot.fail_next(status=500, stall=True)
    with pytest.raises(ProviderUnavailable) as caught:
        await channel_for(bot, http, timeout=0.2).send(chat())
    assert str(caught.value) == "cannot reach Telegram: ReadTimeout"


async def test_a_wrong_token_is_a_technical_failure_that_does_not_quote_it(
    bot: BotApi, http: httpx.AsyncClient
) -> None:
    wrong = f"{bot.token.partition(':')[0]}:AAwrong-token_0123456789"
    with pytest.raises(TechnicalFailure) as caught:
        await channel_for(bot, http, token=wrong).send(chat())
    assert str(caught.value) == "Telegram answered HTTP 401: the bot token is wrong"
    assert wrong not in "".join(traceback.format_exception(caught.value))
    assert bot.sent == []


async def test_the_token_stays_out_of_the_request_log(
    bot: BotApi, channel: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await channel.send(chat())
    # Warta's own lines: the local Bot API's access line (uvicorn.access) is the peer's,
    # as Telegram's logs are Telegram's, and it propagates or not depending on which
    # test configured logging last.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "uvicorn.access")
    assert "/bot<token>/sendMessage" in ours  # httpx did log the request
    assert bot.token not in ours


@pytest.mark.parametrize(
    "to",
    [
        pytest.param(f"whatsapp:+62{CHAT}", id="whatsapp"),
        pytest.param(str(CHAT), id="no-prefix"),
        pytest.param("telegram:@warga", id="username"),
        pytest.param("telegram:", id="empty"),
    ],
)
async def test_an_address_that_is_not_a_telegram_chat_is_refused(
    bot: BotApi, channel: TelegramChannel, to: str
) -> None:
    with pytest.raises(TechnicalFailure) as caught:
        await channel.send(chat(to=to))
    assert str(caught.value) == "chat contact is not a telegram:<chat id> address"
    assert bot.calls == []


async def test_an_email_is_refused(channel: TelegramChannel) -> None:
    with pytest.raises(TechnicalFailure, match=r"^email message routed to the Telegram channel$"):
        await channel.send(chat(channel="email", to="budi@contoh.id"))


async def test_a_closed_channel_refuses_retryably_and_leaves_the_shared_client_open(
    bot: BotApi, channel: TelegramChannel, http: httpx.AsyncClient
) -> None:
    await channel.aclose()
    with pytest.raises(ProviderUnavailable):
        await channel.send(chat())
    assert bot.calls == []
    assert not http.is_closed


async def test_a_channel_closes_the_client_it_made(bot: BotApi) -> None:
    config = TelegramConfig(
        token=bot.token, username=bot.username, webhook_secret=SECRET, base_url=bot.url
    )
    channel = TelegramChannel(config)
    await channel.send(chat())
    await channel.aclose()
    assert [s.chat_id for s in bot.sent] == [CHAT]


# -- the webhook ------------------------------------------------------------------------


async def test_set_webhook_registers_the_url_and_secret(
    bot: BotApi, channel: TelegramChannel
) -> None:
    await channel.set_webhook("https://warta.go.id/providers/telegram/webhook")
    assert bot.webhook == Webhook(
        "https://warta.go.id/providers/telegram/webhook", SECRET, ["message", "callback_query"]
    )


async def test_a_webhook_url_telegram_refuses_is_a_technical_failure(
    bot: BotApi, channel: TelegramChannel
) -> None:
    with pytest.raises(DeliveryError) as caught:
        await channel.set_webhook("http://warta.go.id/providers/telegram/webhook")
    assert type(caught.value) is TechnicalFailure
    assert str(caught.value) == ("Telegram answered HTTP 400: Telegram refused the webhook URL")
    assert bot.webhook is None
