"""Every word a page shows has its Indonesian translation, and the catalogs are sound.

The messages are extracted the way ``pybabel extract`` would (Jinja templates,
``_t(request, "...")`` calls in the api package, and the message of every error the
services and the domain raise), so a new string without a translation fails here rather
than showing English to an Indonesian citizen.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from starlette.requests import Request

import warta.domain
from warta.api.pages import LANG_COOKIE, LOCALES, WEB, catalog, error_text
from warta.domain.regions import parse_region
from warta.errors import ApiError, InvalidInput, InvalidRegion, ValidationFailed

SRC = Path(__file__).parents[2] / "src" / "warta"
API = SRC / "api"
#: Where errors a page may show are raised, their message the msgid.
RAISERS = (SRC / "services", SRC / "domain", SRC / "api" / "console")


def _subclasses(base: type) -> set[type]:
    found = set(base.__subclasses__())
    return found.union(*(_subclasses(c) for c in found))


def error_classes() -> set[str]:
    """The names of the errors pages show: InvalidInput, ApiError and their subclasses,
    the domain's own (InvalidCitizen) included once its modules are imported."""
    for module in pkgutil.iter_modules(warta.domain.__path__):
        importlib.import_module(f"warta.domain.{module.name}")
    return {c.__name__ for base in (InvalidInput, ApiError) for c in {base, *_subclasses(base)}}


def _msgids(folder: Path, method_map: list[tuple[str, str]], keywords: dict) -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(folder), method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def used_messages() -> set[str]:
    templates = _msgids(
        WEB / "templates",
        [("**.html", "jinja2")],
        {"_": None, "gettext": None, "ngettext": (1, 2)},
    )
    python = _msgids(API, [("**.py", "python")], {"_t": (2,)})
    errors = {name: None for name in error_classes()}  # None: the first argument
    raised = set().union(*(_msgids(f, [("**.py", "python")], errors) for f in RAISERS))
    return templates | python | raised


def test_the_extraction_finds_the_portal_words() -> None:
    assert {"Sign in", "Inbox", "by %(channel)s"} <= used_messages()


def test_the_extraction_finds_the_errors_raised() -> None:
    assert {"InvalidCitizen", "InvalidRegion", "BadRequest", "NotFound"} <= error_classes()
    assert {"Topic %(slug)s not found", "channels must name at least one channel"} <= (
        used_messages()
    )


def test_errors_are_raised_with_a_constant_message() -> None:
    """An f-string makes a message per call, which no catalog can translate: the values
    go in as keywords for the message's ``%(name)s`` slots."""
    names = error_classes()
    found = []
    for path in sorted(p for folder in RAISERS for p in folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            called = node.func
            name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", None)
            message = node.args[0]
            substitutes = isinstance(message, ast.JoinedStr) and any(
                isinstance(v, ast.FormattedValue) for v in message.values
            )
            if name in names and substitutes:
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {name}")
    assert not found, f"errors raised with an f-string: {found}"


@pytest.mark.parametrize("language", sorted(p.name for p in LOCALES.iterdir()))
def test_every_message_shown_is_translated(language: str) -> None:
    translated = {m.id for m in catalog(language) if m.id and m.string}
    missing = sorted(used_messages() - translated)
    assert not missing, f"{len(missing)} messages lack a {language} translation: {missing}"


@pytest.mark.parametrize("language", sorted(p.name for p in LOCALES.iterdir()))
def test_translations_keep_their_placeholders(language: str) -> None:
    placeholder = re.compile(r"%\((\w+)\)s")

    def names(text: str) -> set[str]:
        return set(placeholder.findall(text))

    wrong = [m.id for m in catalog(language) if m.string and names(m.id) != names(m.string)]
    assert not wrong, f"translations that lose or invent a placeholder: {wrong}"


def _page_request(language: str) -> Request:
    headers = [(b"cookie", f"{LANG_COOKIE}={language}".encode())]
    return Request({"type": "http", "query_string": b"", "headers": headers})


@pytest.mark.parametrize(
    ("code", "shown", "api"),
    [
        (
            "32.00",
            "Kode wilayah '32.00': bagian kabupaten/kota tidak boleh 00",
            "region code '32.00': the regency cannot be 00",
        ),
        (
            "32.73.1",
            "Kode wilayah '32.73.1': bagian kecamatan harus 2 digit, bukan '1'",
            "region code '32.73.1': the district must be 2 digits, not '1'",
        ),
    ],
)
def test_a_region_codes_level_is_named_in_the_pages_language(
    code: str, shown: str, api: str
) -> None:
    with pytest.raises(InvalidRegion) as raised:
        parse_region(code)
    assert error_text(_page_request("id"), raised.value) == shown
    assert str(raised.value) == api


@pytest.mark.parametrize(
    ("cookie", "shown"),
    [
        ("id", "Terlalu banyak baris: paling banyak 50.000 penerima dalam satu pengiriman"),
        ("en", "Too many rows: at most 50,000 recipients in one job"),
    ],
)
def test_a_page_gives_an_error_in_its_language_with_numbers_written_its_way(
    cookie: str, shown: str
) -> None:
    error = ValidationFailed(
        "Too many rows: at most %(count)s recipients in one job", field="rows", count=50_000
    )
    assert error_text(_page_request(cookie), error) == shown
    assert str(error) == "rows Too many rows: at most 50000 recipients in one job"  # the API's
