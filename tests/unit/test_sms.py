"""SMS encoding, length, parts, cap and sanitising (warta.domain.sms)."""

from __future__ import annotations

import doctest
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.domain import sms
from warta.domain.sms import (
    FULLWIDTH,
    GSM7_BASIC,
    GSM7_CHARACTERS,
    GSM7_EXTENSION,
    LOOKALIKES,
    MAX_SMS_CHARACTERS,
    SMS_REPLACEMENTS,
    SmsInfo,
    check_length,
    describe,
    detect_encoding,
    encoded_length,
    fragment_count,
    sanitise,
    split,
)
from warta.errors import InvalidInput, MessageTooLong

EMOJI = "💉"  # U+1F489, outside the BMP: a surrogate pair in UCS-2
HAN = "你"  # inside the BMP, not GSM-7: one UCS-2 code unit


def test_gsm7_tables() -> None:
    assert len(GSM7_BASIC) == 127  # 128 positions less the ESC at 0x1B
    assert len(GSM7_EXTENSION) == 10
    assert GSM7_BASIC.isdisjoint(GSM7_EXTENSION)
    assert "\x1b" not in GSM7_CHARACTERS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", "GSM-7", id="empty"),
        pytest.param("Halo Budi, jadwal Anda 08:00.", "GSM-7", id="plain"),
        pytest.param("Harga €5 [promo] {a} ~b~ |c| ^d \\e", "GSM-7", id="extension"),
        pytest.param("Ça café ÉÆØÅ ñ ü ß Δ ¿¡ §¤", "GSM-7", id="gsm-accents-and-greek"),
        pytest.param("a\nb\rc\fd", "GSM-7", id="newline-cr-formfeed"),
        pytest.param("Terima kasih 🙏", "UCS-2", id="emoji"),
        pytest.param("Halo ‘Budi’", "UCS-2", id="curly-quote"),
        pytest.param("08.00–12.00", "UCS-2", id="en-dash"),
        pytest.param("café ç", "UCS-2", id="lowercase-c-cedilla-not-gsm"),
        pytest.param("naïve", "UCS-2", id="i-diaeresis-not-gsm"),
        pytest.param("a\tb", "UCS-2", id="tab-not-gsm"),
        pytest.param("a`b", "UCS-2", id="backtick-not-gsm"),
        pytest.param("a\x1bb", "UCS-2", id="raw-escape-not-gsm"),
        pytest.param("Selamat 你好", "UCS-2", id="han"),
    ],
)
def test_detect_encoding(text: str, expected: str) -> None:
    assert detect_encoding(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("Halo", 4, id="basic"),
        pytest.param("€5", 3, id="euro-two-septets"),
        pytest.param("[]{}", 8, id="brackets-two-septets-each"),
        pytest.param("\f", 2, id="form-feed-two-septets"),
        pytest.param("ÉÑ", 2, id="gsm-accents-one-septet"),
        pytest.param(f"{EMOJI} ok", 5, id="emoji-two-units"),
        pytest.param(f"{HAN}€", 2, id="euro-one-unit-in-ucs2"),
        pytest.param("’", 1, id="curly-quote-one-unit"),
    ],
)
def test_encoded_length(text: str, expected: int) -> None:
    assert encoded_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("a", 1, id="one-char"),
        pytest.param("a" * 160, 1, id="gsm-160"),
        pytest.param("a" * 161, 2, id="gsm-161"),
        pytest.param("a" * 306, 2, id="gsm-306"),
        pytest.param("a" * 307, 3, id="gsm-307"),
        pytest.param("a" * 918, 6, id="gsm-918"),
        pytest.param("€" * 80, 1, id="gsm-80-euros-160-septets"),
        pytest.param("€" * 80 + "a", 2, id="gsm-161-septets-with-extension"),
        pytest.param(HAN * 70, 1, id="ucs2-70"),
        pytest.param(HAN * 71, 2, id="ucs2-71"),
        pytest.param(HAN * 134, 2, id="ucs2-134"),
        pytest.param(HAN * 135, 3, id="ucs2-135"),
        pytest.param(EMOJI * 35, 1, id="ucs2-35-emoji-70-units"),
        pytest.param(EMOJI * 35 + "a", 2, id="ucs2-71-units-with-emoji"),
        pytest.param("a" * 159 + "’", 3, id="one-curly-quote-makes-160-chars-ucs2"),
        # a two-unit character straddling a boundary moves whole into the next part
        pytest.param("a" * 152 + "€" + "a" * 152, 3, id="gsm-306-septets-euro-at-boundary"),
        pytest.param(HAN * 66 + EMOJI + HAN * 66, 3, id="ucs2-134-units-emoji-at-boundary"),
    ],
)
def test_fragment_count(text: str, expected: int) -> None:
    assert fragment_count(text) == expected
    assert len(split(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("Halo", ["Halo"], id="single"),
        pytest.param("a" * 161, ["a" * 153, "a" * 8], id="gsm-two-parts"),
        pytest.param(
            "a" * 152 + "€" + "a" * 10, ["a" * 152, "€" + "a" * 10], id="gsm-escape-pair-not-split"
        ),
        pytest.param(
            "a" * 151 + "€" + "a" * 10,
            ["a" * 151 + "€", "a" * 10],
            id="gsm-escape-pair-fits-exactly",
        ),
        pytest.param(HAN * 71, [HAN * 67, HAN * 4], id="ucs2-two-parts"),
        pytest.param(
            HAN * 66 + EMOJI + HAN * 4,
            [HAN * 66, EMOJI + HAN * 4],
            id="ucs2-surrogate-pair-not-split",
        ),
        pytest.param(
            HAN * 65 + EMOJI + HAN * 5, [HAN * 65 + EMOJI, HAN * 5], id="ucs2-surrogate-pair-fits"
        ),
    ],
)
def test_split(text: str, expected: list[str]) -> None:
    assert split(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", SmsInfo("GSM-7", 0, 0), id="empty"),
        pytest.param("Halo €", SmsInfo("GSM-7", 6, 1), id="gsm"),
        pytest.param(EMOJI * 40, SmsInfo("UCS-2", 40, 2), id="emoji-counts-one-character"),
        pytest.param("a" * 161, SmsInfo("GSM-7", 161, 2), id="long"),
    ],
)
def test_describe(text: str, expected: SmsInfo) -> None:
    assert describe(text) == expected


def test_sms_info_is_frozen() -> None:
    info = describe("a")
    with pytest.raises(AttributeError):
        info.fragments = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("a" * MAX_SMS_CHARACTERS, id="918-gsm"),
        pytest.param(HAN * MAX_SMS_CHARACTERS, id="918-ucs2"),
        pytest.param("€" * MAX_SMS_CHARACTERS, id="918-extension-characters"),
    ],
)
def test_check_length_accepts(text: str) -> None:
    check_length(text)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("a" * 919, 919, id="919"),
        pytest.param("a" * 1000, 1000, id="1000"),
        pytest.param(EMOJI * 919, 919, id="emoji-counted-as-characters"),
    ],
)
def test_check_length_refuses(text: str, length: int) -> None:
    with pytest.raises(MessageTooLong) as raised:
        check_length(text)
    assert str(raised.value) == (
        "Your message is too long. Text messages cannot be longer than 918 characters. "
        f"Your message is {length} characters long."
    )
    assert isinstance(raised.value, InvalidInput)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Halo Budi", "Halo Budi", id="gsm-unchanged"),
        pytest.param("‘tunggal’ ‚ ‛", "'tunggal' ' '", id="single-quotes"),
        pytest.param("“ganda” „ ‟", '"ganda" " "', id="double-quotes"),
        pytest.param("«kutip»", '"kutip"', id="guillemets"),
        pytest.param("Budi`s ´ ʼ ′", "Budi's ' ' '", id="apostrophe-lookalikes"),
        pytest.param("5″", '5"', id="double-prime"),
        pytest.param("08.00–12.00 — ok", "08.00-12.00 - ok", id="en-em-dash"),
        pytest.param("\u2010\u2011\u2012\u2015", "----", id="hyphens"),
        pytest.param("−5°", "-5°", id="minus-sign-degree-left-alone"),
        pytest.param("Tunggu…", "Tunggu...", id="ellipsis"),
        pytest.param("a\u00a0b\u202fc\u2009d\u3000e", "a b c d e", id="unicode-spaces"),
        pytest.param("a\tb", "a b", id="tab"),
        pytest.param("a\u2028b\u2029c", "a\nb\nc", id="line-separators"),
        pytest.param("ab\u200bc\u2060d\ufeffe\u00adf\u180eg", "abcdefg", id="invisible-removed"),
        pytest.param("Ａｎｔｒｅａｎ １２！", "Antrean 12!", id="fullwidth"),
        pytest.param("［｛｝］～｀", "[{}]~'", id="fullwidth-symbols"),
        pytest.param("Terima kasih 🙏", "Terima kasih 🙏", id="emoji-left-alone"),
        pytest.param("Selamat 你好 ç", "Selamat 你好 ç", id="other-scripts-left-alone"),
        pytest.param("•", "•", id="bullet-left-alone"),
        # zero-width (non-)joiners
        pytest.param("👩\u200d⚕️", "👩\u200d⚕️", id="zwj-in-emoji-kept"),
        pytest.param("क्\u200dष", "क्\u200dष", id="zwj-in-devanagari-kept"),
        pytest.param("a\u200db", "ab", id="zwj-between-letters-removed"),
        pytest.param("a\u200c\u200d\u200cb", "ab", id="joiner-run-removed"),
        pytest.param("👍\u200da", "👍a", id="zwj-before-gsm-removed"),
        pytest.param("a\u200d👍", "a👍", id="zwj-after-gsm-removed"),
        pytest.param("\u200d👍", "👍", id="zwj-at-start-removed"),
        pytest.param("👍\u200d", "👍", id="zwj-at-end-removed"),
        pytest.param("👍\u200d\u00a0👍", "👍 👍", id="zwj-next-to-replaced-space"),
        pytest.param("\u200c", "", id="lone-zwnj"),
    ],
)
def test_sanitise(text: str, expected: str) -> None:
    assert sanitise(text) == expected


def test_sanitise_makes_pasted_text_one_gsm_part() -> None:
    pasted = "Jadwal vaksin “Booster” hari Senin, 08.00–12.00… Bawa KTP’ Anda.\u00a0Terima kasih."
    assert describe(pasted) == SmsInfo("UCS-2", len(pasted), 2)
    cleaned = sanitise(pasted)
    assert describe(cleaned) == SmsInfo("GSM-7", len(cleaned), 1)


def test_replacement_values_are_gsm7() -> None:
    for value in SMS_REPLACEMENTS.values():
        assert GSM7_CHARACTERS.issuperset(value), repr(value)


def test_no_gsm7_character_is_replaced() -> None:
    assert GSM7_CHARACTERS.isdisjoint(SMS_REPLACEMENTS)


def test_fullwidth_covers_printable_ascii() -> None:
    assert len(FULLWIDTH) == 94
    assert FULLWIDTH["Ａ"] == "A"
    assert FULLWIDTH["｀"] == LOOKALIKES["`"]


def test_docstring_examples() -> None:
    assert doctest.testmod(sms).failed == 0


_gsm_basic = st.text(alphabet=sorted(GSM7_BASIC), max_size=1000)
_gsm = st.text(alphabet=sorted(GSM7_CHARACTERS), max_size=1000)
_ucs2 = st.text(
    alphabet=st.sampled_from([HAN, EMOJI, "a", "€", "’", " ", "é", "👩", "\u200d"]), max_size=500
)
_long = st.one_of(
    st.text(alphabet=sorted(GSM7_CHARACTERS), min_size=150, max_size=1000),
    st.text(alphabet=[HAN, EMOJI, "a"], min_size=60, max_size=500),
)
_any = st.one_of(_gsm, _ucs2, _long, st.text(max_size=300))
_with_lookalikes = st.text(
    alphabet=st.sampled_from(
        sorted(GSM7_CHARACTERS) + sorted(SMS_REPLACEMENTS) + [EMOJI, HAN, "\u200c", "\u200d"]
    ),
    max_size=300,
)


@given(_gsm_basic)
def test_fragments_of_basic_gsm_follow_the_arithmetic(text: str) -> None:
    n = len(text)
    expected = 0 if n == 0 else 1 if n <= 160 else math.ceil(n / 153)
    assert fragment_count(text) == expected == len(split(text))


@given(st.text(alphabet=[HAN, "a", "é", "’"], max_size=500).map(lambda t: HAN + t))
def test_fragments_of_bmp_ucs2_follow_the_arithmetic(text: str) -> None:
    n = len(text)
    assert detect_encoding(text) == "UCS-2"
    expected = 1 if n <= 70 else math.ceil(n / 67)
    assert fragment_count(text) == expected == len(split(text))


def _units(part: str, encoding: str) -> int:
    """Units of a part measured in the encoding of the whole message."""
    if encoding == "GSM-7":
        return sum(2 if char in GSM7_EXTENSION else 1 for char in part)
    return len(part.encode("utf-16-le")) // 2


@given(st.one_of(_gsm, _ucs2, _long))
def test_split_parts_join_back_and_respect_limits(text: str) -> None:
    encoding = detect_encoding(text)
    single, per_part = (160, 153) if encoding == "GSM-7" else (70, 67)
    parts = split(text)
    units = encoded_length(text)
    assert "".join(parts) == text
    assert fragment_count(text) == len(parts)
    assert all(parts)
    if units <= single:
        assert len(parts) == (1 if text else 0)
    else:
        assert all(_units(part, encoding) <= per_part for part in parts)
        # a part is short by at most the one unit of a pair that did not fit, so:
        assert math.ceil(units / per_part) <= len(parts) <= math.ceil(units / (per_part - 1))


@given(_any)
def test_sanitise_is_idempotent(text: str) -> None:
    once = sanitise(text)
    assert sanitise(once) == once


@given(_with_lookalikes)
def test_sanitise_is_idempotent_on_lookalike_soup(text: str) -> None:
    once = sanitise(text)
    assert sanitise(once) == once


@given(_gsm)
def test_sanitise_leaves_gsm_text_alone(text: str) -> None:
    assert sanitise(text) == text
    assert detect_encoding(sanitise(text)) == "GSM-7"


@given(st.text(alphabet=sorted(GSM7_CHARACTERS) + sorted(SMS_REPLACEMENTS), max_size=300))
def test_sanitise_turns_lookalikes_into_gsm(text: str) -> None:
    assert detect_encoding(sanitise(text)) == "GSM-7"


@given(_any)
def test_describe_agrees_with_the_parts(text: str) -> None:
    info = describe(text)
    assert info == SmsInfo(detect_encoding(text), len(text), len(split(text)))
