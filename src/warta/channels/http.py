"""What the channels that speak HTTP share: one table from httpx's transport errors to
Warta's, and reading a JSON answer.

Every request path of every HTTP channel (SMS gateways, Web Push, FCM and its token
endpoint, Telegram, WhatsApp) goes through ``transport_errors``, as every request of httpx
goes through its own ``map_httpcore_exceptions()``:

    httpx.UnsupportedProtocol, httpx.InvalidURL  -> TechnicalFailure: our URL is wrong,
                                                    and a retry cannot mend it
    every other httpx.HTTPError (connect error,
    timeout, dropped connection, bad protocol)   -> ProviderUnavailable: retry later

A timeout may come after the provider took the message, so the retry can send it twice;
losing it would be worse. Messages name the provider and the exception's class, never the
exception's text: it may quote the URL, and a URL may hold a secret (Telegram's bot token)
or a citizen's push endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from warta.errors import DeliveryError, InvalidInput, ProviderUnavailable, TechnicalFailure

#: Raised by httpx for a request that never got an answer; ``InvalidURL`` is no HTTPError.
TRANSPORT_ERRORS = (httpx.HTTPError, httpx.InvalidURL)


def transport_failure(
    exc: httpx.HTTPError | httpx.InvalidURL, provider: str, *, url: str | None = None
) -> DeliveryError:
    """The Warta error for ``exc``. ``provider`` is how a message names who could not be
    reached ("SMS gateway agg", "the FCM token endpoint"); ``url`` how it names the URL
    that cannot be used, ``"<provider> URL"`` unless given ("Telegram base URL")."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return TechnicalFailure(
            "%(url)s cannot be used: %(kind)s", url=url or f"{provider} URL", kind=kind
        )
    return ProviderUnavailable("cannot reach %(provider)s: %(kind)s", provider=provider, kind=kind)


@contextmanager
def transport_errors(
    provider: str, *, url: str | None = None, chain: bool = True
) -> Iterator[None]:
    """Raise ``transport_failure`` for an httpx error in the block. ``chain=False`` leaves
    httpx's exception out of the traceback (``from None``): it holds the request, and
    where the URL holds a secret a logged traceback must not print it."""
    try:
        yield
    except TRANSPORT_ERRORS as exc:
        raise transport_failure(exc, provider, url=url) from (exc if chain else None)


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or ``{}`` when it is not JSON or not an object."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """A streamed answer's body, or ``InvalidInput`` as soon as it is over ``max_bytes``
    (its Content-Length is believed when it says so, and the bytes are counted anyway):
    a photo a citizen sent is fetched from the chat service without trusting its size."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big(max_bytes)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise too_big(max_bytes)
    return bytes(body)


def too_big(max_bytes: int) -> InvalidInput:
    return InvalidInput("The file is larger than %(limit)s bytes", limit=max_bytes)
