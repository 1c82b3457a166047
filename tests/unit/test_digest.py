"""A citizen's digest as the citizen reads it (warta.domain.digest)."""

from __future__ import annotations

import doctest

import pytest

from warta.domain import digest
from warta.domain.digest import Item, SmsPart, email_digest, sms_digests, sms_text
from warta.domain.sms import MAX_SMS_CHARACTERS
from warta.errors import InvalidInput

PAJAK = Item("Bapenda Jabar", "Pajak D 1234 XY jatuh tempo 5 Desember.")
STNK = Item("Samsat Kota", "STNK D 1234 XY siap diambil.")
VAKSIN = Item("Dinkes", "Vaksin anak hari Sabtu.")


@pytest.mark.parametrize(
    ("items", "language", "expected"),
    [
        pytest.param(
            [PAJAK, STNK, VAKSIN],
            "id",
            "Ringkasan Warta (3 pesan):\n"
            "1) Bapenda Jabar: Pajak D 1234 XY jatuh tempo 5 Desember.\n"
            "2) Samsat Kota: STNK D 1234 XY siap diambil.\n"
            "3) Dinkes: Vaksin anak hari Sabtu.",
            id="indonesian",
        ),
        pytest.param(
            [PAJAK, STNK],
            "en",
            "Warta digest (2 messages):\n"
            "1) Bapenda Jabar: Pajak D 1234 XY jatuh tempo 5 Desember.\n"
            "2) Samsat Kota: STNK D 1234 XY siap diambil.",
            id="english",
        ),
        pytest.param(
            [PAJAK, STNK],
            "jv",
            "Ringkasan Warta (2 pesan):\n"
            "1) Bapenda Jabar: Pajak D 1234 XY jatuh tempo 5 Desember.\n"
            "2) Samsat Kota: STNK D 1234 XY siap diambil.",
            id="unknown-language-is-indonesian",
        ),
        pytest.param(
            [Item("Dinas\nUji ", "a"), Item("B", "line one\nline two")],
            "id",
            "Ringkasan Warta (2 pesan):\n1) Dinas Uji: a\n2) B: line one\nline two",
            id="agency-name-kept-on-one-line",
        ),
    ],
)
def test_sms_digest_text(items: list[Item], language: str, expected: str) -> None:
    assert sms_text(items, language=language) == expected


@pytest.mark.parametrize("items", [[], [PAJAK]], ids=["none", "one"])
def test_a_digest_needs_two_messages(items: list[Item]) -> None:
    with pytest.raises(InvalidInput, match=r"^a digest gathers two messages or more$"):
        sms_text(items)
    with pytest.raises(InvalidInput, match=r"^a digest gathers two messages or more$"):
        email_digest(items)


def text_of(length: int, agency: str = "A") -> Item:
    return Item(agency, "x" * length)


# "Ringkasan Warta (2 pesan):\n1) A: " is 33 characters, "\n2) A: " 7 more.
TWO_HEADER = len(sms_text([text_of(0), text_of(0)]))


@pytest.mark.parametrize(
    ("items", "limit", "expected"),
    [
        pytest.param([], 918, [], id="nothing"),
        pytest.param([PAJAK], 918, [((0,), PAJAK.text)], id="one-goes-as-itself"),
        pytest.param(
            [PAJAK, STNK],
            918,
            [((0, 1), sms_text([PAJAK, STNK]))],
            id="two-in-one",
        ),
        pytest.param(
            [text_of(10), text_of(10)],
            TWO_HEADER + 20,
            [((0, 1), sms_text([text_of(10), text_of(10)]))],
            id="exactly-at-the-limit",
        ),
        pytest.param(
            [text_of(10), text_of(11)],
            TWO_HEADER + 20,
            [((0,), "x" * 10), ((1,), "x" * 11)],
            id="one-over-splits-each-alone",
        ),
        pytest.param(
            [text_of(10), text_of(10), text_of(10), text_of(10)],
            TWO_HEADER + 20,
            [
                ((0, 1), sms_text([text_of(10), text_of(10)])),
                ((2, 3), sms_text([text_of(10), text_of(10)])),
            ],
            id="two-digests-in-order",
        ),
        pytest.param(
            [text_of(10), text_of(10), text_of(10)],
            TWO_HEADER + 20,
            [((0, 1), sms_text([text_of(10), text_of(10)])), ((2,), "x" * 10)],
            id="the-one-left-over-goes-as-itself",
        ),
        pytest.param(
            [text_of(30), text_of(5), text_of(5)],
            TWO_HEADER + 10,
            [((0,), "x" * 30), ((1, 2), sms_text([text_of(5), text_of(5)]))],
            id="a-long-one-alone-never-cut",
        ),
    ],
)
def test_sms_digests_split_without_cutting(
    items: list[Item], limit: int, expected: list[tuple[tuple[int, ...], str]]
) -> None:
    assert sms_digests(items, limit=limit) == [SmsPart(i, t) for i, t in expected]


def test_the_default_limit_is_notifys_sms_cap() -> None:
    items = [text_of(150, agency=f"Dinas {n}") for n in range(12)]
    parts = sms_digests(items)
    assert all(len(part.text) <= MAX_SMS_CHARACTERS for part in parts)
    assert [i for part in parts for i in part.items] == list(range(12))  # none lost
    assert len(parts) == 3  # five 150-character messages and their lines fit in 918
    for part in parts:
        for index in part.items:  # each message whole, under its own agency
            assert f"{items[index].agency}: {'x' * 150}" in part.text


@pytest.mark.parametrize(
    ("language", "subject", "intro"),
    [
        pytest.param(
            "id",
            "Ringkasan pesan Anda hari ini (2)",
            "Pesan berprioritas rendah untuk Anda, dikumpulkan jadi satu sesuai pilihan Anda.",
            id="indonesian",
        ),
        pytest.param(
            "en",
            "Your messages today (2)",
            "Your low-priority messages, gathered into one as you chose.",
            id="english",
        ),
    ],
)
def test_email_digest_lists_each_message_with_its_agency_and_subject(
    language: str, subject: str, intro: str
) -> None:
    items = [
        Item("Bapenda", "Yth. Budi, pajak jatuh tempo.", "Pajak D 1234", "Yth. Budi, pajak."),
        Item("Samsat <Kota>", "Bawa:\n\n• KTP", "STNK siap", "Bawa:\n\n* KTP"),
    ]
    mail = email_digest(items, language=language)
    assert mail.subject == subject
    assert mail.text == (
        f"{intro}\n\n" + "-" * 40 + "\n\n1) Bapenda: Pajak D 1234\n\n"
        "Yth. Budi, pajak jatuh tempo.\n\n" + "-" * 40 + "\n\n"
        "2) Samsat <Kota>: STNK siap\n\nBawa:\n\n• KTP"
    )
    assert f'<html lang="{language}">' in mail.html
    assert f"<title>{subject}</title>" in mail.html
    assert ">1) Bapenda: Pajak D 1234</h2>" in mail.html
    assert ">2) Samsat &lt;Kota&gt;: STNK siap</h2>" in mail.html  # escaped, not markup
    assert ">KTP</li>" in mail.html  # each body rendered as its own email would be
    assert mail.html.index("Pajak D 1234") < mail.html.index("STNK siap")


def test_email_item_without_a_markdown_body_shows_its_text_escaped() -> None:
    mail = email_digest([Item("A", "<b>x</b>"), Item("B", "y", "S")])
    assert ">1) A</h2>" in mail.html  # no subject, no colon
    assert "&lt;b&gt;x&lt;/b&gt;</p>" in mail.html


def test_doctests() -> None:
    assert doctest.testmod(digest).failed == 0
