"""Placeholders, optional content and list values in template text (warta.domain.templates)."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.domain import templates
from warta.domain.templates import (
    FALSY_WORDS,
    PLACEHOLDER,
    format_list,
    is_truthy,
    key,
    missing_personalisation,
    placeholders,
    render,
)
from warta.errors import InvalidInput, MissingPersonalisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("Halo semua", [], id="no-placeholders"),
        pytest.param("Halo ((nama))", ["nama"], id="one"),
        pytest.param("((a)) ((b)) ((a))", ["a", "b"], id="unique-in-first-order"),
        pytest.param(
            "((First name)) ((first_name)) ((FIRSTNAME))", ["First name"], id="first-spelling-wins"
        ),
        pytest.param("((b)) ((a))", ["b", "a"], id="order-not-sorted"),
        pytest.param("((vaksin??Bawa kartu.))", ["vaksin"], id="conditional-name-only"),
        pytest.param("((vaksin??a??b))", ["vaksin"], id="conditional-with-double-separator"),
        pytest.param("(( nama ))", ["nama"], id="name-stripped"),
        pytest.param("((nomor antrean))", ["nomor antrean"], id="name-with-space"),
        pytest.param("(((nama)))", ["nama"], id="triple-brackets-inner-match"),
        pytest.param("((a))((b))", ["a", "b"], id="adjacent"),
        pytest.param("((", [], id="lone-open"),
        pytest.param("))", [], id="lone-close"),
        pytest.param("(())", [], id="empty-body"),
        pytest.param("(( ))", [], id="blank-body"),
        pytest.param("((_-_))", [], id="body-only-ignored-characters"),
        pytest.param("((??teks))", [], id="conditional-without-name"),
        pytest.param("((a)", [], id="one-closing-bracket"),
        pytest.param("(a))", [], id="one-opening-bracket"),
        pytest.param("((a(b)))", [], id="parenthesis-inside-body"),
        pytest.param("((a??(teks)))", [], id="parenthesis-inside-conditional-text"),
        pytest.param("( (a) )", [], id="spaced-brackets"),
    ],
)
def test_placeholders(text: str, expected: list[str]) -> None:
    assert placeholders(text) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("First name", "firstname", id="space"),
        pytest.param("first_name", "firstname", id="underscore"),
        pytest.param("FIRST-NAME", "firstname", id="hyphen-and-case"),
        pytest.param(" First _-Name ", "firstname", id="mixed"),
        pytest.param("first.name", "first.name", id="dot-kept"),
        pytest.param("first\tname", "first\tname", id="tab-kept"),
        pytest.param("Nomor2", "nomor2", id="digits-kept"),
    ],
)
def test_key(name: str, expected: str) -> None:
    assert key(name) == expected


@pytest.mark.parametrize(
    ("texts", "personalisation", "expected"),
    [
        pytest.param(["Halo ((nama))"], {"nama": "Budi"}, [], id="all-given"),
        pytest.param(["Halo ((nama))"], {}, ["nama"], id="missing"),
        pytest.param(["Halo ((nama))"], {"nama": None}, ["nama"], id="none-is-missing"),
        pytest.param(["Halo ((nama))"], {"nama": ""}, [], id="empty-string-is-given"),
        pytest.param(["Halo ((nama))"], {"nama": []}, [], id="empty-list-is-given"),
        pytest.param(["Halo ((nama))"], {"nama": 0}, [], id="zero-is-given"),
        pytest.param(["Halo ((nama))"], {"nama": False}, [], id="false-is-given"),
        pytest.param(["((First name))"], {"FIRST_NAME": "Budi"}, [], id="insensitive-match"),
        pytest.param(["((a)) ((b)) ((c))"], {"b": 1}, ["a", "c"], id="in-template-order"),
        pytest.param(["((a??x))"], {}, ["a"], id="conditional-missing"),
        pytest.param(["((a??x))"], {"a": None}, ["a"], id="conditional-none"),
        pytest.param(["((a??x))"], {"a": "tidak"}, [], id="conditional-no-is-given"),
        pytest.param(
            ["((Kode)) subjek", "((kode)) ((isi))"], {}, ["Kode", "isi"], id="across-texts"
        ),
        pytest.param([], {}, [], id="no-texts"),
        pytest.param(["tanpa placeholder"], {"extra": 1}, [], id="extra-keys-ignored"),
    ],
)
def test_missing_personalisation(
    texts: list[str], personalisation: dict[str, object], expected: list[str]
) -> None:
    assert missing_personalisation(texts, personalisation) == expected


def test_missing_personalisation_accepts_any_iterable() -> None:
    assert missing_personalisation((t for t in ["((a))", "((b))"]), {}) == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "personalisation", "expected"),
    [
        pytest.param("Halo ((nama))!", {"nama": "Budi"}, "Halo Budi!", id="simple"),
        pytest.param("Halo ((Nama Depan))", {"nama_depan": "Budi"}, "Halo Budi", id="insensitive"),
        pytest.param("((a))((a))", {"a": "x"}, "xx", id="repeated"),
        pytest.param("Nomor ((n))", {"n": 42}, "Nomor 42", id="int-str"),
        pytest.param("Skor ((n))", {"n": 9.5}, "Skor 9.5", id="float-str"),
        pytest.param("((b))", {"b": True}, "true", id="bool-as-json"),
        pytest.param("Nomor ((n))", {"n": 7.0}, "Nomor 7", id="whole-float-as-json"),
        pytest.param("((v))", {"v": "<b>&</b>"}, "<b>&</b>", id="verbatim-no-escaping"),
        pytest.param("((v))", {"v": "((x))"}, "((x))", id="value-not-rescanned"),
        pytest.param("((v))", {"v": "  spasi  "}, "  spasi  ", id="value-not-stripped"),
        pytest.param("tanpa", {"extra": "x"}, "tanpa", id="extra-keys-ignored"),
        pytest.param("(((nama)))", {"nama": "Budi"}, "(Budi)", id="triple-brackets"),
        pytest.param("(( ))((", {}, "(( ))((", id="malformed-left-alone"),
        pytest.param("((a(b)))", {}, "((a(b)))", id="nested-left-alone"),
        pytest.param("Hai ((n))", {"n": ""}, "Hai ", id="empty-string"),
        # optional content
        pytest.param("A((v??, bawa kartu))", {"v": "ya"}, "A, bawa kartu", id="cond-ya"),
        pytest.param("A((v??, bawa kartu))", {"v": "Tidak"}, "A", id="cond-tidak"),
        pytest.param("A((v??x))", {"v": True}, "Ax", id="cond-true"),
        pytest.param("A((v??x))", {"v": False}, "A", id="cond-false"),
        pytest.param("A((v??x))", {"v": ["KTP"]}, "Ax", id="cond-list"),
        pytest.param("A((v??x))", {"v": []}, "A", id="cond-empty-list"),
        pytest.param("A((v??x??y))", {"v": 1}, "Ax??y", id="cond-text-keeps-separator"),
        pytest.param("A((v??))", {"v": 1}, "A", id="cond-empty-text"),
        pytest.param("A((v?? baris\nbaru))", {"v": 1}, "A baris\nbaru", id="cond-multiline"),
        # lists in SMS
        pytest.param("Bawa ((d)).", {"d": ["KTP"]}, "Bawa KTP.", id="list-one"),
        pytest.param("Bawa ((d)).", {"d": ["KTP", "KK"]}, "Bawa KTP dan KK.", id="list-two"),
        pytest.param("((d))", {"d": ["KTP", "KK", "akta"]}, "KTP, KK dan akta", id="list-three"),
        pytest.param("((d))", {"d": ("a", "b", "c", "d")}, "a, b, c dan d", id="tuple-four"),
        pytest.param("((d))", {"d": []}, "", id="list-empty"),
        pytest.param("((d))", {"d": [None, " ", "KTP "]}, "KTP", id="list-blank-items-dropped"),
        pytest.param("((d))", {"d": [1, 2]}, "1 dan 2", id="list-non-str-items"),
        pytest.param("((d))", {"d": "KTP, KK"}, "KTP, KK", id="string-is-not-a-list"),
        pytest.param("((d))", {"d": [True, 2.0]}, "true dan 2", id="list-items-as-json"),
    ],
)
def test_render_sms(text: str, personalisation: dict[str, object], expected: str) -> None:
    assert render(text, personalisation, channel="sms") == expected


@pytest.mark.parametrize(
    ("personalisation", "conjunction", "expected"),
    [
        pytest.param({"d": ["a", "b"]}, "and", "a and b", id="english"),
        pytest.param({"d": ["a", "b", "c"]}, "atau", "a, b atau c", id="atau"),
        pytest.param({"d": ["a"]}, "atau", "a", id="single-ignores-conjunction"),
    ],
)
def test_render_conjunction(
    personalisation: dict[str, object], conjunction: str, expected: str
) -> None:
    assert render("((d))", personalisation, channel="sms", conjunction=conjunction) == expected


@pytest.mark.parametrize(
    ("text", "personalisation", "expected"),
    [
        pytest.param("Bawa:((d))", {"d": ["KTP"]}, "Bawa:\n\n* KTP", id="one"),
        pytest.param("Bawa:((d))", {"d": ["KTP", "KK"]}, "Bawa:\n\n* KTP\n* KK", id="two"),
        pytest.param("Bawa:((d))", {"d": []}, "Bawa:", id="empty"),
        pytest.param("((d))", {"d": [" a ", None, ""]}, "\n\n* a", id="cleaned"),
        pytest.param("Halo ((n))", {"n": "<i>x</i>"}, "Halo <i>x</i>", id="verbatim"),
        pytest.param("((v??ya))", {"v": "y"}, "ya", id="conditional"),
    ],
)
def test_render_email(text: str, personalisation: dict[str, object], expected: str) -> None:
    assert render(text, personalisation, channel="email") == expected


@pytest.mark.parametrize(
    ("text", "personalisation", "fields", "message"),
    [
        pytest.param("((a))", {}, ["a"], "Missing personalisation: a", id="one"),
        pytest.param(
            "((Nama)) ((kode??x)) ((alamat))",
            {"alamat": "Jl. Merdeka"},
            ["Nama", "kode"],
            "Missing personalisation: Nama, kode",
            id="every-missing-in-order",
        ),
        pytest.param("((a)) ((A))", {"a": None}, ["a"], "Missing personalisation: a", id="once"),
    ],
)
def test_render_missing(
    text: str, personalisation: dict[str, object], fields: list[str], message: str
) -> None:
    with pytest.raises(MissingPersonalisation) as raised:
        render(text, personalisation, channel="sms")
    assert raised.value.fields == fields
    assert str(raised.value) == message
    assert isinstance(raised.value, InvalidInput)


@pytest.mark.parametrize(
    "value",
    [True, 1, -1, 0.5, "ya", "Yes", "y", "true", "1", "2 dosis", "on", ["KTP"], ("a",), [0]],
    ids=repr,
)
def test_is_truthy(value: object) -> None:
    assert is_truthy(value) is True


@pytest.mark.parametrize(
    "value",
    [
        False, 0, 0.0, "", "  ", "no", "No", " NO ", "n", "false", "False", "f", "0", "off",
        "tidak", "Tidak", "TDK", "t", "none", "null", [], (), [None, " ", ""],
    ],
    ids=repr,
)  # fmt: skip
def test_is_falsy(value: object) -> None:
    assert is_truthy(value) is False


def test_falsy_words_are_normalised() -> None:
    assert all(word == word.strip().lower() for word in FALSY_WORDS)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param([], "", id="none"),
        pytest.param(["KTP"], "KTP", id="one"),
        pytest.param(["KTP", "KK"], "KTP dan KK", id="two"),
        pytest.param(["KTP", "KK", "akta"], "KTP, KK dan akta", id="three-no-serial-comma"),
    ],
)
def test_format_list(items: list[str], expected: str) -> None:
    assert format_list(items) == expected


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        pytest.param("((a))", ["a"], id="simple"),
        pytest.param("((a b??c d))", ["a b??c d"], id="any-non-bracket"),
        pytest.param("((a\nb))", ["a\nb"], id="newline-allowed"),
        pytest.param("(())", [], id="needs-a-character"),
        pytest.param("((a)", [], id="needs-two-closing"),
        pytest.param("(a))", [], id="needs-two-opening"),
        pytest.param("((a((b))", ["b"], id="no-opening-inside"),
        pytest.param("((a)b))", [], id="no-closing-inside"),
    ],
)
def test_placeholder_pattern(text: str, matched: list[str]) -> None:
    assert PLACEHOLDER.findall(text) == matched


def test_docstring_examples() -> None:
    assert doctest.testmod(templates).failed == 0


_names = st.text(alphabet="abcdefghij _-", min_size=1, max_size=8).filter(lambda n: key(n))
_literal = st.text(alphabet=st.characters(exclude_characters="()"), max_size=12)
_values = st.one_of(
    _literal,
    st.integers(),
    st.booleans(),
    st.lists(_literal, max_size=4),
)


@given(
    parts=st.lists(st.tuples(_literal, _names, st.booleans()), max_size=6),
    values=st.lists(_values, min_size=1, max_size=6),
    channel=st.sampled_from(["sms", "email"]),
)
def test_render_never_leaves_a_known_placeholder(
    parts: list[tuple[str, str, bool]], values: list[object], channel: str
) -> None:
    text = "".join(
        f"{literal}(({name}??ada))" if conditional else f"{literal}(({name}))"
        for literal, name, conditional in parts
    )
    personalisation = {name: values[i % len(values)] for i, (_, name, _) in enumerate(parts)}
    rendered = render(text, personalisation, channel="sms" if channel == "sms" else "email")
    assert placeholders(rendered) == []


@given(st.text(alphabet=st.characters(exclude_characters="()")))
def test_text_without_brackets_renders_unchanged(text: str) -> None:
    assert render(text, {}, channel="sms") == text


@given(name=_names, spelling=st.sampled_from([str.upper, str.lower, str.title]))
def test_any_spelling_of_a_name_fills_it(name: str, spelling: Callable[[str], str]) -> None:
    variant = spelling(name).replace(" ", "_")
    assert render(f"(({name}))", {variant: "x"}, channel="sms") == "x"


FORBIDDEN_IN_DOMAIN = (
    "fastapi", "starlette", "sqlalchemy", "httpx", "aiosmtplib", "aiosmtpd", "celery", "redis",
)  # fmt: skip


def test_domain_imports_no_framework_or_io_library() -> None:
    """Import every warta.domain module in a fresh interpreter and list what came with it."""
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import warta.domain as domain\n"
        "names = [m.name for m in pkgutil.walk_packages(domain.__path__, 'warta.domain.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps({'modules': names, 'loaded': sorted(sys.modules)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(result.stdout)
    assert {"warta.domain.templates", "warta.domain.sms"} <= set(report["modules"])
    top_level = {name.split(".")[0] for name in report["loaded"]}
    assert top_level.isdisjoint(FORBIDDEN_IN_DOMAIN)
    warta_layers = {".".join(name.split(".")[:2]) for name in report["loaded"] if "." in name}
    assert warta_layers.isdisjoint({"warta.api", "warta.store", "warta.channels", "warta.pipeline"})
