"""Phone numbers and email addresses (warta.domain.recipients)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from warta.domain.recipients import (
    ACCEPTED,
    PHONENUMBERS_OUTCOMES,
    normalise_phone,
    validate_email,
)
from warta.errors import InvalidEmailAddress, InvalidInput, InvalidPhoneNumber

BUDI = "+6281234567890"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("0812-3456-7890", id="national-dashes"),
        pytest.param("081234567890", id="national"),
        pytest.param("812 3456 7890", id="without-trunk-zero"),
        pytest.param("81234567890", id="without-trunk-zero-no-spaces"),
        pytest.param("+62 812 3456 7890", id="international"),
        pytest.param("+6281234567890", id="e164"),
        pytest.param("62812 34567890", id="country-code-without-plus"),
        pytest.param("6281234567890", id="country-code-without-plus-no-spaces"),
        pytest.param("62 812-3456-7890", id="country-code-without-plus-dashes"),
        pytest.param("0062 812 3456 7890", id="double-zero-prefix"),
        pytest.param("(0812) 3456.7890", id="parentheses-and-dots"),
        pytest.param("+62 (0)812 3456 7890", id="trunk-zero-in-parentheses"),
        pytest.param("+62 0812 3456 7890", id="trunk-zero-after-country-code"),
        pytest.param("  0812 3456 7890\n", id="surrounding-whitespace"),
        pytest.param("0812\u00a03456\u20097890", id="unicode-spaces"),
        pytest.param("0812 - 3456 - 7890", id="spaced-dashes"),
    ],
)
def test_indonesian_mobile_formats(raw: str) -> None:
    assert normalise_phone(raw) == BUDI


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("0811-1234-567", "+628111234567", id="telkomsel-11-digits"),
        pytest.param("0857 1234 5678", "+6285712345678", id="indosat"),
        pytest.param("0878-1234-5678", "+6287812345678", id="xl"),
        pytest.param("0899 1234 5678", "+6289912345678", id="three"),
        pytest.param("0881 2345 6789", "+6288123456789", id="smartfren"),
        pytest.param("+44 7911 123456", "+447911123456", id="uk-mobile"),
        pytest.param("0044 7911 123456", "+447911123456", id="uk-mobile-double-zero"),
        pytest.param("+1 202 555 0123", "+12025550123", id="us-fixed-line-or-mobile"),
        pytest.param("+65 8123 4567", "+6581234567", id="singapore"),
        pytest.param("+60 12-345 6789", "+60123456789", id="malaysia"),
        pytest.param("+44 7700 900123", "+447700900123", id="uk-drama-range"),
        pytest.param("+44 7700 900000", "+447700900000", id="uk-drama-range-first"),
        pytest.param("+44 7700 900999", "+447700900999", id="uk-drama-range-last"),
        pytest.param("62811000000", "+62811000000", id="short-mobile-plus-dropped"),
        pytest.param("62 811 000 000", "+62811000000", id="short-mobile-plus-dropped-spaced"),
    ],
)
def test_valid_mobiles(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        pytest.param("07911 123456", "GB", "+447911123456", id="uk-national"),
        pytest.param("+6281234567890", "GB", BUDI, id="international-ignores-region"),
        pytest.param("012-345 6789", "MY", "+60123456789", id="malaysia-national"),
    ],
)
def test_default_region(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, default_region=region) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # our own checks before parsing
        pytest.param("0812-ABCD-7890", "Must not contain letters or symbols", id="letters"),
        pytest.param("0812 3456 7890 ext 1", "Must not contain letters or symbols", id="extension"),
        pytest.param("0812/3456/7890", "Must not contain letters or symbols", id="slash"),
        pytest.param("0812_3456_7890", "Must not contain letters or symbols", id="underscore"),
        pytest.param("++6281234567890", "Must not contain letters or symbols", id="double-plus"),
        pytest.param("62+81234567890", "Must not contain letters or symbols", id="plus-inside"),
        pytest.param("+00 62 812 3456", "Not a valid country prefix", id="plus-and-00"),
        pytest.param("٠٨١٢٣٤٥٦٧٨٩٠", "Must not contain letters or symbols", id="arabic-digits"),
        pytest.param(
            "０８１２３４５６７８９０", "Must not contain letters or symbols", id="fullwidth"
        ),
        pytest.param("0812#3456", "Must not contain letters or symbols", id="hash"),
        pytest.param("", "Not enough digits", id="empty"),
        pytest.param("   ", "Not enough digits", id="blank"),
        pytest.param("+", "Not enough digits", id="plus-only"),
        pytest.param("00", "Not enough digits", id="double-zero-only"),
        pytest.param("( - . )", "Not enough digits", id="formatting-only"),
        # phonenumbers.parse() failures
        pytest.param("0", "Not enough digits", id="parse-not-a-number"),
        pytest.param("+62", "Not enough digits", id="country-code-only"),
        pytest.param("+628", "Not enough digits", id="parse-too-short-nsn"),
        pytest.param("+999 1234 5678", "Not a valid country prefix", id="unknown-country-code"),
        pytest.param("+0812 3456 7890", "Not a valid country prefix", id="plus-then-trunk-zero"),
        pytest.param("0812 3456 7890 1234 5678", "Too many digits", id="parse-too-long"),
        # possible-length failures
        pytest.param("0812-34", "Not enough digits", id="too-short-for-any-number"),
        pytest.param("+62 21 123", "Not enough digits", id="local-only-length"),
        pytest.param("+44 7911 1234567", "Too many digits", id="too-long-for-region"),
        # valid length for the region, wrong for a mobile
        pytest.param("0811 1111", "Not enough digits", id="too-short-for-a-mobile"),
        pytest.param("0812 3456 7890 12", "Too many digits", id="too-long-for-a-mobile"),
        pytest.param("0812 3456 7890 123", "Too many digits", id="15-digits"),
        # valid numbers that cannot receive SMS
        pytest.param("021-5551234", "Not a mobile number", id="jakarta-landline"),
        pytest.param("+62 21 5551 2345", "Not a mobile number", id="jakarta-landline-e164"),
        pytest.param("(0274) 512345", "Not a mobile number", id="yogyakarta-landline"),
        pytest.param("0800 1234 567", "Not a mobile number", id="toll-free"),
        pytest.param("+44 20 7946 0000", "Not a mobile number", id="london-landline"),
        # right length, but no such number
        pytest.param("0999 1234 5678", "Not a valid phone number", id="no-such-operator"),
        pytest.param("447911123456", "Not a valid phone number", id="foreign-without-plus"),
        pytest.param("62 21 5551234", "Not a mobile number", id="landline-plus-dropped"),
        pytest.param("62 999 1234 5678", "Not a valid phone number", id="invalid-plus-dropped"),
        pytest.param("+44 7700 901000", "Not a valid phone number", id="after-uk-drama-range"),
        pytest.param("+44 7700 912345", "Not a valid phone number", id="not-a-character-class"),
    ],
)
def test_invalid_phone_numbers(raw: str, message: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as raised:
        normalise_phone(raw)
    assert str(raised.value) == message
    assert isinstance(raised.value, InvalidInput)


def test_vendor_error_is_chained() -> None:
    with pytest.raises(InvalidPhoneNumber) as raised:
        normalise_phone("+999 1234 5678")
    assert isinstance(raised.value.__cause__, NumberParseException)


def _codes(cls: type) -> set[int]:
    return {v for k, v in vars(cls).items() if k.isupper() and isinstance(v, int)}


@pytest.mark.parametrize(
    "source", [NumberParseException, ValidationResult, PhoneNumberType], ids=lambda c: c.__name__
)
def test_every_phonenumbers_outcome_is_decided_once(source: type) -> None:
    """Each code phonenumbers can report is either accepted or mapped, never both."""
    codes = _codes(source)
    accepted = {code for kind, code in ACCEPTED if kind is source}
    mapped = {code for kind, code in PHONENUMBERS_OUTCOMES if kind is source}
    assert accepted.isdisjoint(mapped)
    assert accepted | mapped == codes


def test_outcome_messages_are_the_notify_v2_ones() -> None:
    assert set(PHONENUMBERS_OUTCOMES.values()) == {
        "Not enough digits",
        "Too many digits",
        "Not a valid country prefix",
        "Not a mobile number",
        "Not a valid phone number",
    }


_OPERATOR_PREFIXES = [
    "811", "812", "813", "821", "822", "823", "851", "852", "853",  # Telkomsel
    "814", "815", "816", "855", "856", "857", "858",  # Indosat
    "817", "818", "819", "859", "877", "878",  # XL
    "831", "832", "833", "838",  # Axis
    "895", "896", "897", "898", "899",  # Three
    "881", "882", "883", "884", "885", "886", "887", "888", "889",  # Smartfren
]  # fmt: skip


@st.composite
def _indonesian_mobiles(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(_OPERATOR_PREFIXES))
    rest = draw(st.text(alphabet="0123456789", min_size=6, max_size=9))
    national = prefix + rest
    parsed = phonenumbers.parse("+62" + national)
    assume(phonenumbers.number_type(parsed) == PhoneNumberType.MOBILE)
    return national


@given(_indonesian_mobiles(), st.sampled_from(["", " ", "-", "."]))
def test_every_indonesian_mobile_normalises_to_its_e164_form(national: str, sep: str) -> None:
    e164 = "+62" + national
    grouped = sep.join([national[:3], national[3:7], national[7:]])
    for written in (e164, "0" + national, national, "62" + national, "0062" + national):
        assert normalise_phone(written) == e164
    assert normalise_phone("0" + grouped) == e164
    assert normalise_phone("+62 " + grouped) == e164
    assert normalise_phone(e164, default_region="GB") == e164


@given(st.text(max_size=30))
def test_normalise_phone_raises_only_invalid_phone_number(raw: str) -> None:
    try:
        result = normalise_phone(raw)
    except InvalidPhoneNumber:
        return
    assert result.startswith("+")
    assert result[1:].isdigit()
    assert normalise_phone(result) == result


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("budi@contoh.go.id", "budi@contoh.go.id", id="plain"),
        pytest.param(" Budi@Contoh.GO.ID ", "Budi@contoh.go.id", id="domain-lowercased"),
        pytest.param("budi@contoh.go.id\n", "budi@contoh.go.id", id="trailing-newline"),
        pytest.param("budi.santoso+vaksin@contoh.id", "budi.santoso+vaksin@contoh.id", id="plus"),
        pytest.param("b_s-1@sub.contoh.co.id", "b_s-1@sub.contoh.co.id", id="subdomains"),
        pytest.param("budi@xn--bcher-kva.de", "budi@bücher.de", id="idna-decoded"),
        pytest.param("ñandú@bücher.de", "ñandú@bücher.de", id="internationalised"),
        pytest.param("budi@example.com", "budi@example.com", id="example-domain"),
    ],
)
def test_valid_email(raw: str, expected: str) -> None:
    assert validate_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("budi", id="no-at"),
        pytest.param("@contoh.id", id="no-local-part"),
        pytest.param("budi@", id="no-domain"),
        pytest.param("budi@contoh", id="no-tld"),
        pytest.param("budi@localhost", id="localhost"),
        pytest.param("budi..s@contoh.id", id="consecutive-dots-local"),
        pytest.param("budi@contoh..id", id="consecutive-dots-domain"),
        pytest.param(".budi@contoh.id", id="leading-dot"),
        pytest.param("budi.@contoh.id", id="trailing-dot-local"),
        pytest.param("budi@contoh.go.id.", id="trailing-dot-domain"),
        pytest.param("budi@-contoh.id", id="hyphen-start-label"),
        pytest.param("bu di@contoh.id", id="space"),
        pytest.param("budi@@contoh.id", id="double-at"),
        pytest.param("Budi <budi@contoh.id>", id="display-name"),
        pytest.param('"budi"@contoh.id', id="quoted-local-part"),
        pytest.param("budi@[127.0.0.1]", id="domain-literal"),
        pytest.param("budi@123.45", id="numeric-tld"),
        pytest.param("budi@contoh.test", id="special-use-domain"),
        pytest.param("budi@contoh.id,ani@contoh.id", id="two-addresses"),
    ],
)
def test_invalid_email(raw: str) -> None:
    with pytest.raises(InvalidEmailAddress) as raised:
        validate_email(raw)
    assert str(raised.value) == "Not a valid email address"
    assert isinstance(raised.value, InvalidInput)
