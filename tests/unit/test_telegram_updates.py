"""Telegram webhook parsing, the secret check and link codes: pure, no network."""

from __future__ import annotations

import re
from typing import Any

import pytest

from warta.channels.telegram import (
    TelegramConfig,
    Update,
    link_url,
    new_link_code,
    parse_update,
    split_text,
    verify_secret,
)
from warta.errors import ConfigurationError, InvalidInput

CHAT = 5_123_456_789
CODE = "kX9_a-Zq3fWm0LtR8vYbN2cE5hJ7pUs4"
CONFIG = TelegramConfig(
    token="7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    username="WartaBot",
    webhook_secret="wh-secret_7d2e",
)


def message(text: str | None = None, *, chat_type: str = "private", **extra: Any) -> dict[str, Any]:
    """A Message as Telegram sends it in an Update."""
    chat: dict[str, Any] = {"id": CHAT, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Siti"
    else:
        chat["id"], chat["title"] = -1_001_234_567_890, "Warga RT 05"
    body: dict[str, Any] = {
        "message_id": 17,
        "from": {"id": CHAT, "is_bot": False, "first_name": "Siti", "language_code": "id"},
        "chat": chat,
        "date": 1_740_960_000,
        **extra,
    }
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0])
            body["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
    return body


STICKER = {
    "width": 512,
    "height": 512,
    "emoji": "👍",
    "is_animated": False,
    "is_video": False,
    "type": "regular",
    "file_id": "CAACAgIAAxkBAAE",
    "file_unique_id": "AgADBAAD",
}


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        pytest.param(
            {"update_id": 1, "message": message(f"/start {CODE}")},
            Update("start", str(CHAT), code=CODE),
            id="start-with-code",
        ),
        pytest.param(
            {"update_id": 1, "message": message(f"/start@WartaBot {CODE}")},
            Update("start", str(CHAT), code=CODE),
            id="start-addressed-to-the-bot",
        ),
        pytest.param(
            {"update_id": 1, "message": message("/start")},
            Update("start", str(CHAT)),
            id="start-without-code",
        ),
        pytest.param(
            {"update_id": 1, "message": message("/start kode saya?")},
            Update("start", str(CHAT)),
            id="start-with-what-no-link-makes",
        ),
        pytest.param(
            {"update_id": 1, "message": message("Halo, jadwal vaksin kapan?")},
            Update("text", str(CHAT), text="Halo, jadwal vaksin kapan?"),
            id="plain-text",
        ),
        pytest.param(
            {"update_id": 1, "message": message("/starting soon")},
            Update("text", str(CHAT), text="/starting soon"),
            id="another-command-is-text",
        ),
        pytest.param(
            {"update_id": 1, "message": message(f"/start {CODE}", chat_type="group")},
            None,
            id="group-chat-ignored",
        ),
        pytest.param(
            {"update_id": 1, "message": message("halo", chat_type="supergroup")},
            None,
            id="supergroup-ignored",
        ),
        pytest.param(
            {"update_id": 1, "edited_message": message("Halo, jadwal vaksin?", edit_date=1)},
            None,
            id="edited-message-ignored",
        ),
        pytest.param(
            {"update_id": 1, "channel_post": message("Pengumuman", chat_type="channel")},
            None,
            id="channel-post-ignored",
        ),
        pytest.param(
            {"update_id": 1, "message": message(sticker=STICKER)},
            None,
            id="sticker-ignored",
        ),
        pytest.param(
            {"update_id": 1, "message": message(photo=[], caption="/start x")},
            None,
            id="photo-with-caption-ignored",
        ),
        pytest.param(
            {"update_id": 1, "message": {**message("halo"), "chat": {"id": "42"}}},
            None,
            id="malformed-chat-ignored",
        ),
        pytest.param(
            {"update_id": 1, "my_chat_member": {"chat": {"id": CHAT, "type": "private"}}},
            None,
            id="bot-blocked-notice-ignored",
        ),
        pytest.param({}, None, id="empty"),
    ],
)
def test_parse_update(update: dict[str, Any], expected: Update | None) -> None:
    assert parse_update(update) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("wh-secret_7d2e", True, id="ours"),
        pytest.param("wh-secret_7d2f", False, id="another"),
        pytest.param("wh-secret_7d2e ", False, id="with-space"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="missing"),
    ],
)
def test_verify_secret(header: str | None, expected: bool) -> None:
    assert verify_secret(CONFIG, header) is expected


def test_link_codes_fit_a_deep_link_and_do_not_repeat() -> None:
    codes = {new_link_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        # 32 characters of a 64-letter alphabet: 192 bits; Telegram allows up to 64.
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", code)


def test_link_url() -> None:
    assert link_url(CONFIG, CODE) == f"https://t.me/WartaBot?start={CODE}"


@pytest.mark.parametrize(
    "code", [pytest.param("", id="empty"), "a+b", "a b", pytest.param("x" * 65, id="too-long")]
)
def test_link_url_refuses_what_telegram_would_drop(code: str) -> None:
    with pytest.raises(InvalidInput, match=r"^a Telegram link code is 1-64 of A-Z"):
        link_url(CONFIG, code)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"token": "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"},
            "Telegram token must look like 123456:ABC-DEF (@BotFather)",
            id="token-without-bot-id",
        ),
        pytest.param(
            {"username": "@WartaBot"},
            "Telegram username must be the bot's 5-32 letters, digits and _, without @",
            id="username-with-at",
        ),
        pytest.param(
            {"webhook_secret": "rahasia!"},
            "Telegram webhook_secret must be 1-256 of A-Z, a-z, 0-9, _ and -",
            id="secret-charset",
        ),
        pytest.param(
            {"webhook_secret": ""},
            "Telegram webhook_secret must be 1-256 of A-Z, a-z, 0-9, _ and -",
            id="no-secret",
        ),
        pytest.param({"timeout": 0}, "Telegram timeout must be positive", id="timeout"),
    ],
)
def test_config_refuses_what_cannot_work(changes: dict[str, Any], message: str) -> None:
    fields = {
        "token": CONFIG.token,
        "username": CONFIG.username,
        "webhook_secret": CONFIG.webhook_secret,
    }
    with pytest.raises(ConfigurationError) as caught:
        TelegramConfig(**(fields | changes))
    assert str(caught.value) == message


def test_config_repr_hides_the_secrets() -> None:
    assert CONFIG.token not in repr(CONFIG)
    assert CONFIG.webhook_secret not in repr(CONFIG)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("abc", 5, ["abc"], id="fits"),
        pytest.param("  abc \n", 5, ["abc"], id="trimmed"),
        pytest.param("   ", 5, [], id="blank"),
        pytest.param("abcdefgh", 5, ["abcde", "fgh"], id="no-space-mid-word"),
        pytest.param("aaa bb cc", 5, ["aaa", "bb cc"], id="at-a-space"),
        pytest.param("aa bb\ncc", 6, ["aa bb", "cc"], id="newline-first"),
        pytest.param("a bcdefgh", 5, ["a bcd", "efgh"], id="space-too-early"),
        pytest.param("😀😀😀", 4, ["😀😀", "😀"], id="emoji-count-two"),
    ],
)
def test_split_text(text: str, limit: int, expected: list[str]) -> None:
    assert split_text(text, limit) == expected
