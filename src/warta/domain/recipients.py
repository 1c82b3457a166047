"""Check and normalise the phone numbers and email addresses people give us.

Phone numbers arrive however people write them -- ``0812-3456-7890``, ``812 3456 7890``,
``+62 812 3456 7890``, ``62812 34567890`` (a spreadsheet dropped the ``+``) or
``0062 812 3456 7890`` -- and all must become one E.164 string, ``+6281234567890``, so
that the same person is one recipient for rate limits, opt-outs and delivery receipts.

``phonenumbers`` (Google's libphonenumber) does the parsing. What it reports is turned
into our user-facing messages in exactly one place, ``PHONENUMBERS_OUTCOMES``, so the
API, CSV upload and web form can never word the same problem differently. The messages
are Notify's v2 API wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import email_validator
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from warta.errors import InvalidEmailAddress, InvalidPhoneNumber

LETTERS_OR_SYMBOLS = "Must not contain letters or symbols"
NOT_ENOUGH_DIGITS = "Not enough digits"
TOO_MANY_DIGITS = "Too many digits"
NOT_A_VALID_COUNTRY_PREFIX = "Not a valid country prefix"
NOT_A_MOBILE_NUMBER = "Not a mobile number"
NOT_A_VALID_PHONE_NUMBER = "Not a valid phone number"
NOT_A_VALID_EMAIL_ADDRESS = "Not a valid email address"

#: Written between digit groups and removed before parsing: whitespace (any, including
#: no-break spaces from copy and paste), hyphens, dots and parentheses.
_FORMATTING = re.compile(r"[\s.()-]+")
#: After an optional leading ``+`` or ``00``, only ASCII digits may remain.
_DIGITS = re.compile(r"[0-9]*")

#: What phonenumbers reports that we accept: a possible length, and a number that can
#: receive SMS. FIXED_LINE_OR_MOBILE is how libphonenumber labels the numbers of regions
#: (US, Canada...) where mobiles cannot be told apart from landlines.
ACCEPTED: frozenset[tuple[type, int]] = frozenset(
    {
        (ValidationResult, ValidationResult.IS_POSSIBLE),
        (PhoneNumberType, PhoneNumberType.MOBILE),
        (PhoneNumberType, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    }
)

#: Everything else phonenumbers can report, mapped to our message. Keys are
#: ``(the phonenumbers class that reports it, its code)``; a code missing here (from a
#: future phonenumbers) is "Not a valid phone number".
PHONENUMBERS_OUTCOMES: Mapping[tuple[type, int], str] = {
    # phonenumbers.parse() raised NumberParseException
    (NumberParseException, NumberParseException.INVALID_COUNTRY_CODE): NOT_A_VALID_COUNTRY_PREFIX,
    # we pass digits only, so "no number found" means too few of them: "0", "+62"
    (NumberParseException, NumberParseException.NOT_A_NUMBER): NOT_ENOUGH_DIGITS,
    (NumberParseException, NumberParseException.TOO_SHORT_AFTER_IDD): NOT_ENOUGH_DIGITS,
    (NumberParseException, NumberParseException.TOO_SHORT_NSN): NOT_ENOUGH_DIGITS,
    (NumberParseException, NumberParseException.TOO_LONG): TOO_MANY_DIGITS,
    # is_possible_number_with_reason(): the length is wrong for any number in the region,
    # or (for numbers that are not valid) wrong for a mobile number
    (ValidationResult, ValidationResult.INVALID_COUNTRY_CODE): NOT_A_VALID_COUNTRY_PREFIX,
    (ValidationResult, ValidationResult.TOO_SHORT): NOT_ENOUGH_DIGITS,
    (ValidationResult, ValidationResult.IS_POSSIBLE_LOCAL_ONLY): NOT_ENOUGH_DIGITS,
    (ValidationResult, ValidationResult.TOO_LONG): TOO_MANY_DIGITS,
    (ValidationResult, ValidationResult.INVALID_LENGTH): NOT_A_VALID_PHONE_NUMBER,
    # number_type() of a valid number that cannot receive SMS, or of an invalid number
    (PhoneNumberType, PhoneNumberType.FIXED_LINE): NOT_A_MOBILE_NUMBER,
    (PhoneNumberType, PhoneNumberType.TOLL_FREE): NOT_A_MOBILE_NUMBER,
    (PhoneNumberType, PhoneNumberType.PREMIUM_RATE): NOT_A_MOBILE_NUMBER,
    (PhoneNumberType, PhoneNumberType.SHARED_COST): NOT_A_MOBILE_NUMBER,
    (PhoneNumberType, PhoneNumberType.VOIP): NOT_A_MOBILE_NUMBER,
    (PhoneNumberType, PhoneNumberType.PERSONAL_NUMBER): NOT_A_MOBILE_NUMBER,
    (PhoneNumberType, PhoneNumberType.PAGER): NOT_A_MOBILE_NUMBER,
    (PhoneNumberType, PhoneNumberType.UAN): NOT_A_MOBILE_NUMBER,
    (PhoneNumberType, PhoneNumberType.VOICEMAIL): NOT_A_MOBILE_NUMBER,
    (PhoneNumberType, PhoneNumberType.UNKNOWN): NOT_A_VALID_PHONE_NUMBER,
}

#: Ranges reserved for fiction that libphonenumber calls invalid, accepted as mobiles
#: because Notify accepts them and Notify's client libraries and docs test with them:
#: Ofcom's drama range +44 7700 900000 to +44 7700 900999 (a numeric range, not a regex).
FICTIONAL_MOBILES: Mapping[int, range] = {44: range(7700900000, 7700901000)}


def _error(source: type, code: int) -> InvalidPhoneNumber:
    """The one translation of a phonenumbers result into our error."""
    return InvalidPhoneNumber(PHONENUMBERS_OUTCOMES.get((source, code), NOT_A_VALID_PHONE_NUMBER))


def _check(source: type, code: int) -> None:
    if (source, code) not in ACCEPTED:
        raise _error(source, code)


def _strip_formatting(raw: str) -> str:
    """``" (0812) 3456.7890 "`` -> ``"081234567890"``; ``"0062 812"`` -> ``"+62812"``.

    A leading ``00`` is the ITU international prefix, read as ``+``; libphonenumber only
    knows Indonesia's carrier-specific prefixes (``001``, ``008``...).
    """
    number = _FORMATTING.sub("", raw)
    if number.startswith("00"):
        number = "+" + number[2:]
    digits = number.removeprefix("+")
    if not _DIGITS.fullmatch(digits):
        raise InvalidPhoneNumber(LETTERS_OR_SYMBOLS)
    if not digits:
        raise InvalidPhoneNumber(NOT_ENOUGH_DIGITS)
    return number


def normalise_phone(raw: str, default_region: str = "ID") -> str:
    """The E.164 form of a mobile number, e.g. ``"0812-3456-7890"`` -> ``"+6281234567890"``.

    Numbers without ``+`` or ``00`` are read as ``default_region`` numbers, with or without
    the trunk ``0`` and with or without the country code (``62812...``). Numbers written
    internationally may be from any country: ``"+44 7911 123456"`` -> ``"+447911123456"``.

    Raises ``InvalidPhoneNumber``: ``"021-5551234"`` (a Jakarta landline) is
    ``"Not a mobile number"``, ``"0812-34"`` is ``"Not enough digits"``,
    ``"0812 3456 7890 1234"`` is ``"Too many digits"``, ``"+999 1234"`` is
    ``"Not a valid country prefix"``, ``"0812-ABCD"`` is ``"Must not contain letters or
    symbols"`` and ``"0999 1234 5678"`` (no such operator) is ``"Not a valid phone number"``.
    """
    number = _strip_formatting(raw)
    try:
        return _mobile_e164(number, default_region)
    except InvalidPhoneNumber:
        # "62811000000" read nationally is a landline in area 0628; read as "+62 811 000 000"
        # it is the mobile the sender meant before a spreadsheet dropped the "+". Only the
        # default region's own country code is tried, so a typo never becomes a foreign number.
        country_code = str(phonenumbers.country_code_for_region(default_region))
        if number.startswith("+") or not number.startswith(country_code):
            raise
        try:
            return _mobile_e164("+" + number, default_region)
        except InvalidPhoneNumber:
            pass
        raise


def _mobile_e164(number: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(number, region)
    except NumberParseException as exc:
        raise _error(NumberParseException, exc.error_type) from exc
    _check(ValidationResult, phonenumbers.is_possible_number_with_reason(parsed))
    kind = phonenumbers.number_type(parsed)
    # A type other than UNKNOWN is what ``is_valid_number`` tests (the same metadata
    # for the same region), so asking it too would run every pattern a second time.
    if kind != PhoneNumberType.UNKNOWN:
        _check(PhoneNumberType, kind)
    elif parsed.national_number not in FICTIONAL_MOBILES.get(parsed.country_code or 0, ()):
        # Say "too short/long" when the length is wrong for a mobile, not just "invalid".
        mobile = PhoneNumberType.MOBILE
        _check(
            ValidationResult, phonenumbers.is_possible_number_for_type_with_reason(parsed, mobile)
        )
        raise _error(PhoneNumberType, PhoneNumberType.UNKNOWN)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_email(raw: str) -> str:
    """A checked, normalised email address: ``" Budi@Contoh.GO.ID "`` -> ``"Budi@contoh.go.id"``.

    Syntax only (no DNS, no network): the domain is lower-cased and IDNA-normalised, the
    local part is kept as written (mailboxes may be case-sensitive). Raises
    ``InvalidEmailAddress("Not a valid email address")`` for ``"budi@contoh"`` (no dot in the
    domain), ``"budi..s@contoh.id"``, ``"Budi <budi@contoh.id>"`` and the like.
    """
    try:
        result = email_validator.validate_email(raw.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidEmailAddress(NOT_A_VALID_EMAIL_ADDRESS) from exc
    return result.normalized
