"""WhatsAppChannel against a local Graph API on 127.0.0.1, and the webhooks it would send.

No mocks: every send crosses a loopback socket to ``warta.devpeers.whatsapp``, which checks the
token, the phone number id and the message shape as Graph does and records what it took.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from warta.channels.whatsapp import (
    InboundChat,
    WhatsAppChannel,
    WhatsAppConfig,
    parse_webhook,
    valid_signature,
)
from warta.devpeers.whatsapp import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    Accepted,
    GraphLike,
)
from warta.domain.channels import Channel, OutboundMessage, Receipt, SendResult
from warta.errors import (
    ContactGone,
    DeliveryError,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

PHONE = "+6281234567890"
DIGITS = PHONE.removeprefix("+")
SUBJECT = "Jadwal vaksinasi"
BODY = "Vaksinasi anak Anda dijadwalkan Senin, 3 Maret.\nBawa buku KIA."
URL = "https://warta.go.id/kotak/7f3a"
TEXT = f"{SUBJECT}\n\n{BODY}\n\n{URL}"
FLAT = f"{SUBJECT} Vaksinasi anak Anda dijadwalkan Senin, 3 Maret. Bawa buku KIA. {URL}"


def chat(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "notification_id": "0d5b6a1e-0000-4000-8000-000000000007",
        "attempt": 1,
        "channel": "chat",
        "to": f"whatsapp:{PHONE}",
        "sender": "Dinkes Kota Bandung",
        "subject": SUBJECT,
        "body": BODY,
        "url": URL,
    }
    return OutboundMessage(**(fields | changes))


def config(base_url: str, **changes: Any) -> WhatsAppConfig:
    fields: dict[str, Any] = {
        "access_token": ACCESS_TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "base_url": base_url,
    }
    return WhatsAppConfig(**(fields | changes))


class Windows:
    """``window_open`` over a set of numbers, remembering what it was asked."""

    def __init__(self, *open_numbers: str) -> None:
        self.open = set(open_numbers)
        self.asked: list[str] = []

    async def __call__(self, number: str) -> bool:
        self.asked.append(number)
        return number in self.open


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def graph() -> AsyncIterator[GraphLike]:
    async with GraphLike().running() as running:
        yield running


def channel_for(
    graph: GraphLike, http: httpx.AsyncClient, windows: Windows | None = None, /, **changes: Any
) -> WhatsAppChannel:
    return WhatsAppChannel(config(graph.url, **changes), http, windows)


def template(parameter: str, name: str = "warta_notifikasi", language: str = "id") -> Accepted:
    return Accepted(
        wamid="",
        to=DIGITS,
        type="template",
        text=parameter,
        template=name,
        language=language,
        parameters=(parameter,),
    )


def without_wamid(messages: list[Accepted]) -> list[Accepted]:
    return [Accepted(**(vars(m) | {"wamid": ""})) for m in messages]


async def test_inside_the_window_the_text_goes_as_free_text(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    windows = Windows(PHONE)
    channel = channel_for(graph, http, windows)
    assert isinstance(channel, Channel)

    result = await channel.send(chat())

    assert windows.asked == [PHONE]
    assert without_wamid(graph.accepted) == [Accepted(wamid="", to=DIGITS, type="text", text=TEXT)]
    assert result == SendResult(
        status="sending", provider_reference=graph.accepted[0].wamid, provider="whatsapp"
    )
    assert graph.accepted[0].wamid.startswith("wamid.")


async def test_outside_the_window_the_approved_template_carries_the_text(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    result = await channel_for(graph, http, Windows()).send(chat())

    assert without_wamid(graph.accepted) == [template(FLAT)]
    assert result.provider_reference == graph.accepted[0].wamid


async def test_without_a_window_callback_every_message_is_a_template(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    channel = channel_for(graph, http, template="pengingat", language="en")
    graph.templates = {"pengingat": (frozenset({"en"}), 1)}
    await channel.send(chat(subject=None, url=None, body="Besok\tpukul  9."))
    assert without_wamid(graph.accepted) == [template("Besok pukul 9.", "pengingat", "en")]


async def test_a_text_refused_for_a_closed_window_is_sent_again_as_the_template(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    graph.closed_windows.add(DIGITS)  # the citizen's last message is older than Warta knows

    result = await channel_for(graph, http, Windows(PHONE)).send(chat())

    assert graph.requests == 2
    assert without_wamid(graph.accepted) == [template(FLAT)]
    assert result.provider_reference == graph.accepted[0].wamid


async def test_a_long_message_is_cut_to_metas_limits_keeping_the_link(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    long = chat(body="Informasi penting.\n" * 400)  # 7600 characters
    await channel_for(graph, http, Windows(PHONE)).send(long)
    await channel_for(graph, http, Windows()).send(long)

    text, parameter = (message.text for message in graph.accepted)
    assert len(text) == 4096
    assert text.startswith(f"{SUBJECT}\n\nInformasi penting.\n")
    assert text.endswith(f"…\n\n{URL}")
    assert len(parameter) == 1024
    assert parameter.startswith(f"{SUBJECT} Informasi penting. Informasi")
    assert parameter.endswith(f"… {URL}")


async def test_a_number_not_on_whatsapp_is_a_contact_gone(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    graph.not_on_whatsapp.add(DIGITS)
    with pytest.raises(ContactGone) as caught:
        await channel_for(graph, http).send(chat())
    # Graph's own details said "6281234567890 is not on WhatsApp".
    assert str(caught.value) == (
        "WhatsApp answered HTTP 400 (error 131026): "
        "the number is not on WhatsApp or cannot get messages"
    )
    assert graph.accepted == []


@pytest.mark.parametrize(
    ("status", "code", "error", "message"),
    [
        pytest.param(
            400, 130429, TemporaryFailure, "HTTP 400 (error 130429): rate limited", id="130429"
        ),
        pytest.param(
            400, 131056, TemporaryFailure, "HTTP 400 (error 131056): rate limited", id="131056"
        ),
        pytest.param(
            400, 80007, TemporaryFailure, "HTTP 400 (error 80007): rate limited", id="80007"
        ),
        pytest.param(403, 4, TemporaryFailure, "HTTP 403 (error 4): rate limited", id="4"),
        pytest.param(429, None, TemporaryFailure, "HTTP 429", id="429-no-body"),
        pytest.param(500, 131000, ProviderUnavailable, "HTTP 500 (error 131000)", id="131000"),
        pytest.param(503, 131016, ProviderUnavailable, "HTTP 503 (error 131016)", id="131016"),
        pytest.param(500, None, ProviderUnavailable, "HTTP 500", id="500-no-body"),
        pytest.param(502, 999999, ProviderUnavailable, "HTTP 502 (error 999999)", id="5xx-other"),
        pytest.param(
            400,
            10,
            TechnicalFailure,
            "HTTP 400 (error 10): the token lacks a permission",
            id="10",
        ),
        pytest.param(
            403,
            200,
            TechnicalFailure,
            "HTTP 403 (error 200): the token lacks a permission",
            id="200",
        ),
        pytest.param(
            400,
            100,
            TechnicalFailure,
            "HTTP 400 (error 100): a request parameter is invalid",
            id="100",
        ),
        pytest.param(
            400,
            132000,
            TechnicalFailure,
            "HTTP 400 (error 132000): the template's parameter count does not match",
            id="132000",
        ),
        pytest.param(400, 131051, TechnicalFailure, "HTTP 400 (error 131051)", id="4xx-other"),
    ],
)
async def test_graph_errors_become_warta_errors(
    graph: GraphLike,
    http: httpx.AsyncClient,
    status: int,
    code: int | None,
    error: type[DeliveryError],
    message: str,
) -> None:
    graph.fail_next(status=status, code=code)
    with pytest.raises(DeliveryError) as caught:
        await channel_for(graph, http, Windows(PHONE)).send(chat())
    assert type(caught.value) is error
    assert str(caught.value) == f"WhatsApp answered {message}"
    assert graph.requests == 1


async def test_rate_limited_then_free_again_sends(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    graph.fail_next(2, status=400, code=130429)
    channel = channel_for(graph, http)
    for _ in range(2):
        with pytest.raises(TemporaryFailure):
            await channel.send(chat())
    assert (await channel.send(chat())).status == "sending"
    assert len(graph.accepted) == 1


async def test_a_wrong_token_is_a_technical_failure_that_does_not_show_it(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    wrong = "EAAGwrong" + "9" * 100
    with pytest.raises(TechnicalFailure) as caught:
        await channel_for(graph, http, access_token=wrong).send(chat())
    assert str(caught.value) == (
        "WhatsApp answered HTTP 401 (error 190): the access token is invalid or expired"
    )
    assert wrong not in repr(caught.value) and wrong not in repr(caught.value.__cause__)
    assert graph.accepted == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"phone_number_id": "999999999"},
            "HTTP 400 (error 100): a request parameter is invalid",
            id="another-phone-number-id",
        ),
        pytest.param(
            {"template": "tidak_ada"},
            "HTTP 400 (error 132001): the template does not exist in this language",
            id="unknown-template",
        ),
        pytest.param(
            {"language": "jv"},
            "HTTP 400 (error 132001): the template does not exist in this language",
            id="unapproved-language",
        ),
    ],
)
async def test_a_configuration_graph_refuses_is_a_technical_failure(
    graph: GraphLike, http: httpx.AsyncClient, changes: dict[str, str], message: str
) -> None:
    with pytest.raises(TechnicalFailure) as caught:
        await channel_for(graph, http, **changes).send(chat())
    assert str(caught.value) == f"WhatsApp answered {message}"


async def test_a_closed_port_is_provider_unavailable(http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    channel = WhatsAppChannel(config(f"http://127.0.0.1:{port}"), http)
    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(chat())
    assert str(caught.value) == "cannot reach WhatsApp: ConnectError"


@pytest.mark.parametrize(
    "to",
    [
        pytest.param(PHONE, id="no-prefix"),
        pytest.param(f"whatsapp:{DIGITS}", id="no-plus"),
        pytest.param("whatsapp:+62 812 3456 7890", id="spaces"),
        pytest.param("telegram:+6281234567890", id="telegram"),
    ],
)
async def test_a_contact_that_is_no_whatsapp_number_is_refused_without_quoting_it(
    graph: GraphLike, http: httpx.AsyncClient, to: str
) -> None:
    with pytest.raises(TechnicalFailure) as caught:
        await channel_for(graph, http).send(chat(to=to))
    assert str(caught.value) == "chat contact is not a whatsapp:<E.164 number> address"
    assert graph.requests == 0


async def test_a_closed_channel_refuses_retryably_and_leaves_a_shared_client_open(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    channel = channel_for(graph, http)
    await channel.aclose()
    with pytest.raises(ProviderUnavailable, match=r"^WhatsApp channel is closed$"):
        await channel.send(chat())
    assert not http.is_closed
    assert graph.requests == 0


async def test_a_channel_without_a_client_makes_and_closes_its_own(graph: GraphLike) -> None:
    channel = WhatsAppChannel(config(graph.url))
    assert (await channel.send(chat())).status == "sending"
    await channel.aclose()
    assert channel._http.is_closed


def test_the_config_repr_hides_the_secrets() -> None:
    shown = repr(config("http://127.0.0.1:9"))
    assert PHONE_NUMBER_ID in shown
    for secret in (ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN):
        assert secret not in shown


async def test_the_status_webhooks_of_a_sent_message_become_receipts(
    graph: GraphLike, http: httpx.AsyncClient
) -> None:
    wa = config(graph.url)
    sent = await WhatsAppChannel(wa, http).send(chat())
    wamid = str(sent.provider_reference)

    events = []
    for status, code in [("sent", None), ("delivered", None), ("read", None)]:
        body, header = graph.status_webhook(wamid, status, code)
        assert valid_signature(wa, body, header)
        events.append(parse_webhook(json.loads(body)))

    assert [e.receipts for e in events] == [
        [],
        [Receipt("whatsapp", wamid, "delivered", "delivered")],
        [Receipt("whatsapp", wamid, "delivered", "read")],
    ]
    assert [e.reads for e in events] == [[], [], [wamid]]


async def test_a_citizens_webhook_text_becomes_an_inbound_chat(graph: GraphLike) -> None:
    wa = config(graph.url)
    body, header = graph.inbound_webhook(PHONE, "Ya, saya hadir 👍")
    assert valid_signature(wa, body, header)
    assert not valid_signature(wa, body.replace(b"hadir", b"absen"), header)
    [chat_in] = parse_webhook(json.loads(body)).inbound
    assert isinstance(chat_in, InboundChat)
    assert (chat_in.sender, chat_in.text) == (PHONE, "Ya, saya hadir 👍")
    assert chat_in.wamid.startswith("wamid.")
