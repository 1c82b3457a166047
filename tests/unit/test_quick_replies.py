"""Quick replies fitted to each channel, and what comes back when one is chosen: pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warta.channels.telegram import Update, inline_keyboard, parse_update
from warta.channels.whatsapp import InboundChat, interactive_request, parse_webhook
from warta.domain.channels import Option, OutboundMessage
from warta.domain.quick_replies import (
    WhatsAppMenu,
    cut,
    read_sms_reply,
    sms_menu,
    sms_options,
    telegram_rows,
    whatsapp_menu,
    with_sms_menu,
)

STATUS = Option("cek_status", "Cek status")
COMPLAINT = Option("buat_pengaduan", "Buat pengaduan")
STOP = Option("berhenti", "Berhenti")
HELP = Option("bantuan", "Bantuan")
OFFICER = Option("hubungi_petugas", "Hubungi petugas")
FAQ = Option("faq", "Pertanyaan umum")
THREE = [STATUS, COMPLAINT, STOP]


def options(count: int) -> list[Option]:
    return [Option(f"pilihan_{n}", f"Pilihan {n}") for n in range(1, count + 1)]


# -- cutting and leaving out ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "limit", "expected"),
    [
        pytest.param("Cek status", 20, "Cek status", id="fits"),
        pytest.param("x" * 20, 20, "x" * 20, id="exactly-the-limit"),
        pytest.param("Perpanjang KTP elektronik", 20, "Perpanjang KTP elek…", id="cut"),
        pytest.param("Cek   status\n", 20, "Cek status", id="whitespace-collapsed"),
        pytest.param("Jadwal posyandu balita", 15, "Jadwal posyand…", id="cut-at-15"),
        pytest.param("Jadwal  posyandu", 8, "Jadwal…", id="space-before-cut-dropped"),
        pytest.param("   ", 20, "", id="blank"),
    ],
)
def test_cut(title: str, limit: int, expected: str) -> None:
    assert cut(title, limit) == expected
    assert len(cut(title, limit)) <= limit


# -- Telegram -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "rows"),
    [
        pytest.param([], (), id="none"),
        pytest.param([STATUS], ((STATUS,),), id="one"),
        pytest.param(THREE, ((STATUS, COMPLAINT), (STOP,)), id="24-chars-then-a-new-row"),
        pytest.param(
            [Option("a", "Ya"), Option("b", "Tidak"), Option("c", "Nanti"), Option("d", "Ok")],
            ((Option("a", "Ya"), Option("b", "Tidak"), Option("c", "Nanti")), (Option("d", "Ok"),)),
            id="at-most-three-a-row",
        ),
        pytest.param(
            [Option("x", "Laporkan jalan rusak di lingkungan saya"), STATUS],
            ((Option("x", "Laporkan jalan rusak di lingkungan saya"),), (STATUS,)),
            id="long-title-alone",
        ),
        pytest.param(
            [Option("é" * 32, "Dua byte"), Option("é" * 33, "Terlalu panjang")],
            ((Option("é" * 32, "Dua byte"),),),
            id="data-over-64-bytes-left-out",
        ),
        pytest.param(
            [STATUS, Option("cek_status", "Lagi"), Option("", "Kosong"), Option("z", "  ")],
            ((STATUS,),),
            id="repeated-empty-id-and-blank-title-left-out",
        ),
    ],
)
def test_telegram_rows(given: list[Option], rows: tuple[tuple[Option, ...], ...]) -> None:
    assert telegram_rows(given) == rows


def test_telegram_keeps_ten_options_at_most() -> None:
    rows = telegram_rows(options(14))
    assert [o.id for row in rows for o in row] == [f"pilihan_{n}" for n in range(1, 11)]


def test_inline_keyboard_is_telegrams_reply_markup() -> None:
    assert inline_keyboard(THREE) == {
        "inline_keyboard": [
            [
                {"text": "Cek status", "callback_data": "cek_status"},
                {"text": "Buat pengaduan", "callback_data": "buat_pengaduan"},
            ],
            [{"text": "Berhenti", "callback_data": "berhenti"}],
        ]
    }
    assert inline_keyboard([]) is None


CHAT = 5_123_456_789


def callback(**changes: Any) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": "4382bfdwdsb323b2d9",
        "from": {"id": CHAT, "is_bot": False, "first_name": "Siti"},
        "message": {
            "message_id": 7,
            "from": {"id": 7012345678, "is_bot": True, "first_name": "Warta"},
            "chat": {"id": CHAT, "first_name": "Siti", "type": "private"},
            "date": 1_740_960_000,
            "text": "Ada yang bisa dibantu?",
        },
        "chat_instance": "-81234",
        "data": "cek_status",
    }
    return {"update_id": 9, "callback_query": query | changes}


TAPPED = Update("option", str(CHAT), text="cek_status", callback_id="4382bfdwdsb323b2d9")
GROUP_MESSAGE = {"chat": {"id": -100123, "type": "group", "title": "RT 05"}, "message_id": 1}


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        pytest.param(callback(), TAPPED, id="tap"),
        pytest.param(
            callback(message={"chat": {"id": CHAT, "type": "private"}, "message_id": 7, "date": 0}),
            TAPPED,
            id="inaccessible-old-message",
        ),
        pytest.param(callback(data=None), None, id="no-data-a-game"),
        pytest.param(callback(data=""), None, id="empty-data"),
        pytest.param(callback(id=None), None, id="no-query-id"),
        pytest.param(callback(message=None, inline_message_id="AA"), None, id="inline-message"),
        pytest.param(callback(message=GROUP_MESSAGE), None, id="group-chat"),
        pytest.param(
            callback(message={"chat": {"id": True, "type": "private"}}), None, id="bool-chat-id"
        ),
        pytest.param({"update_id": 9, "callback_query": "x"}, None, id="not-an-object"),
    ],
)
def test_parse_update_reads_button_taps(update: dict[str, Any], expected: Update | None) -> None:
    assert parse_update(update) == expected


# -- WhatsApp -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param([], None, id="none"),
        pytest.param([Option("", "Kosong")], None, id="nothing-carriable"),
        pytest.param([STATUS], WhatsAppMenu("button", (STATUS,)), id="one-button"),
        pytest.param(THREE, WhatsAppMenu("button", tuple(THREE)), id="three-buttons"),
        pytest.param(
            [Option("ktp", "Perpanjang KTP elektronik")],
            WhatsAppMenu("button", (Option("ktp", "Perpanjang KTP elek…"),)),
            id="button-title-cut-at-20",
        ),
        pytest.param(
            [*THREE, HELP],
            WhatsAppMenu("list", (*THREE, HELP), button="Pilih"),
            id="four-make-a-list",
        ),
        pytest.param(
            [*THREE, Option("x" * 257, "Terlalu panjang")],
            WhatsAppMenu("button", tuple(THREE)),
            id="an-id-over-256-left-out-three-buttons-remain",
        ),
        pytest.param(
            [*THREE, Option("ktp", "Perpanjang KTP elektronik")],
            WhatsAppMenu(
                "list", (*THREE, Option("ktp", "Perpanjang KTP elektron…")), button="Pilih"
            ),
            id="row-title-cut-at-24",
        ),
    ],
)
def test_whatsapp_menu(given: list[Option], expected: WhatsAppMenu | None) -> None:
    assert whatsapp_menu(given) == expected


@pytest.mark.parametrize(
    ("given", "titles"),
    [
        pytest.param(
            [Option("a", "Info"), Option("b", "Info"), Option("c", "Info")],
            ["Info", "Info 2", "Info 3"],
            id="numbered",
        ),
        pytest.param(
            [Option("a", "Perpanjang KTP elektronik"), Option("b", "Perpanjang KTP elektronik")],
            ["Perpanjang KTP elek…", "Perpanjang KTP ele 2"],
            id="cut-then-numbered",
        ),
        pytest.param(
            [Option("a", "Info 2"), Option("b", "Info"), Option("c", "Info")],
            ["Info 2", "Info", "Info 3"],
            id="skips-a-number-taken",
        ),
    ],
)
def test_whatsapp_titles_are_made_unique(given: list[Option], titles: list[str]) -> None:
    menu = whatsapp_menu(given)
    assert menu is not None
    assert [o.title for o in menu.options] == titles
    assert all(len(title) <= 20 for title in titles)


def test_a_whatsapp_list_keeps_ten_rows_and_speaks_english_when_asked() -> None:
    menu = whatsapp_menu(options(12), "en")
    assert menu is not None
    assert menu.button == "Choose"
    assert [o.id for o in menu.options] == [f"pilihan_{n}" for n in range(1, 11)]


def test_a_row_id_over_200_is_left_out_of_a_list() -> None:
    menu = whatsapp_menu([*THREE, HELP, Option("y" * 201, "Panjang")])
    assert menu == WhatsAppMenu("list", (*THREE, HELP), button="Pilih")


def message(options: list[Option], body: str = "Ada yang bisa dibantu?") -> OutboundMessage:
    return OutboundMessage(
        notification_id="",
        attempt=0,
        channel="chat",
        to="whatsapp:+6281234567890",
        sender="Warta",
        body=body,
        options=tuple(options),
    )


def test_interactive_request_with_three_options_is_reply_buttons() -> None:
    assert interactive_request("+6281234567890", message(THREE)) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "6281234567890",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Ada yang bisa dibantu?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "cek_status", "title": "Cek status"}},
                    {"type": "reply", "reply": {"id": "buat_pengaduan", "title": "Buat pengaduan"}},
                    {"type": "reply", "reply": {"id": "berhenti", "title": "Berhenti"}},
                ]
            },
        },
    }


def test_interactive_request_with_more_options_is_a_list() -> None:
    request = interactive_request("+6281234567890", message([*THREE, HELP]), "en")
    assert request is not None
    assert request["interactive"] == {
        "type": "list",
        "body": {"text": "Ada yang bisa dibantu?"},
        "action": {
            "button": "Choose",
            "sections": [
                {
                    "rows": [
                        {"id": "cek_status", "title": "Cek status"},
                        {"id": "buat_pengaduan", "title": "Buat pengaduan"},
                        {"id": "berhenti", "title": "Berhenti"},
                        {"id": "bantuan", "title": "Bantuan"},
                    ]
                }
            ],
        },
    }


@pytest.mark.parametrize(
    ("count", "limit"), [pytest.param(2, 1024, id="buttons"), pytest.param(5, 4096, id="list")]
)
def test_an_interactive_body_is_cut_to_its_limit(count: int, limit: int) -> None:
    request = interactive_request("+6281234567890", message(options(count), "kata " * 2000))
    assert request is not None
    text = request["interactive"]["body"]["text"]
    assert limit - 5 < len(text) <= limit  # cut at the limit, the space before "…" dropped
    assert text.endswith("…")


def test_no_options_means_no_interactive_request() -> None:
    assert interactive_request("+6281234567890", message([])) is None


WHEN = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def inbound(message: dict[str, Any]) -> dict[str, Any]:
    base = {"from": "6281234567890", "id": "wamid.HBgNtap", "timestamp": "1740963600"}
    value = {"messaging_product": "whatsapp", "messages": [base | message]}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"value": value, "field": "messages"}]}],
    }


def chose(option: str | None, text: str) -> list[InboundChat]:
    return [InboundChat("+6281234567890", text, "wamid.HBgNtap", WHEN, option=option)]


def interactive(kind: str, reply: Any) -> dict[str, Any]:
    return {
        "type": "interactive",
        "context": {"from": "15550783881", "id": "wamid.HBgNoffer"},
        "interactive": {"type": kind, kind: reply},
    }


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            interactive("button_reply", {"id": "cek_status", "title": "Cek status"}),
            chose("cek_status", "Cek status"),
            id="button-reply",
        ),
        pytest.param(
            interactive("list_reply", {"id": "faq", "title": "FAQ", "description": "Tanya"}),
            chose("faq", "FAQ"),
            id="list-reply",
        ),
        pytest.param(
            {"type": "button", "button": {"payload": "berhenti", "text": "Berhenti"}},
            chose("berhenti", "Berhenti"),
            id="template-quick-reply-button",
        ),
        pytest.param(
            interactive("button_reply", {"id": "bantuan"}), chose("bantuan", ""), id="no-title"
        ),
        pytest.param(
            {"type": "text", "text": {"body": "halo"}}, chose(None, "halo"), id="text-unchanged"
        ),
        pytest.param(interactive("button_reply", {"title": "Cek"}), [], id="no-id"),
        pytest.param(interactive("button_reply", {"id": ""}), [], id="empty-id"),
        pytest.param(interactive("button_reply", "cek_status"), [], id="reply-not-an-object"),
        pytest.param(interactive("nfm_reply", {"id": "x"}), [], id="flow-reply-not-read"),
        pytest.param({"type": "interactive"}, [], id="no-interactive-object"),
        pytest.param({"type": "button", "button": {"text": "Ya"}}, [], id="button-no-payload"),
        pytest.param(
            {"type": "image", "image": {"id": "1"}},
            [InboundChat("+6281234567890", "", "wamid.HBgNtap", WHEN, media_id="1")],
            id="image-read-as-a-photo",
        ),
    ],
)
def test_parse_webhook_reads_taps_as_inbound_with_the_option(
    message: dict[str, Any], expected: list[InboundChat]
) -> None:
    assert parse_webhook(inbound(message)).inbound == expected


# -- SMS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "language", "menu"),
    [
        pytest.param([], "id", "", id="none"),
        pytest.param(
            [Option("tanya", "Tanya"), STOP], "id", "Balas 1 untuk Tanya, 2 untuk Berhenti", id="id"
        ),
        pytest.param(
            [Option("ask", "Ask"), Option("stop", "Stop")],
            "en",
            "Reply 1 for Ask, 2 for Stop",
            id="en",
        ),
        pytest.param(
            [Option("ktp", "Perpanjangan KTP elektronik")],
            "id",
            "Balas 1 untuk Perpanjangan KTP elektr…",
            id="title-cut-at-24",
        ),
    ],
)
def test_sms_menu(given: list[Option], language: Any, menu: str) -> None:
    assert sms_menu(given, language) == menu


def test_an_sms_menu_numbers_nine_at_most() -> None:
    assert len(sms_options(options(12))) == 9
    assert sms_menu(options(12)).endswith("9 untuk Pilihan 9")


def test_with_sms_menu_puts_the_menu_on_its_own_line() -> None:
    assert with_sms_menu("Laporan diterima. ", [STATUS, STOP]) == (
        "Laporan diterima.\nBalas 1 untuk Cek status, 2 untuk Berhenti"
    )
    assert with_sms_menu("Laporan diterima.", []) == "Laporan diterima."


OFFERED = [STATUS, COMPLAINT, STOP]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param("1", "cek_status", id="one"),
        pytest.param("2", "buat_pengaduan", id="two"),
        pytest.param(" 3 ", "berhenti", id="spaces"),
        pytest.param("3.", "berhenti", id="dot"),
        pytest.param("(2)", "buat_pengaduan", id="parentheses"),
        pytest.param("#1", "cek_status", id="hash"),
        pytest.param("０", None, id="fullwidth-digit-not-a-choice"),
        pytest.param("0", None, id="zero"),
        pytest.param("4", None, id="past-the-end"),
        pytest.param("12", None, id="two-digits-past-the-end"),
        pytest.param("2 orang", None, id="a-number-in-a-sentence"),
        pytest.param("cek STATUS", "cek_status", id="a-title"),
        pytest.param("  Buat   pengaduan ", "buat_pengaduan", id="a-title-spaced"),
        pytest.param("Cek status jalan", None, id="more-than-a-title"),
        pytest.param("", None, id="empty"),
        pytest.param("  ", None, id="blank"),
    ],
)
def test_read_sms_reply(reply: str, expected: str | None) -> None:
    assert read_sms_reply(reply, OFFERED) == expected


def test_read_sms_reply_numbers_as_the_menu_did() -> None:
    """An option the menu left out is not counted: "2" is the second one shown."""
    offered = [STATUS, Option("", "Kosong"), STOP]
    assert sms_menu(offered) == "Balas 1 untuk Cek status, 2 untuk Berhenti"
    assert read_sms_reply("2", offered) == "berhenti"
    assert read_sms_reply("1", []) is None


# -- properties -----------------------------------------------------------------------------

any_options = st.lists(
    st.builds(Option, id=st.text(max_size=80), title=st.text(max_size=40)), max_size=14
)


@settings(max_examples=300, deadline=None)
@given(any_options)
def test_every_channel_stays_within_its_limits(given_options: list[Option]) -> None:
    for row in telegram_rows(given_options):
        assert 0 < len(row) <= 3
        for option in row:
            assert 0 < len(option.id.encode("utf-8")) <= 64 and option.title.strip()
    menu = whatsapp_menu(given_options)
    if menu is not None:
        title_limit, id_limit = (20, 256) if menu.kind == "button" else (24, 200)
        assert len(menu.options) <= (3 if menu.kind == "button" else 10)
        assert len({o.id for o in menu.options}) == len(menu.options)
        assert len({o.title for o in menu.options}) == len(menu.options)
        for option in menu.options:
            assert 0 < len(option.title) <= title_limit and 0 < len(option.id) <= id_limit
    offered = sms_options(given_options)
    for number, option in enumerate(offered, 1):
        assert read_sms_reply(str(number), given_options) == option.id
    assert read_sms_reply(str(len(offered) + 1), given_options) is None
