"""Every word a page shows has its Indonesian translation, and the catalogs are sound.

The messages are extracted the way ``pybabel extract`` would (Jinja templates, and
``_t(request, "...")`` calls in the api package), so a new string without a translation
fails here rather than showing English to an Indonesian citizen.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from warta.api.pages import LOCALES, WEB, catalog

API = Path(__file__).parents[2] / "src" / "warta" / "api"


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
    return templates | python


def test_the_extraction_finds_the_portal_words() -> None:
    assert {"Sign in", "Inbox", "by %(channel)s"} <= used_messages()


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
