"""Quick replies on Telegram and WhatsApp against the local protocol peers, and the taps
that come back.

No mocks: sends cross a loopback socket to ``warta.devpeers.telegram`` / ``.whatsapp``,
which check the inline keyboard and the interactive message against each API's limits;
the Telegram peer POSTs a tap to a webhook served here, as Telegram would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from warta.channels.telegram import TelegramChannel, TelegramConfig, Update, parse_update
from warta.channels.whatsapp import (
    InboundChat,
    WhatsAppChannel,
    WhatsAppConfig,
    parse_webhook,
    valid_signature,
)
from warta.devpeers import whatsapp as wa_peer
from warta.devpeers.loopback import serve_asgi
from warta.devpeers.telegram import Answered, BotApi
from warta.devpeers.whatsapp import GraphLike
from warta.domain.channels import Option, OutboundMessage
from warta.errors import DeliveryError, TechnicalFailure

CHAT = 5_123_456_789
SECRET = "wh-secret_7d2e"
PHONE = "+6281234567890"
DIGITS = PHONE.removeprefix("+")
STATUS = Option("cek_status", "Cek status")
COMPLAINT = Option("buat_pengaduan", "Buat pengaduan")
STOP = Option("berhenti", "Berhenti")
HELP = Option("bantuan", "Bantuan")
FAQ = Option("faq", "Pertanyaan yang sering ditanyakan")
THREE = (STATUS, COMPLAINT, STOP)


def chat(
    to: str, options: tuple[Option, ...], body: str = "Ada yang bisa dibantu?"
) -> OutboundMessage:
    return OutboundMessage(
        notification_id="",
        attempt=0,
        channel="chat",
        to=to,
        sender="Warta",
        body=body,
        options=options,
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


# -- Telegram -------------------------------------------------------------------------------


class Webhook:
    """Warta's side of the webhook, reduced to what these tests need: it keeps what
    ``parse_update`` makes of each Update that carries our secret."""

    def __init__(self) -> None:
        self.updates: list[Update | None] = []

    async def receive(self, request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return Response(status_code=401)
        self.updates.append(parse_update(json.loads(await request.body())))
        return Response(status_code=200)


@pytest.fixture
async def bot() -> AsyncIterator[BotApi]:
    async with BotApi(chats={CHAT}).running() as running:
        yield running


@pytest.fixture
def telegram(bot: BotApi, http: httpx.AsyncClient) -> TelegramChannel:
    config = TelegramConfig(
        token=bot.token, username=bot.username, webhook_secret=SECRET, base_url=bot.url
    )
    return TelegramChannel(config, http)


@pytest.fixture
async def webhook(telegram: TelegramChannel) -> AsyncIterator[Webhook]:
    receiver = Webhook()
    app = Starlette(routes=[Route("/telegram", receiver.receive, methods=["POST"])])
    async with serve_asgi(app) as url:
        await telegram.set_webhook(f"{url}/telegram")
        yield receiver


KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": "Cek status", "callback_data": "cek_status"},
            {"text": "Buat pengaduan", "callback_data": "buat_pengaduan"},
        ],
        [{"text": "Berhenti", "callback_data": "berhenti"}],
    ]
}


async def test_telegram_options_go_as_an_inline_keyboard(
    bot: BotApi, telegram: TelegramChannel
) -> None:
    await telegram.send(chat(f"telegram:{CHAT}", THREE))
    assert [s.reply_markup for s in bot.sent] == [KEYBOARD]


async def test_a_message_without_options_has_no_keyboard(
    bot: BotApi, telegram: TelegramChannel
) -> None:
    await telegram.reply(str(CHAT), "Halo")
    assert [s.reply_markup for s in bot.sent] == [None]


async def test_a_split_message_has_its_keyboard_under_the_last_part(
    bot: BotApi, telegram: TelegramChannel
) -> None:
    await telegram.reply(str(CHAT), "kata " * 1500, THREE)
    assert [s.reply_markup for s in bot.sent] == [None, KEYBOARD]


async def test_a_tap_comes_back_as_an_option_update_and_is_answered_once(
    bot: BotApi, telegram: TelegramChannel, webhook: Webhook
) -> None:
    await telegram.send(chat(f"telegram:{CHAT}", THREE))
    assert await bot.tap(CHAT, "buat_pengaduan") == 200
    [update] = webhook.updates
    assert update is not None
    assert (update.kind, update.chat_id, update.text) == ("option", str(CHAT), "buat_pengaduan")
    assert update.callback_id
    assert await telegram.answer_callback(update.callback_id, "Baik") is True
    assert bot.answered == [Answered(update.callback_id, "Baik")]


async def test_a_late_or_second_callback_answer_is_logged_not_raised(
    bot: BotApi, telegram: TelegramChannel, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    await telegram.send(chat(f"telegram:{CHAT}", THREE))
    await bot.tap(CHAT, "berhenti")
    [update] = webhook.updates
    assert update is not None and update.callback_id
    assert await telegram.answer_callback(update.callback_id) is True
    assert await telegram.answer_callback(update.callback_id) is False
    assert await telegram.answer_callback("123") is False
    assert bot.answered == [Answered(update.callback_id, None)]
    warnings = [r.getMessage() for r in caplog.records if r.name == "warta.channels.telegram"]
    assert (
        warnings
        == [
            "telegram callback not answered (TechnicalFailure: Telegram answered HTTP 400: "
            "the button tap was answered too late or twice)"
        ]
        * 2
    )


async def test_a_callback_answer_text_is_cut_to_200(
    bot: BotApi, telegram: TelegramChannel, webhook: Webhook
) -> None:
    await telegram.send(chat(f"telegram:{CHAT}", (STATUS,)))
    await bot.tap(CHAT, "cek_status")
    [update] = webhook.updates
    assert update is not None and update.callback_id
    await telegram.answer_callback(update.callback_id, "x" * 250)
    assert bot.answered == [Answered(update.callback_id, "x" * 200)]


async def test_the_peer_taps_only_buttons_it_showed(bot: BotApi, webhook: Webhook) -> None:
    with pytest.raises(RuntimeError, match="no button"):
        await bot.tap(CHAT, "cek_status")
    assert webhook.updates == []


async def test_taps_are_not_delivered_to_a_webhook_that_did_not_ask_for_them(
    bot: BotApi, telegram: TelegramChannel, http: httpx.AsyncClient, webhook: Webhook
) -> None:
    assert bot.webhook is not None
    url = telegram.config.method_url("setWebhook")
    body = {"url": bot.webhook.url, "secret_token": SECRET, "allowed_updates": ["message"]}
    assert (await http.post(url, json=body)).status_code == 200
    await telegram.send(chat(f"telegram:{CHAT}", THREE))
    assert await bot.tap(CHAT, "berhenti") == 0
    assert await bot.write(CHAT, "halo") == 200
    assert webhook.updates == [Update("text", str(CHAT), text="halo")]


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        pytest.param(
            {"inline_keyboard": [[{"text": "Panjang", "callback_data": "x" * 65}]]},
            "Bad Request: BUTTON_DATA_INVALID",
            id="data-over-64-bytes",
        ),
        pytest.param(
            {"inline_keyboard": [[{"text": "Kosong", "callback_data": ""}]]},
            "Bad Request: BUTTON_DATA_INVALID",
            id="empty-data",
        ),
        pytest.param(
            {"inline_keyboard": [[{"text": " ", "callback_data": "a"}]]},
            "Bad Request: BUTTON_TEXT_INVALID",
            id="blank-text",
        ),
        pytest.param(
            {"inline_keyboard": [[{"text": "Tanpa aksi"}]]},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in "
            "the inline keyboard",
            id="no-action",
        ),
        pytest.param(
            {"inline_keyboard": [{"text": "a", "callback_data": "a"}]},
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an '
            "Array of Arrays",
            id="not-rows",
        ),
        pytest.param(
            {"inline_keyboard": [[{"text": "a", "callback_data": "a"}] * 101]},
            "Bad Request: REPLY_MARKUP_TOO_LONG",
            id="over-100-buttons",
        ),
    ],
)
async def test_the_telegram_peer_refuses_keyboards_telegram_refuses(
    bot: BotApi,
    telegram: TelegramChannel,
    http: httpx.AsyncClient,
    markup: dict[str, Any],
    description: str,
) -> None:
    body = {"chat_id": CHAT, "text": "Pilih", "reply_markup": json.dumps(markup)}
    response = await http.post(telegram.config.method_url("sendMessage"), data=body)
    assert response.status_code == 400
    assert response.json()["description"] == description
    assert bot.sent == []


async def test_a_refused_keyboard_is_a_named_technical_failure(
    bot: BotApi, telegram: TelegramChannel, http: httpx.AsyncClient
) -> None:
    """The channel never sends such data (``quick_replies`` leaves it out); an older
    Telegram limit or a peer's answer still gets named."""
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "é" * 40}]]}
    body = {"chat_id": CHAT, "text": "Pilih", "reply_markup": markup}
    response = await http.post(telegram.config.method_url("sendMessage"), json=body)
    assert response.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
    await telegram.send(chat(f"telegram:{CHAT}", (Option("é" * 40, "Tidak muat"), STATUS)))
    assert [s.reply_markup for s in bot.sent] == [
        {"inline_keyboard": [[{"text": "Cek status", "callback_data": "cek_status"}]]}
    ]


# -- WhatsApp -------------------------------------------------------------------------------


@pytest.fixture
async def graph() -> AsyncIterator[GraphLike]:
    async with GraphLike().running() as running:
        yield running


async def window_open(number: str) -> bool:
    return True


def wa_config(graph: GraphLike) -> WhatsAppConfig:
    return WhatsAppConfig(
        access_token=graph.access_token,
        phone_number_id=graph.phone_number_id,
        app_secret=graph.app_secret,
        verify_token=wa_peer.VERIFY_TOKEN,
        base_url=graph.url,
    )


def whatsapp(graph: GraphLike, http: httpx.AsyncClient, *, window: bool = True) -> WhatsAppChannel:
    return WhatsAppChannel(wa_config(graph), http, window_open if window else None)


async def test_up_to_three_options_go_as_reply_buttons(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    result = await whatsapp(graph, http).send(chat(f"whatsapp:{PHONE}", THREE))
    [accepted] = graph.accepted
    assert (accepted.type, accepted.interactive, accepted.text) == (
        "interactive",
        "button",
        "Ada yang bisa dibantu?",
    )
    assert accepted.options == tuple((o.id, o.title) for o in THREE)
    assert result.provider_reference == accepted.wamid


async def test_more_options_go_as_a_list_with_titles_fitted(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    await whatsapp(graph, http).send(chat(f"whatsapp:{PHONE}", (*THREE, HELP, FAQ)))
    [accepted] = graph.accepted
    assert (accepted.interactive, accepted.button) == ("list", "Pilih")
    assert accepted.options == (
        *((o.id, o.title) for o in (*THREE, HELP)),
        ("faq", "Pertanyaan yang sering…"),
    )


async def test_outside_the_window_the_template_carries_the_text_without_options(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    await whatsapp(graph, http, window=False).send(chat(f"whatsapp:{PHONE}", THREE))
    [accepted] = graph.accepted
    assert (accepted.type, accepted.text, accepted.options) == (
        "template",
        "Ada yang bisa dibantu?",
        (),
    )


async def test_an_interactive_message_refused_for_a_closed_window_goes_as_the_template(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    graph.closed_windows.add(DIGITS)
    await whatsapp(graph, http).send(chat(f"whatsapp:{PHONE}", THREE))
    assert [a.type for a in graph.accepted] == ["template"]
    assert graph.requests == 2


async def test_a_graph_131009_is_a_named_technical_failure(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    graph.fail_next(status=400, code=131009)
    with pytest.raises(DeliveryError) as caught:
        await whatsapp(graph, http).send(chat(f"whatsapp:{PHONE}", THREE))
    assert type(caught.value) is TechnicalFailure
    assert str(caught.value) == (
        "WhatsApp answered HTTP 400 (error 131009): a parameter value is not valid "
        "(an interactive message over WhatsApp's limits?)"
    )


def buttons(*items: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "button",
        "body": {"text": "Pilih"},
        "action": {
            "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in items]
        },
    }


def listed(*items: tuple[str, str], button: str = "Pilih", sections: int = 1) -> dict[str, Any]:
    rows = [{"id": i, "title": t} for i, t in items]
    per = max(1, -(-len(rows) // sections))
    return {
        "type": "list",
        "body": {"text": "Pilih"},
        "action": {
            "button": button,
            "sections": [
                {"title": f"Bagian {n}", "rows": rows[n * per : (n + 1) * per]}
                if sections > 1
                else {"rows": rows}
                for n in range(sections)
            ],
        },
    }


def numbered(count: int, title_length: int = 8, id_length: int = 4) -> list[tuple[str, str]]:
    return [(f"{n}".zfill(id_length), f"{n}".zfill(title_length)) for n in range(count)]


@pytest.mark.parametrize(
    ("interactive", "code", "details"),
    [
        pytest.param(
            buttons(*numbered(4)), 131009, "action.buttons: Too many elements. Max: 3", id="4"
        ),
        pytest.param(
            buttons(("a", "x" * 21)),
            131009,
            "Button title length invalid. Min length: 1, Max length: 20",
            id="button-title-21",
        ),
        pytest.param(
            buttons(("x" * 257, "Ya")),
            131009,
            "Button id length invalid. Min length: 1, Max length: 256",
            id="button-id-257",
        ),
        pytest.param(
            buttons(("a", "Ya"), ("a", "Tidak")),
            131009,
            "Duplicate button/row ids are not allowed",
            id="duplicate-ids",
        ),
        pytest.param(
            buttons(("a", "Ya"), ("b", "Ya")),
            131009,
            "Buttons titles must be unique",
            id="duplicate-titles",
        ),
        pytest.param(
            {"type": "button", "body": {"text": "Pilih"}, "action": {"buttons": []}},
            131008,
            "action.buttons",
            id="no-buttons",
        ),
        pytest.param(
            buttons(("a", "Ya")) | {"body": {"text": "x" * 1025}},
            131009,
            "interactive.body.text: Max length: 1024",
            id="button-body-1025",
        ),
        pytest.param(
            listed(*numbered(11)),
            131009,
            "Total row count exceed max allowed count: 10",
            id="11-rows",
        ),
        pytest.param(
            listed(("a", "x" * 25)),
            131009,
            "Row title length invalid. Min length: 1, Max length: 24",
            id="row-title-25",
        ),
        pytest.param(
            listed(("x" * 201, "Ya")),
            131009,
            "Row id length invalid. Min length: 1, Max length: 200",
            id="row-id-201",
        ),
        pytest.param(
            listed(("a", "Ya"), button="x" * 21),
            131009,
            "action.button: Max length: 20",
            id="list-button-21",
        ),
        pytest.param(
            listed(*numbered(11, id_length=2), sections=11),
            131009,
            "action.sections: Too many elements. Max: 10",
            id="11-sections",
        ),
        pytest.param(
            {"type": "carousel", "body": {"text": "x"}, "action": {}},
            131009,
            "interactive.type",
            id="unknown-type",
        ),
        pytest.param(
            {"type": "button", "action": {"buttons": []}},
            131008,
            "interactive.body.text",
            id="no-body",
        ),
    ],
)
async def test_the_whatsapp_peer_refuses_what_the_cloud_api_refuses(
    graph: GraphLike,
    http: httpx.AsyncClient,
    interactive: dict[str, Any],
    code: int,
    details: str,
) -> None:
    body = {
        "messaging_product": "whatsapp",
        "to": DIGITS,
        "type": "interactive",
        "interactive": interactive,
    }
    url = f"{graph.url}/v21.0/{graph.phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {graph.access_token}"}
    response = await http.post(url, json=body, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_data"]["details"]) == (code, details)
    assert graph.accepted == []


async def test_the_whatsapp_peer_takes_a_list_at_its_limits(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    body = {
        "messaging_product": "whatsapp",
        "to": DIGITS,
        "type": "interactive",
        "interactive": listed(*numbered(10, title_length=24, id_length=200), sections=2),
    }
    url = f"{graph.url}/v21.0/{graph.phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {graph.access_token}"}
    assert (await http.post(url, json=body, headers=headers)).status_code == 200
    assert len(graph.accepted[0].options) == 10


def tapped(graph: GraphLike, option_id: str, title: str) -> list[InboundChat]:
    body, signature = graph.tap_webhook(PHONE, option_id, title)
    assert valid_signature(wa_config(graph), body, signature)
    payload = json.loads(body)
    reply = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    assert reply["type"] == "interactive"
    return parse_webhook(payload).inbound


async def test_a_tapped_button_comes_back_as_inbound_with_the_option(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    await whatsapp(graph, http).send(chat(f"whatsapp:{PHONE}", THREE))
    [inbound] = tapped(graph, "berhenti", "Berhenti")
    assert (inbound.sender, inbound.option, inbound.text) == (PHONE, "berhenti", "Berhenti")
    body, _ = graph.tap_webhook(PHONE, "berhenti", "Berhenti")
    message = json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["interactive"]["type"] == "button_reply"
    assert message["context"]["id"] == graph.accepted[0].wamid


async def test_a_chosen_list_row_comes_back_as_inbound_with_the_option(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    await whatsapp(graph, http).send(chat(f"whatsapp:{PHONE}", (*THREE, HELP)))
    body, _ = graph.tap_webhook(PHONE, "bantuan", "Bantuan")
    message = json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["interactive"]["type"] == "list_reply"
    [inbound] = parse_webhook(json.loads(body)).inbound
    assert (inbound.option, inbound.text) == ("bantuan", "Bantuan")
