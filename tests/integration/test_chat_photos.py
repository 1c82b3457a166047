"""Photos citizens send the chatbot on Telegram and WhatsApp: how the update or webhook is
read, the download (bytes intact, the size limit kept, errors named), and the guided
complaint end to end, whose filed case keeps the photo without its EXIF GPS.

No mocks: the local Bot API and Cloud API peers (``warta.devpeers.telegram`` /
``.whatsapp``) hold the photo and serve it over a loopback socket.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.integration.harness import Clock, Harness, code_in, make_settings, running_warta
from tests.integration.test_chatbot_channels import CHAT_ID as BOT_CHAT
from tests.integration.test_chatbot_channels import PHONE as CHAT_PHONE
from tests.integration.test_chatbot_channels import (
    Chat,
    TelegramChat,
    WhatsAppChat,
    citizen,
    until,
)
from warta.channels import telegram as tg
from warta.channels.telegram import TelegramChannel, TelegramConfig, Update, parse_update
from warta.channels.whatsapp import WhatsAppChannel, WhatsAppConfig, parse_webhook
from warta.devpeers import whatsapp as wa_peer
from warta.devpeers.loopback import serve_asgi
from warta.devpeers.telegram import BotApi
from warta.devpeers.whatsapp import GraphLike
from warta.errors import InvalidInput, ProviderUnavailable, TechnicalFailure
from warta.services import citizen_self
from warta.services.cases import catalogue, photos, reads

CHAT = 5_123_456_700
SECRET = "wh-secret_photo"
PHONE = "+6281234567811"
#: Where the photo was taken: 6°54'S 107°36'E (Bandung), which must not reach the case.
GPS = {1: "S", 2: (6.0, 54.0, 12.5), 3: "E", 4: (107.0, 36.0, 30.0)}


def jpeg_with_gps(size: tuple[int, int] = (320, 240)) -> bytes:
    image = Image.new("RGB", size, (90, 120, 60))
    for x in range(0, size[0], 4):
        image.putpixel((x, x % size[1]), (255, 255, 255))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = GPS  # GPSInfo IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the fixture really carries GPS
        assert check.getexif().get_ifd(0x8825)
    return data


PHOTO = jpeg_with_gps()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


# -- Telegram -------------------------------------------------------------------------------


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
async def updates(telegram: TelegramChannel) -> AsyncIterator[list[Update | None]]:
    """What ``parse_update`` makes of each Update the peer delivers to our webhook."""
    received: list[Update | None] = []

    async def receive(request: Request) -> Response:
        received.append(parse_update(json.loads(await request.body())))
        return Response(status_code=200)

    app = Starlette(routes=[Route("/telegram", receive, methods=["POST"])])
    async with serve_asgi(app) as url:
        await telegram.set_webhook(f"{url}/telegram")
        yield received


async def test_a_telegram_photo_is_read_with_its_caption_and_largest_size(
    bot: BotApi, telegram: TelegramChannel, updates: list[Update | None]
) -> None:
    assert await bot.send_photo(CHAT, PHOTO, "lubang di jalan") == 200
    assert await bot.send_photo(CHAT, PHOTO) == 200
    first, second = updates
    assert first is not None and second is not None
    assert (first.kind, first.chat_id, first.text) == ("photo", str(CHAT), "lubang di jalan")
    assert (second.kind, second.text) == ("photo", "")
    assert first.file_id and first.file_id != second.file_id
    assert await telegram.download(first.file_id, 5_000_000) == PHOTO  # not the thumbnail


def test_parse_update_takes_the_largest_photo_size_in_any_order() -> None:
    sizes = [
        {"file_id": "big", "width": 1280, "height": 960, "file_size": 90_000},
        {"file_id": "small", "width": 90, "height": 67, "file_size": 1_000},
        {"file_id": "mid", "width": 320, "height": 240},
    ]
    chat = {"id": CHAT, "type": "private"}
    update = parse_update({"message": {"chat": chat, "photo": sizes}})
    assert update == Update("photo", str(CHAT), text="", file_id="big")
    assert parse_update({"message": {"chat": chat, "photo": []}}) is None
    group = {"id": -100, "type": "group"}
    assert parse_update({"message": {"chat": group, "photo": sizes}}) is None


async def test_a_telegram_photo_over_the_limit_is_refused(
    bot: BotApi, telegram: TelegramChannel, updates: list[Update | None]
) -> None:
    await bot.send_photo(CHAT, PHOTO)
    [update] = updates
    assert update is not None and update.file_id
    with pytest.raises(InvalidInput, match="larger than"):
        await telegram.download(update.file_id, len(PHOTO) - 1)
    assert [c.method for c in bot.calls].count("file") == 0  # refused by getFile's size
    assert await telegram.download(update.file_id, len(PHOTO)) == PHOTO


async def test_an_unknown_telegram_file_and_an_unreachable_bot_are_named(
    bot: BotApi, telegram: TelegramChannel, http: httpx.AsyncClient
) -> None:
    with pytest.raises(TechnicalFailure):
        await telegram.download("AgACAgUAAxkBAAI-unknown", 5_000_000)
    gone = TelegramConfig(
        token=bot.token, username=bot.username, webhook_secret=SECRET,
        base_url="http://127.0.0.1:9", timeout=2.0,
    )  # fmt: skip
    with pytest.raises(ProviderUnavailable) as raised:
        await TelegramChannel(gone, http).download("AgAC-x", 5_000_000)
    assert bot.token not in str(raised.value)


async def test_a_streamed_body_is_cut_off_past_the_limit(http: httpx.AsyncClient) -> None:
    """A body without Content-Length (or one larger than getFile's file_size said) is
    counted as it streams; the read stops at the first chunk past the limit, so even an
    endless body ends."""

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 10_000
            await asyncio.sleep(0)

    async def endless(request: Request) -> Response:
        return StreamingResponse(chunks(), media_type="image/jpeg")

    app = Starlette(routes=[Route("/f", endless)])
    async with serve_asgi(app) as url, http.stream("GET", f"{url}/f") as response:
        assert "content-length" not in response.headers
        with pytest.raises(InvalidInput, match="larger than 25000 bytes"):
            await asyncio.wait_for(tg.read_capped(response, 25_000), 5)


# -- WhatsApp -------------------------------------------------------------------------------


@pytest.fixture
async def graph() -> AsyncIterator[GraphLike]:
    async with GraphLike().running() as running:
        yield running


@pytest.fixture
def whatsapp(graph: GraphLike, http: httpx.AsyncClient) -> WhatsAppChannel:
    config = WhatsAppConfig(
        access_token=graph.access_token,
        phone_number_id=graph.phone_number_id,
        app_secret=graph.app_secret,
        verify_token="verify-photo",
        base_url=graph.url,
    )
    return WhatsAppChannel(config, http)


async def test_a_whatsapp_image_is_read_and_downloaded_intact(
    graph: GraphLike, whatsapp: WhatsAppChannel
) -> None:
    body, _ = graph.image_webhook(PHONE, PHOTO, "lubang di jalan")
    [inbound] = parse_webhook(json.loads(body)).inbound
    assert (inbound.sender, inbound.text, inbound.option) == (PHONE, "lubang di jalan", None)
    assert inbound.media_id is not None
    assert await whatsapp.download(inbound.media_id, 5_000_000) == PHOTO
    body, _ = graph.image_webhook(PHONE, PHOTO)
    [bare] = parse_webhook(json.loads(body)).inbound
    assert bare.text == "" and bare.media_id not in (None, inbound.media_id)
    # A text is still a text, without a media id.
    text, _ = graph.inbound_webhook(PHONE, "halo")
    [said] = parse_webhook(json.loads(text)).inbound
    assert (said.text, said.media_id) == ("halo", None)


async def test_a_whatsapp_image_over_the_limit_or_unknown_is_refused(
    graph: GraphLike, whatsapp: WhatsAppChannel
) -> None:
    body, _ = graph.image_webhook(PHONE, PHOTO)
    [inbound] = parse_webhook(json.loads(body)).inbound
    assert inbound.media_id is not None
    before = graph.requests
    with pytest.raises(InvalidInput, match="larger than"):
        await whatsapp.download(inbound.media_id, len(PHOTO) - 1)
    assert graph.requests == before + 1  # the media query only: nothing downloaded
    with pytest.raises(TechnicalFailure, match="error 100"):
        await whatsapp.download("1234567890", 5_000_000)
    with pytest.raises(InvalidInput):
        await whatsapp.download("../../v21.0/106540352242922/messages", 5_000_000)


# -- end to end -----------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # Tuesday 10:00 WIB: office open


@pytest.fixture
async def harness(sqlite_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    settings = make_settings(sqlite_url, tmp_path, local_app_peers=True)
    async with running_warta(settings, clock=clock) as running:
        yield running


TRACKING = re.compile(r"nomor ([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4})")


async def complaint_with_photo(
    harness: Harness, chat: Chat, send_photo: Callable[[], Awaitable[str]]
) -> None:
    """The guided complaint up to the photo step, the photo (``send_photo`` sends it and
    gives the bot's answer), then yes; the filed case's one photo is a JPEG without EXIF
    or GPS."""
    await catalogue.create_service(harness.app, harness.agency_id, "JALAN-RUSAK", "Jalan rusak")
    await chat.say("saya mau buat pengaduan")
    await chat.choose("svc:JALAN-RUSAK")
    await chat.say("Lubang besar di tengah jalan")
    assert "foto" in (await chat.say("depan Pasar Kosambi")).lower()
    confirm = await send_photo()
    assert "yes" in chat.options(), confirm
    await chat.choose("yes")
    found = await until(
        lambda: [m for t in chat.received() if (m := TRACKING.search(t))], "the tracking id"
    )
    case = await reads.for_agency(harness.app, harness.agency_id, found[-1].group(1))
    [photo] = case.photos
    content_type, path = await reads.agency_photo(harness.app, harness.agency_id, case.id, photo.id)
    stored = await photos.read(harness.app, path)
    assert content_type == "image/jpeg" and stored != PHOTO
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (320, 240)
        assert not image.getexif() and "exif" not in image.info
    assert b"PhoneMaker" not in stored and b"Exif" not in stored


async def test_a_complaint_photo_on_telegram_is_filed_without_gps(harness: Harness) -> None:
    peers = harness.app.local_peers
    assert peers is not None and peers.telegram_peer is not None
    bot: BotApi = peers.telegram_peer
    chat = TelegramChat(bot)
    async with serve_asgi(harness.api) as warta_url:
        telegram = harness.app.channels["chat"].services["telegram"]  # type: ignore[attr-defined]
        await telegram.set_webhook(f"{warta_url}/providers/telegram/webhook")
        sent = lambda: chat._after(bot.send_photo(BOT_CHAT, PHOTO))  # noqa: E731
        await complaint_with_photo(harness, chat, sent)


async def test_a_complaint_photo_on_whatsapp_is_filed_without_gps(harness: Harness) -> None:
    peers = harness.app.local_peers
    assert peers is not None and peers.graph_peer is not None
    graph: GraphLike = peers.graph_peer
    await whatsapp_citizen(harness, graph)  # free text and buttons need the 24-hour window
    chat = WhatsAppChat(harness, graph)
    await chat.say("halo")  # opens the window, as a citizen writing first does
    sent = lambda: chat._post(graph.image_webhook(CHAT_PHONE, PHOTO))  # noqa: E731
    await complaint_with_photo(harness, chat, sent)


async def whatsapp_citizen(harness: Harness, graph: GraphLike) -> None:
    """A citizen whose WhatsApp number is a verified chat contact of their own, as in
    test_chatbot_channels.test_on_whatsapp: the window is kept for such a contact only."""
    person = await citizen(harness, ["chat", "sms"])
    added = await harness.post(f"/v2/citizens/{person['id']}/contacts",
                               {"type": "chat", "value": f"whatsapp:{CHAT_PHONE}"})  # fmt: skip
    code_message = await until(lambda: graph.accepted, "the WhatsApp code")
    verify = f"/v2/citizens/{person['id']}/contacts/{added.json()['id']}/verify"
    assert (await harness.post(verify, {"code": code_in(code_message[-1].text)})).status_code == 200
    await citizen_self.make_own_unchecked(
        harness.app, uuid.UUID(person["id"]), uuid.UUID(added.json()["id"])
    )


async def test_a_photo_that_cannot_be_fetched_leaves_the_caption_answered(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A media id Graph does not know (expired, say): no photo, the caption answered, and
    the log names the error's class only."""
    peers = harness.app.local_peers
    assert peers is not None and peers.graph_peer is not None
    graph: GraphLike = peers.graph_peer
    chat = WhatsAppChat(harness, graph)
    body, _ = graph.image_webhook(CHAT_PHONE, PHOTO, "halo")
    graph.media.clear()
    answer = await chat._post((body, wa_peer.hub_signature(graph.app_secret, body)))
    assert answer  # the bot answered the caption
    warnings = [r.getMessage() for r in caplog.records if r.name == "warta.services.chat"]
    assert warnings == ["whatsapp photo not downloaded (TechnicalFailure)"]
