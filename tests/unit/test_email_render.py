"""Notify-style markdown to HTML and plain text for email bodies (warta.domain.email)."""

from __future__ import annotations

import doctest
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.domain import email
from warta.domain.email import STYLES, EmailContent, render_email
from warta.domain.templates import render

_STYLE_ATTRIBUTE = re.compile(r' style="[^"]*"')


def body_html(content: EmailContent) -> str:
    """The rendered body inside the wrapper, without inline styles, for readable tables."""
    inner = content.html.split(f'<div style="{STYLES["main"]}">\n', 1)[1]
    inner = inner.rsplit("</div>\n</body>", 1)[0]
    return _STYLE_ATTRIBUTE.sub("", inner)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("Halo", "<p>Halo</p>\n", id="paragraph"),
        pytest.param("a\nb", "<p>a<br>\nb</p>\n", id="line-break-kept"),
        pytest.param("a  \nb", "<p>a<br>\nb</p>\n", id="markdown-hard-break"),
        pytest.param("a\r\nb", "<p>a<br>\nb</p>\n", id="crlf"),
        pytest.param("a\n\nb", "<p>a</p>\n<p>b</p>\n", id="two-paragraphs"),
        pytest.param("a\n\n\n\nb", "<p>a</p>\n<p>b</p>\n", id="many-blank-lines"),
        pytest.param("# Judul", "<h1>Judul</h1>\n", id="heading-1"),
        pytest.param("## Lokasi", "<h2>Lokasi</h2>\n", id="heading-2"),
        pytest.param("### Tiga", "<p>Tiga</p>\n", id="heading-3-is-paragraph"),
        pytest.param("###### Enam", "<p>Enam</p>\n", id="heading-6-is-paragraph"),
        pytest.param("#", "", id="empty-heading-dropped"),
        pytest.param("#hashtag", "<p>#hashtag</p>\n", id="hashtag-not-heading"),
        pytest.param("Judul\n===", "<p>Judul<br>\n===</p>\n", id="no-setext-heading"),
        pytest.param("* a\n* b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n", id="star-list"),
        pytest.param("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n", id="dash-list"),
        pytest.param("+ a", "<ul>\n<li>a</li>\n</ul>\n", id="plus-list"),
        pytest.param("• a\n•b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n", id="bullet-list"),
        pytest.param("  • a", "<ul>\n<li>a</li>\n</ul>\n", id="indented-bullet"),
        pytest.param("a • b", "<p>a • b</p>\n", id="bullet-mid-line-is-text"),
        pytest.param("*a", "<p>*a</p>\n", id="star-without-space-is-text"),
        pytest.param("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n", id="numbered-list"),
        pytest.param("1) a", "<ol>\n<li>a</li>\n</ol>\n", id="numbered-parenthesis"),
        pytest.param("3. c\n4. d", '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>\n', id="start"),
        pytest.param(
            "* a\n  * b",
            "<ul>\n<li>a<ul>\n<li>b</li>\n</ul></li>\n</ul>\n",
            id="nested-list",
        ),
        pytest.param(
            "Bawa:\n\n* KTP\n* KK\n\nTerima kasih",
            "<p>Bawa:</p>\n<ul>\n<li>KTP</li>\n<li>KK</li>\n</ul>\n<p>Terima kasih</p>\n",
            id="list-between-paragraphs",
        ),
        pytest.param("^ Penting", "<blockquote><p>Penting</p></blockquote>\n", id="inset"),
        pytest.param("^Penting", "<blockquote><p>Penting</p></blockquote>\n", id="inset-no-space"),
        pytest.param(
            "^ Bawa masker\ndan KTP",
            "<blockquote><p>Bawa masker<br>\ndan KTP</p></blockquote>\n",
            id="inset-continues-to-paragraph-end",
        ),
        pytest.param(
            "^ a\n^ b", "<blockquote><p>a<br>\nb</p></blockquote>\n", id="inset-marks-each-line"
        ),
        pytest.param(
            "^ a\n\nb", "<blockquote><p>a</p></blockquote>\n<p>b</p>\n", id="inset-ends-at-blank"
        ),
        pytest.param(
            "^ a\n* b",
            "<blockquote><p>a</p></blockquote>\n<ul>\n<li>b</li>\n</ul>\n",
            id="inset-ends-at-list",
        ),
        pytest.param(
            "^ a\n## b",
            "<blockquote><p>a</p></blockquote>\n<h2>b</h2>\n",
            id="inset-ends-at-heading",
        ),
        pytest.param(
            "^ a\n---", "<blockquote><p>a</p></blockquote>\n<hr>\n", id="inset-ends-at-rule"
        ),
        pytest.param(
            "^ a\n-5 derajat",
            "<blockquote><p>a<br>\n-5 derajat</p></blockquote>\n",
            id="inset-dash-without-space-continues",
        ),
        pytest.param("Suhu 2^3", "<p>Suhu 2^3</p>\n", id="caret-mid-line-is-text"),
        pytest.param("    ^ a", "<p>^ a</p>\n", id="caret-indented-four-is-text"),
        pytest.param("   ^ a", "<blockquote><p>a</p></blockquote>\n", id="inset-indented-three"),
        pytest.param(
            "^ a\n1. b",
            "<blockquote><p>a</p></blockquote>\n<ol>\n<li>b</li>\n</ol>\n",
            id="inset-ends-at-numbered-list",
        ),
        pytest.param(
            "^ a\n#tag\n2020 tahun",
            "<blockquote><p>a<br>\n#tag<br>\n2020 tahun</p></blockquote>\n",
            id="inset-continues-past-lookalikes",
        ),
        pytest.param(
            "a\n^ b",
            "<p>a</p>\n<blockquote><p>b</p></blockquote>\n",
            id="inset-interrupts-paragraph",
        ),
        pytest.param("---", "<hr>\n", id="rule"),
        pytest.param("a\n\n---\n\nb", "<p>a</p>\n<hr>\n<p>b</p>\n", id="rule-between"),
        pytest.param(
            "[Daftar](https://contoh.go.id)",
            '<p><a href="https://contoh.go.id">Daftar</a></p>\n',
            id="link",
        ),
        pytest.param(
            "[Daftar](http://contoh.go.id/a?b=1&c=2)",
            '<p><a href="http://contoh.go.id/a?b=1&amp;c=2">Daftar</a></p>\n',
            id="link-http-with-query",
        ),
        pytest.param(
            "[a](HTTPS://contoh.go.id)",
            '<p><a href="HTTPS://contoh.go.id">a</a></p>\n',
            id="link-scheme-any-case",
        ),
        pytest.param(
            '[a](https://x.id "judul")', '<p><a href="https://x.id">a</a></p>\n', id="title-dropped"
        ),
        pytest.param(
            "Lihat https://contoh.go.id/cek.",
            '<p>Lihat <a href="https://contoh.go.id/cek">https://contoh.go.id/cek</a>.</p>\n',
            id="bare-url-without-trailing-dot",
        ),
        pytest.param(
            "<https://contoh.go.id>",
            '<p><a href="https://contoh.go.id">https://contoh.go.id</a></p>\n',
            id="angle-url",
        ),
        pytest.param(
            "![peta](https://contoh.go.id/peta.png)",
            '<p><a href="https://contoh.go.id/peta.png">peta</a></p>\n',
            id="image-becomes-link",
        ),
        pytest.param("[x](javascript:alert(1))", "<p>x</p>\n", id="javascript-link-dropped"),
        pytest.param("[x](data:text/html,hi)", "<p>x</p>\n", id="data-link-dropped"),
        pytest.param("[x](ftp://contoh.go.id)", "<p>x</p>\n", id="ftp-link-dropped"),
        pytest.param("[x](/relatif)", "<p>x</p>\n", id="relative-link-dropped"),
        pytest.param("<javascript:alert(1)>", "<p>javascript:alert(1)</p>\n", id="js-autolink"),
        pytest.param("ftp://contoh.go.id", "<p>ftp://contoh.go.id</p>\n", id="bare-ftp-not-linked"),
        pytest.param("<budi@contoh.id>", "<p>&lt;budi@contoh.id&gt;</p>\n", id="email-not-linked"),
        # not supported: shown as typed
        pytest.param("**tebal** _miring_", "<p>**tebal** _miring_</p>\n", id="no-emphasis"),
        pytest.param("`kode`", "<p>`kode`</p>\n", id="no-code-span"),
        pytest.param("    kode", "<p>kode</p>\n", id="no-indented-code"),
        pytest.param("```\nkode\n```", "<p>```<br>\nkode<br>\n```</p>\n", id="no-fenced-code"),
        pytest.param("> kutipan", "<p>&gt; kutipan</p>\n", id="no-blockquote"),
        pytest.param("| a |\n|---|", "<p>| a |<br>\n|---|</p>\n", id="no-table"),
        pytest.param("\\*a\\*", "<p>\\*a\\*</p>\n", id="no-backslash-escapes"),
        pytest.param("[a]\n\n[a]: /x", "<p>[a]</p>\n<p>[a]: /x</p>\n", id="no-reference-links"),
        # escaping
        pytest.param("a & b < c > d", "<p>a &amp; b &lt; c &gt; d</p>\n", id="escaped"),
        pytest.param("'\"", "<p>&#x27;&quot;</p>\n", id="quotes-escaped"),
        pytest.param("&lt;b&gt;", "<p>&amp;lt;b&amp;gt;</p>\n", id="entities-shown-as-typed"),
        pytest.param("<b>x</b>", "<p>&lt;b&gt;x&lt;/b&gt;</p>\n", id="inline-html"),
        pytest.param("<div>x</div>", "<p>&lt;div&gt;x&lt;/div&gt;</p>\n", id="block-html"),
        pytest.param("<!-- c -->", "<p>&lt;!-- c --&gt;</p>\n", id="html-comment"),
        pytest.param(
            "<script>alert(1)</script>",
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n",
            id="script",
        ),
        pytest.param(
            'https://x.id"onmouseover="alert(1)',
            '<p><a href="https://x.id%22onmouseover=%22alert(1">'
            "https://x.id&quot;onmouseover=&quot;alert(1</a>)</p>\n",
            id="quote-in-url",
        ),
    ],
)
def test_html(body: str, expected: str) -> None:
    assert body_html(render_email("Subjek", body)) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("Halo\nBudi", "Halo\nBudi", id="line-break"),
        pytest.param("a\n\n\nb", "a\n\nb", id="paragraphs"),
        pytest.param("# Judul", "Judul\n=====", id="heading-1"),
        pytest.param("## Lokasi", "Lokasi\n------", id="heading-2"),
        pytest.param("### Tiga", "Tiga", id="heading-3"),
        pytest.param("* KTP\n* KK\n• akta", "• KTP\n• KK\n• akta", id="bullets"),
        pytest.param("* KTP\n- KK", "• KTP\n\n• KK", id="new-marker-new-list"),
        pytest.param("1. a\n2. b", "1. a\n2. b", id="numbered"),
        pytest.param("7. a\n8. b", "7. a\n8. b", id="numbered-start"),
        pytest.param("* a\n  * b\n* c", "• a\n  • b\n• c", id="nested"),
        pytest.param("* a\n\n  lanjut\n* b", "• a\n  lanjut\n• b", id="loose-item"),
        pytest.param("^ Penting\nsekali", "Penting\nsekali", id="inset"),
        pytest.param("a\n\n---\n\nb", "a\n\n" + "-" * 40 + "\n\nb", id="rule"),
        pytest.param("[Daftar](https://x.id)", "Daftar: https://x.id", id="link"),
        pytest.param("Lihat https://x.id.", "Lihat https://x.id.", id="bare-url-once"),
        pytest.param("[https://x.id](https://x.id)", "https://x.id", id="self-link-once"),
        pytest.param("[x](javascript:alert(1))", "x", id="unsafe-link-text-only"),
        pytest.param("![peta](https://x.id/p.png)", "peta: https://x.id/p.png", id="image"),
        pytest.param("<b>a & b</b>", "<b>a & b</b>", id="no-escaping-in-text"),
        pytest.param("**tebal**", "**tebal**", id="as-typed"),
    ],
)
def test_text(body: str, expected: str) -> None:
    assert render_email("Subjek", body).text == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        pytest.param("Jadwal vaksin", "Jadwal vaksin", id="plain"),
        pytest.param("Jadwal\nvaksin", "Jadwal vaksin", id="newline"),
        pytest.param("Jadwal\r\n\tvaksin ", "Jadwal vaksin", id="crlf-and-tab"),
        pytest.param("  Jadwal   vaksin  ", "Jadwal vaksin", id="spaces"),
        pytest.param("Jadwal\u2028vaksin\u00a0Budi", "Jadwal vaksin Budi", id="unicode-separators"),
        pytest.param("", "", id="empty"),
        pytest.param("<b>Penting</b> & segera", "<b>Penting</b> & segera", id="not-escaped"),
    ],
)
def test_subject(subject: str, expected: str) -> None:
    assert render_email(subject, "isi").subject == expected


def test_document() -> None:
    content = render_email('Jadwal <vaksin> & "Anda"', "Halo", lang="id")
    assert content.html.startswith('<!DOCTYPE html>\n<html lang="id">\n<head>\n')
    assert '<meta charset="utf-8">' in content.html
    assert "<title>Jadwal &lt;vaksin&gt; &amp; &quot;Anda&quot;</title>" in content.html
    assert content.html.endswith("</body>\n</html>\n")


@pytest.mark.parametrize(
    ("lang", "attribute"),
    [
        pytest.param("en", 'lang="en"', id="english"),
        pytest.param("jv-ID", 'lang="jv-ID"', id="region"),
        pytest.param('x"><script>', 'lang="x&quot;&gt;&lt;script&gt;"', id="escaped"),
    ],
)
def test_lang(lang: str, attribute: str) -> None:
    assert f"<html {attribute}>" in render_email("s", "b", lang=lang).html


def test_no_external_resources_or_style_blocks() -> None:
    content = render_email(
        "s", "# a\n\n* b\n\n^ c\n\n---\n\n[d](https://x.id) ![e](https://x.id/e.png)"
    )
    for forbidden in ("<style", "<link", "<img", "<script", "src=", "url(", "@import", "class="):
        assert forbidden not in content.html


def test_every_element_has_an_inline_style() -> None:
    html = render_email("s", "# a\n\n## b\n\n* c\n\n1. d\n\n^ e\n\n---\n\nf https://x.id").html
    styled = ["h1", "h2", "p", "ul", "ol", "li", "blockquote", "hr", "a", "body"]
    tags = re.findall(rf"<({'|'.join(styled)})\b([^>]*)>", html)
    assert {tag for tag, _ in tags} == set(styled)
    assert all("style=" in attributes for _, attributes in tags)


def test_email_content_is_frozen() -> None:
    content = render_email("s", "b")
    with pytest.raises(AttributeError):
        content.subject = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("<script>x</script>", "&lt;script&gt;x&lt;/script&gt;", id="script"),
        pytest.param(
            '<img src=x onerror="alert(1)">',
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;",
            id="img",
        ),
        pytest.param("[klik](javascript:alert(1))", "klik", id="js-link"),
    ],
)
def test_personalisation_cannot_inject_html(value: str, expected: str) -> None:
    body = render("Halo ((nama)), selamat datang.", {"nama": value}, channel="email")
    assert body_html(render_email("s", body)) == f"<p>Halo {expected}, selamat datang.</p>\n"


def test_list_personalisation_becomes_a_bullet_list() -> None:
    body = render("Bawa dokumen berikut:((dokumen))", {"dokumen": ["KTP", "KK"]}, channel="email")
    content = render_email("s", body)
    assert body_html(content) == (
        "<p>Bawa dokumen berikut:</p>\n<ul>\n<li>KTP</li>\n<li>KK</li>\n</ul>\n"
    )
    assert content.text == "Bawa dokumen berikut:\n\n• KTP\n• KK"


def test_docstring_examples() -> None:
    assert doctest.testmod(email).failed == 0


_ALLOWED_TAGS = {
    "!DOCTYPE", "html", "head", "meta", "title", "body", "div",
    "p", "br", "h1", "h2", "ul", "ol", "li", "blockquote", "hr", "a",
}  # fmt: skip
_TAG = re.compile(r"<(/?)([!A-Za-z][A-Za-z0-9]*)")
_markdownish = st.lists(
    st.sampled_from(
        [
            *"ab <>&\"'=/[]()!*#^-•.:\n\t`|\\",
            *["http://", "https://x.id", "javascript:", "<script>", "<img src=x>", "onerror="],
        ]
    ),
    max_size=80,
).map("".join)


@given(body=_markdownish, subject=_markdownish)
def test_output_contains_only_our_tags_and_safe_links(body: str, subject: str) -> None:
    content = render_email(subject, body)
    assert {name for _, name in _TAG.findall(content.html)} <= _ALLOWED_TAGS
    assert all(
        href.lower().startswith(("http://", "https://"))
        for href in re.findall(r'href="([^"]*)"', content.html)
    )
    assert "\n" not in content.subject
    assert content.html.count("<body") == 1


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200))
def test_any_text_renders(body: str) -> None:
    content = render_email(body, body)
    assert content.html.startswith("<!DOCTYPE html>")
