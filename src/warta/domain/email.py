"""Render an email body written in Notify's small markdown subset to HTML and plain text.

Senders are civil servants, not web developers, and their text (and every recipient's
personalisation) ends up in an HTML email. So only what Notify supports becomes HTML:

=====================================  ==============================================
``# Jadwal`` / ``## Lokasi``           headings (``###`` and deeper are paragraphs)
``* KTP``, ``- KTP``, ``• KTP``        bullet list
``1. Datang``                          numbered list
``^ Bawa masker``                      inset text, for something important
``---``                                horizontal rule
``[Daftar](https://contoh.go.id)``     link (http and https only)
``https://contoh.go.id/cek``           bare URL, linked
a line break inside a paragraph        kept, as ``<br>``
=====================================  ==============================================

Everything else stays the text that was typed: ``**tebal**``, ```kode```, tables,
``> kutipan`` and ``<b>HTML</b>`` are shown literally (escaped), so neither a template
nor personalisation can inject markup. An image ``![peta](https://...)`` becomes a link
to the image rather than an ``<img>``, which would load a remote (tracking) resource.

mistune parses; we give it only the rules above and walk its token tree ourselves, once
for HTML (with inline styles, because many mail clients drop ``<style>``) and once for
the plain-text part.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import mistune
from mistune.plugins.url import url as url_plugin
from mistune.util import escape_url

from warta.errors import InvalidInput

Token = Mapping[str, Any]

#: ``•`` at the start of a line is read as a bullet, as Notify does: ``•KTP`` -> ``* KTP``.
_BULLET = re.compile(r"^([ \t]*)•[ \t]*", re.MULTILINE)
#: An inset: a line starting with ``^``, continued by the following non-blank lines up to
#: one that starts another block (a list item, a heading or a rule).
_INSET = (
    r"^ {0,3}\^[^\n]*"
    r"(?:\n(?![ \t]*(?:\n|[*+-][ \t]|#{1,6}(?:[ \t]|\n)|\d{1,9}[.)][ \t]|-{3,}))[^\n]*)*"
)
_INSET_MARK = re.compile(r"^[ \t]*\^", re.MULTILINE)
_HTTP_URL = re.compile(r"https?://", re.IGNORECASE)

#: The longest subject, in characters once personalised and made one line: RFC 5322's
#: line length. The SMTP channel folds any subject onto short lines, so this is not what
#: the wire needs; it keeps a subject a person can read, and a 10,000-character one from
#: being accepted only to be refused by a relay.
MAX_SUBJECT = 998

_BLOCK_RULES = ["inset", "atx_heading", "thematic_break", "list", "blank_line"]
_INLINE_RULES = ["link", "link_close", "auto_link", "linebreak", "url_link"]

_FONT = "font-family: Helvetica, Arial, sans-serif; font-size: 19px; line-height: 1.35;"
STYLES: Mapping[str, str] = {
    "body": "margin: 0; padding: 0; background-color: #ffffff;",
    "main": f"max-width: 580px; margin: 0 auto; padding: 20px 15px; {_FONT} color: #0b0c0c;",
    "p": "margin: 0 0 20px 0;",
    "h1": "margin: 0 0 20px 0; font-size: 28px; line-height: 1.25; font-weight: bold;",
    "h2": "margin: 0 0 15px 0; font-size: 22px; line-height: 1.25; font-weight: bold;",
    "ul": "margin: 0 0 20px 0; padding: 0 0 0 25px; list-style-type: disc;",
    "ol": "margin: 0 0 20px 0; padding: 0 0 0 25px; list-style-type: decimal;",
    "li": "margin: 5px 0; padding: 0 0 0 5px;",
    "blockquote": "margin: 0 0 20px 0; padding: 15px 0 1px 15px; border-left: 10px solid #b1b4b6;",
    "hr": "border: 0; height: 1px; background: #b1b4b6; margin: 30px 0;",
    "a": "color: #1d70b8; word-wrap: break-word;",
}


@dataclass(frozen=True)
class EmailContent:
    """A rendered email: single-line subject, plain-text part and HTML part."""

    subject: str
    text: str
    html: str


class SubjectTooLong(InvalidInput):
    pass


def one_line(subject: str) -> str:
    """``"Jadwal\\n vaksin "`` -> ``"Jadwal vaksin"``: a subject is one line."""
    return " ".join(subject.split())


def check_subject(subject: str) -> None:
    """Raises ``SubjectTooLong`` for a subject over ``MAX_SUBJECT`` characters once made
    one line (``"a " * 600`` is 1,199 characters: refused)."""
    length = len(one_line(subject))
    if length > MAX_SUBJECT:
        raise SubjectTooLong(
            "Email subject is %(length)s characters once personalised: at most %(limit)s",
            length=length,
            limit=MAX_SUBJECT,
        )


def _parse_inset(block: mistune.BlockParser, m: re.Match[str], state: mistune.BlockState) -> int:
    state.append_token({"type": "inset", "text": _INSET_MARK.sub("", m.group(0))})
    return m.end() + 1


def _parser() -> mistune.Markdown:
    block = mistune.BlockParser()
    block.register("inset", _INSET, _parse_inset)
    block.rules = list(_BLOCK_RULES)
    block.list_rules = list(_BLOCK_RULES)
    block.block_quote_rules = list(_BLOCK_RULES)
    inline = mistune.InlineParser(hard_wrap=True)
    markdown = mistune.Markdown(renderer=None, block=block, inline=inline, plugins=[url_plugin])
    inline.rules = list(_INLINE_RULES)
    return markdown


def _tokens(body: str) -> list[Token]:
    # A fresh parser per call: mistune parsers keep per-instance caches, and the domain
    # keeps no shared mutable state at import time.
    return cast(list[Token], _parser()(_BULLET.sub(r"\1* ", body)))


def _link_url(token: Token) -> str | None:
    """The target of a link we render: http(s) only, so never ``javascript:`` or ``data:``."""
    url = str(token.get("attrs", {}).get("url", ""))
    return url if _HTTP_URL.match(url) else None


def _attr(tag: str) -> str:
    return f' style="{STYLES[tag]}"'


def _html_inline(tokens: Iterable[Token]) -> str:
    out: list[str] = []
    for token in tokens:
        kind = token["type"]
        if kind in ("linebreak", "softbreak"):
            out.append("<br>\n")
        elif kind in ("link", "image"):
            text = _html_inline(token.get("children", []))
            url = _link_url(token)
            out.append(f'<a href="{html.escape(url)}"{_attr("a")}>{text}</a>' if url else text)
        elif "children" in token:
            out.append(_html_inline(token["children"]))
        else:
            out.append(html.escape(str(token.get("raw", ""))))
    return "".join(out)


def _html_blocks(tokens: Iterable[Token]) -> str:
    out: list[str] = []
    for token in tokens:
        kind = token["type"]
        children = token.get("children", [])
        if kind == "blank_line" or (kind == "heading" and not _text_inline(children).strip()):
            continue
        if kind == "heading" and token["attrs"]["level"] <= 2:
            tag = f"h{token['attrs']['level']}"
            out.append(f"<{tag}{_attr(tag)}>{_html_inline(children)}</{tag}>\n")
        elif kind == "thematic_break":
            out.append(f"<hr{_attr('hr')}>\n")
        elif kind == "list":
            tag = "ol" if token["attrs"]["ordered"] else "ul"
            start = token["attrs"].get("start", 1)
            start_attr = f' start="{int(start)}"' if start != 1 else ""
            out.append(f"<{tag}{start_attr}{_attr(tag)}>\n{_html_blocks(children)}</{tag}>\n")
        elif kind == "list_item":
            out.append(f"<li{_attr('li')}>{_html_blocks(children).strip()}</li>\n")
        elif kind == "block_text":
            out.append(_html_inline(children))
        elif kind == "inset":
            paragraph = f'<p style="margin: 0 0 15px 0;">{_html_inline(children)}</p>'
            out.append(f"<blockquote{_attr('blockquote')}>{paragraph}</blockquote>\n")
        else:  # paragraph, deep heading, anything unexpected: a paragraph of its text
            out.append(f"<p{_attr('p')}>{_html_inline(children)}</p>\n")
    return "".join(out)


def _text_inline(tokens: Iterable[Token]) -> str:
    out: list[str] = []
    for token in tokens:
        kind = token["type"]
        if kind in ("linebreak", "softbreak"):
            out.append("\n")
        elif kind in ("link", "image"):
            text = _text_inline(token.get("children", []))
            url = _link_url(token)
            # a bare URL (or one linked to itself) is written once, not "url: url"
            out.append(f"{text}: {url}" if url and escape_url(text) != url else text)
        elif "children" in token:
            out.append(_text_inline(token["children"]))
        else:
            out.append(str(token.get("raw", "")))
    return "".join(out)


def _text_blocks(tokens: Iterable[Token]) -> list[str]:
    """Plain-text blocks, to be separated by blank lines."""
    out: list[str] = []
    for token in tokens:
        kind = token["type"]
        children = token.get("children", [])
        if kind == "blank_line" or (kind == "heading" and not _text_inline(children).strip()):
            continue
        if kind == "heading" and token["attrs"]["level"] <= 2:
            text = _text_inline(children)
            width = max(len(line) for line in text.splitlines())
            out.append(f"{text}\n{('=' if token['attrs']['level'] == 1 else '-') * width}")
        elif kind == "thematic_break":
            out.append("-" * 40)
        elif kind == "list":
            out.append("\n".join(_text_list(token)))
        else:
            out.append(_text_inline(children))
    return out


def _text_list(token: Token) -> list[str]:
    """``• item`` or ``1. item`` lines; nested lists and continuation lines indented."""
    lines: list[str] = []
    start = int(token["attrs"].get("start", 1))
    for number, item in enumerate(token.get("children", []), start):
        marker = f"{number}. " if token["attrs"]["ordered"] else "• "
        body = "\n".join(_text_blocks(item.get("children", []))).splitlines() or [""]
        lines.append(marker + body[0])
        lines.extend(" " * len(marker) + line if line else "" for line in body[1:])
    return lines


def _document(subject: str, content: str, lang: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(lang)}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(subject)}</title>\n"
        "</head>\n"
        f"<body{_attr('body')}>\n"
        f"<div{_attr('main')}>\n{content}</div>\n"
        "</body>\n"
        "</html>\n"
    )


def body_html(body: str) -> str:
    """A body's HTML blocks without the document around them, for an email that gathers
    several bodies under headings of its own (a citizen's digest, ``domain/digest.py``).

    >>> body_html("Halo")
    '<p style="margin: 0 0 20px 0;">Halo</p>\\n'
    """
    return _html_blocks(_tokens(body))


def document(subject: str, content: str, *, lang: str = "id") -> str:
    """``content`` (HTML blocks already escaped) in the same page as every Warta email."""
    return _document(one_line(subject), content, lang)


def render_email(subject: str, body: str, *, lang: str = "id") -> EmailContent:
    """Render a filled-in template (``templates.render(..., channel="email")``).

    The subject is made single-line (``"Jadwal\\n vaksin "`` -> ``"Jadwal vaksin"``) because a
    newline in a header is at best a broken subject and at worst header injection.

    >>> content = render_email("Jadwal", "Halo <b>Budi</b>\\n\\n* KTP\\n* KK")
    >>> content.text
    'Halo <b>Budi</b>\\n\\n• KTP\\n• KK'
    >>> "Halo &lt;b&gt;Budi&lt;/b&gt;</p>" in content.html
    True
    """
    subject = one_line(subject)
    tokens = _tokens(body)
    text = "\n\n".join(block for block in _text_blocks(tokens) if block.strip())
    html_document = _document(subject, _html_blocks(tokens), lang)
    return EmailContent(subject=subject, text=text, html=html_document)
