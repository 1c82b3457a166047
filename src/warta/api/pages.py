"""The one Jinja environment per language for server-rendered pages, and how a page is sent.

Pages (/dev/outbox, the citizen portal, the agency console) are autoescaped: what they
show (message text, agency names) came from someone else. Their words go through
gettext: msgids are English, and the Indonesian catalogs are the ``.po`` files under
``web/locale/id/LC_MESSAGES/`` (one per area of the site, merged here). The ``.po``
files are compiled in memory at first use, so no build step can leave a stale ``.mo``
behind. Indonesian is the default; ``?lang=en`` switches and is remembered in a cookie.
"""

from __future__ import annotations

import functools
import gettext
import hmac
import io
import secrets
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from warta.domain.timefmt import local_time
from warta.errors import WartaError, Word
from warta.security.crypto import Keyring

WEB = Path(__file__).parent.parent / "web"
LOCALES = WEB / "locale"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LANG_COOKIE = "warta_lang"


def catalog(language: str) -> Catalog:
    """Every ``.po`` file of one language merged into one catalog (later files win)."""
    merged = Catalog(locale=language, domain="warta")
    for path in sorted((LOCALES / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as file:
            for message in read_po(file, locale=language):
                if message.id and message.string:
                    merged[message.id] = message
    return merged


@functools.cache
def _translations(language: str) -> gettext.NullTranslations:
    if language == "en":  # msgids are English
        return gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog(language))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@functools.cache
def environment(language: str = DEFAULT_LANGUAGE) -> Environment:
    env = Environment(
        loader=FileSystemLoader(WEB / "templates"),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(_translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["lang"] = language

    @pass_context
    def local(context: Context, value: Any) -> str:
        """``{{ when|local }}``: in the reader's zone, named (``viewer_zone``: a citizen's
        own zone on the portal, WIB for staff)."""
        return local_time(value, context.get("viewer_zone") or "WIB", language)

    env.filters["local"] = local
    return env


def language_of(request: Request) -> str:
    """``?lang=`` first (a switch link), then the cookie, then Indonesian."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in LANGUAGES:
            return asked
    return DEFAULT_LANGUAGE


def translate(request: Request, message: str) -> str:
    """``message`` (an English msgid) in the request's language, for text made in Python."""
    return _translations(language_of(request)).gettext(message)


def error_text(request: Request, exc: WartaError) -> str:
    """An error as a page shows it: translated, then filled in (numbers written as the
    language writes them: 50.000 in Indonesian is 50,000 in English; ``Word`` values
    translated too), without the API's field name (the page shows it beside the field)."""
    language = language_of(request)
    text = translate(request, exc.msgid)
    if not exc.values:
        return text
    return text % {name: _shown(request, value, language) for name, value in exc.values.items()}


def _shown(request: Request, value: object, language: str) -> object:
    if isinstance(value, Word):
        return translate(request, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value, locale=language)
    return value


#: Pages load scripts and styles only from Warta itself (an inline ``<style>`` carries the
#: response's nonce), post forms only to it, and may not be framed by another site: a
#: console form inside someone else's page could be clicked without the person knowing.
#: Style attributes stay allowed: an email's preview is the email's own inline-styled HTML.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def render(
    request: Request, name: str, status: int = 200, *, language: str | None = None, **values: Any
) -> HTMLResponse:
    """The template ``name`` in the request's language (or ``language``, a page that knows
    its reader's); a ``?lang=`` switch is remembered. An ``error`` value may be a
    ``WartaError``: it reaches the template as ``error_text``."""
    language = language or language_of(request)
    if isinstance(values.get("error"), WartaError):
        values["error"] = error_text(request, values["error"])
    nonce = secrets.token_urlsafe(16)
    # Times are shown in the reader's zone: the signed-in citizen's (``who_is`` sets it),
    # else WIB, the console's.
    values.setdefault("viewer_zone", getattr(request.state, "zone", None) or "WIB")
    template = environment(language).get_template(name)
    page = template.render(request=request, csp_nonce=nonce, **values)
    response = HTMLResponse(page, status)
    response.headers.update(
        {
            "Content-Security-Policy": CSP.format(nonce=nonce),
            "X-Content-Type-Options": "nosniff",
            # Portal and console URLs name messages and notifications: keep them home.
            "Referrer-Policy": "same-origin",
        }
    )
    if request.query_params.get("lang") in LANGUAGES:
        secure = is_https(request, _public_url(request))
        response.set_cookie(
            LANG_COOKIE, language, max_age=365 * 86400, secure=secure, samesite="lax"
        )
    return response


def _public_url(request: Request) -> str:
    app = getattr(request.app.state, "warta", None)
    return str(app.settings.public_url) if app is not None else ""


def is_https(request: Request, public_url: str) -> bool:
    """Is this Warta reached over https (the request, or the public URL a proxy serves)?
    Then cookies are Secure and responses carry HSTS (``api/transport.py``)."""
    return request.url.scheme == "https" or public_url.startswith("https:")


def client_address(request: Request) -> str | None:
    """The asking address, for sign-in limits (behind a proxy, the one uvicorn takes from
    ``X-Forwarded-For`` when the proxy is trusted: ``FORWARDED_ALLOW_IPS``)."""
    return request.client.host if request.client else None


def csrf_token(keyring: Keyring, session: str) -> str:
    """A form token bound to one session: another site's page cannot know it.

    Derived rather than stored (a keyed hash of the session token), so it needs no table
    and ends with the session.
    """
    return keyring.lookup_hash("csrf:" + session)


def csrf_ok(keyring: Keyring, session: str, submitted: str) -> bool:
    """True when ``submitted`` is this session's token (under any key, during rotation)."""
    if not session or not submitted:
        return False
    return any(hmac.compare_digest(h, submitted) for h in keyring.lookup_hashes("csrf:" + session))


#: Signing in has no session yet to bind a form token to: a pre-session cookie stands in
#: (double submit). Another site can neither read it nor set it, so it cannot post a
#: sign-in form that signs someone into the other site's account (login CSRF).
SIGN_IN_COOKIE = "warta_sign_in"


def sign_in_token(request: Request, keyring: Keyring) -> str:
    """The sign-in form's token, bound to the pre-session cookie; made now when the
    browser has none (``remember_sign_in`` then sets it on the response)."""
    value = request.cookies.get(SIGN_IN_COOKIE) or getattr(request.state, "sign_in", "")
    if not value:
        value = request.state.sign_in = secrets.token_urlsafe(32)
    return csrf_token(keyring, "sign-in " + value)


def sign_in_ok(request: Request, keyring: Keyring, submitted: str) -> bool:
    """Did the sign-in form come from a page of ours in this browser?"""
    value = request.cookies.get(SIGN_IN_COOKIE, "")
    return bool(value) and csrf_ok(keyring, "sign-in " + value, submitted)


def remember_sign_in(request: Request, response: Response, path: str, secure: bool) -> None:
    """Set the pre-session cookie ``sign_in_token`` made for this response, if it made one."""
    made = getattr(request.state, "sign_in", "")
    if made:
        response.set_cookie(
            SIGN_IN_COOKIE, made, path=path, secure=secure, httponly=True, samesite="lax"
        )
