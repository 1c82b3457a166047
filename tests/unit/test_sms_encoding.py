"""SMS parts on the SMPP wire: encode_parts, decode_short_message, join_parts, PartCollector."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.domain.sms import (
    GSM7_CHARACTERS,
    MAX_SMS_CHARACTERS,
    Concat,
    EncodedSms,
    PartCollector,
    decode_short_message,
    encode_parts,
    fragment_count,
    join_parts,
)

EMOJI = "💉"  # U+1F489: the surrogate pair D83D DC89 in UTF-16
PRAY = "🙏"  # U+1F64F: D83D DE4F


def udh(reference: int, total: int, sequence: int) -> bytes:
    return bytes((5, 0, 3, reference, total, sequence))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", EncodedSms(0, ()), id="empty-no-parts"),
        pytest.param("Halo Budi", EncodedSms(0, (b"Halo Budi",)), id="gsm-plain"),
        pytest.param("@£$", EncodedSms(0, (b"\x00\x01\x02",)), id="gsm-table-positions"),
        pytest.param("€5 [a]", EncodedSms(0, (b"\x1be5 \x1b<a\x1b>",)), id="gsm-extension-esc"),
        pytest.param("a\nb", EncodedSms(0, (b"a\nb",)), id="gsm-newline"),
        pytest.param("x" * 160, EncodedSms(0, (b"x" * 160,)), id="gsm-160-one-part"),
        pytest.param(
            "x" * 161,
            EncodedSms(0, (udh(9, 2, 1) + b"x" * 153, udh(9, 2, 2) + b"x" * 8)),
            id="gsm-161-two-parts",
        ),
        pytest.param(
            "x" * 152 + "€",
            EncodedSms(0, (b"x" * 152 + b"\x1be",)),
            id="gsm-escape-fits-one-part",
        ),
        pytest.param(
            "x" * 152 + "€" + "y" * 10,
            EncodedSms(0, (udh(9, 2, 1) + b"x" * 152, udh(9, 2, 2) + b"\x1be" + b"y" * 10)),
            id="gsm-escape-not-cut-across-parts",
        ),
        pytest.param("Halo ‘Budi’", EncodedSms(8, ("Halo ‘Budi’".encode("utf-16-be"),)), id="ucs2"),
        pytest.param(
            f"Sehat {EMOJI}",
            EncodedSms(8, (b"\x00S\x00e\x00h\x00a\x00t\x00 \xd8\x3d\xdc\x89",)),
            id="ucs2-emoji-surrogate-pair",
        ),
        pytest.param(
            "ü" * 70 + "’",
            EncodedSms(
                8,
                (
                    udh(9, 2, 1) + ("ü" * 67).encode("utf-16-be"),
                    udh(9, 2, 2) + ("ü" * 3 + "’").encode("utf-16-be"),
                ),
            ),
            id="ucs2-71-two-parts",
        ),
    ],
)
def test_encode_parts(text: str, expected: EncodedSms) -> None:
    assert encode_parts(text, reference=9) == expected


@pytest.mark.parametrize(
    ("text", "esm_class"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("one part", 0, id="single-no-udh"),
        pytest.param("x" * 161, 0x40, id="multi-udhi"),
    ],
)
def test_esm_class(text: str, esm_class: int) -> None:
    assert encode_parts(text, reference=0).esm_class == esm_class


@pytest.mark.parametrize("reference", [0, 255])
def test_reference_goes_in_every_header(reference: int) -> None:
    parts = encode_parts("x" * 400, reference=reference).parts
    assert [p[:6] for p in parts] == [udh(reference, 3, n) for n in (1, 2, 3)]


@pytest.mark.parametrize("reference", [-1, 256])
def test_reference_must_fit_a_byte(reference: int) -> None:
    with pytest.raises(ValueError, match="reference must be 0-255"):
        encode_parts("Halo", reference=reference)


def test_more_than_255_parts_cannot_be_numbered() -> None:
    assert len(encode_parts("x" * 153 * 255, reference=1).parts) == 255
    with pytest.raises(ValueError, match="256 parts cannot be concatenated"):
        encode_parts("x" * (153 * 255 + 1), reference=1)


@pytest.mark.parametrize(
    ("data", "data_coding", "esm_class", "expected"),
    [
        pytest.param(b"Halo", 0, 0, ("Halo", None), id="gsm"),
        pytest.param(b"\x00\x1be\x11", 0, 0, ("@€_", None), id="gsm-table-and-escape"),
        pytest.param(b"caf\xe9\x80", 0, 0, ("café\x80", None), id="gsm-invalid-falls-back-latin1"),
        pytest.param(b"a@b_$", 1, 0, ("a@b_$", None), id="ia5-is-ascii-not-gsm"),
        pytest.param(b"caf\xe9", 1, 0, ("café", None), id="ia5-8bit-falls-back-latin1"),
        pytest.param(b"caf\xe9", 3, 0, ("café", None), id="latin1"),
        pytest.param(b"\xa4", 4, 0, ("¤", None), id="unknown-coding-as-latin1"),
        pytest.param("Ya 🙏".encode("utf-16-be"), 8, 0, ("Ya 🙏", None), id="ucs2"),
        pytest.param(b"\xd8\x3d", 8, 0, ("\ud83d", None), id="ucs2-half-pair-kept"),
        pytest.param(
            udh(7, 2, 1) + b"Halo", 0, 0x40, ("Halo", Concat(7, 2, 1)), id="udh-8bit-reference"
        ),
        pytest.param(
            bytes.fromhex("06080412340302") + b"ok",
            0,
            0x40,
            ("ok", Concat(0x1234, 3, 2)),
            id="udh-16bit-reference",
        ),
        pytest.param(
            bytes.fromhex("0b05040b8423f00003010202") + b"z",
            0,
            0x43,
            ("z", Concat(1, 2, 2)),
            id="udh-other-element-first",
        ),
        pytest.param(
            bytes.fromhex("0605040b8423f0") + b"z", 0, 0x40, ("z", None), id="udh-without-concat"
        ),
        pytest.param(
            udh(7, 2, 1) + b"Halo",
            0,
            0,
            ("é@¥ì$£Halo", None),
            id="no-udhi-header-is-text",
        ),
    ],
)
def test_decode_short_message(
    data: bytes, data_coding: int, esm_class: int, expected: tuple[str, Concat | None]
) -> None:
    assert decode_short_message(data, data_coding, esm_class) == expected


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x05\x00\x03\x01", id="header-longer-than-data"),
        pytest.param(b"\x03\x00\x03\x01ab", id="element-past-header"),
    ],
)
def test_decode_refuses_broken_headers(data: bytes) -> None:
    with pytest.raises(ValueError, match="header"):
        decode_short_message(data, 0, 0x40)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param([], "", id="none"),
        pytest.param(["Halo ", "Budi"], "Halo Budi", id="plain"),
        pytest.param(["Terima kasih \ud83d", "\ude4f"], f"Terima kasih {PRAY}", id="split-pair"),
        pytest.param(["a\ud83d"], "a\ufffd", id="lone-half-replaced"),
    ],
)
def test_join_parts(parts: list[str], expected: str) -> None:
    assert join_parts(parts) == expected


# -- round trip ---------------------------------------------------------------------------

_gsm7 = st.text(alphabet=sorted(GSM7_CHARACTERS), max_size=MAX_SMS_CHARACTERS)
_ucs2 = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(["’", "你", EMOJI, "ç"]),
    st.text(
        alphabet=st.sampled_from(["a", " ", "€", "é", "你", EMOJI, PRAY, "’", "\u200d"]),
        max_size=MAX_SMS_CHARACTERS - 1,
    ),
)


def _decode_all(encoded: EncodedSms) -> list[tuple[str, Concat | None]]:
    return [decode_short_message(p, encoded.data_coding, encoded.esm_class) for p in encoded.parts]


@given(_gsm7, st.integers(0, 255))
def test_gsm7_round_trip(text: str, reference: int) -> None:
    encoded = encode_parts(text, reference)
    decoded = _decode_all(encoded)
    assert encoded.data_coding == 0
    assert join_parts([t for t, _ in decoded]) == text
    assert len(encoded.parts) == fragment_count(text)
    assert all(len(p) <= 160 for p in encoded.parts)  # 153 septets + 6-byte UDH at most
    if len(decoded) > 1:
        total = len(decoded)
        assert [c for _, c in decoded] == [Concat(reference, total, n) for n in range(1, total + 1)]


@given(_ucs2, st.integers(0, 255))
def test_ucs2_round_trip(text: str, reference: int) -> None:
    encoded = encode_parts(text, reference)
    decoded = _decode_all(encoded)
    assert encoded.data_coding == 8
    assert join_parts([t for t, _ in decoded]) == text
    assert len(encoded.parts) == fragment_count(text)
    assert all(len(p) <= 140 for p in encoded.parts)  # the 140 octets an SMS carries
    if len(decoded) > 1:
        total = len(decoded)
        assert [c for _, c in decoded] == [Concat(reference, total, n) for n in range(1, total + 1)]


# -- reassembly ---------------------------------------------------------------------------


def test_parts_join_in_order_whatever_order_they_come() -> None:
    collector: PartCollector[str] = PartCollector(timeout=60)
    assert collector.add("budi", Concat(5, 3, 3), "c", now=0) is None
    assert collector.add("budi", Concat(5, 3, 1), "a", now=1) is None
    assert collector.add("budi", Concat(5, 3, 2), "b", now=2) == ["a", "b", "c"]
    assert len(collector) == 0


def test_parts_of_different_senders_or_references_stay_apart() -> None:
    collector: PartCollector[str] = PartCollector(timeout=60)
    assert collector.add("budi", Concat(5, 2, 1), "b1", now=0) is None
    assert collector.add("siti", Concat(5, 2, 1), "s1", now=0) is None
    assert collector.add("budi", Concat(6, 2, 2), "other", now=0) is None
    assert collector.add("budi", Concat(5, 2, 2), "b2", now=0) == ["b1", "b2"]
    assert len(collector) == 2


def test_a_repeated_part_replaces_the_first_copy() -> None:
    collector: PartCollector[str] = PartCollector(timeout=60)
    collector.add("budi", Concat(5, 2, 1), "old", now=0)
    collector.add("budi", Concat(5, 2, 1), "new", now=0)
    assert collector.add("budi", Concat(5, 2, 2), "end", now=0) == ["new", "end"]


def test_expire_hands_back_what_arrived_of_old_texts() -> None:
    collector: PartCollector[str] = PartCollector(timeout=60)
    collector.add("budi", Concat(5, 3, 3), "c", now=0)
    collector.add("budi", Concat(5, 3, 1), "a", now=10)
    collector.add("siti", Concat(1, 2, 1), "young", now=30)
    assert collector.expire(now=59) == []
    assert collector.expire(now=60) == [["a", "c"]]
    assert len(collector) == 1


@pytest.mark.parametrize("timeout", [0, -1])
def test_collector_timeout_must_be_positive(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout must be positive"):
        PartCollector(timeout=timeout)
