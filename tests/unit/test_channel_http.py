"""The one table from httpx's transport errors to Warta's (``warta.channels.http``)."""

from __future__ import annotations

import traceback

import httpx
import pytest

from warta.channels.http import json_object, transport_errors, transport_failure
from warta.errors import DeliveryError, ProviderUnavailable, TechnicalFailure

SECRET_URL = "https://api.telegram.org/bot123456:SECRET-TOKEN/sendMessage"
REQUEST = httpx.Request("POST", SECRET_URL)


def _raised(kind: type[Exception]) -> Exception:
    """An instance of ``kind`` whose text quotes the secret URL, as httpx's often do."""
    if kind is httpx.HTTPStatusError:
        return kind(SECRET_URL, request=REQUEST, response=httpx.Response(500, request=REQUEST))
    if kind is httpx.InvalidURL:
        return kind(SECRET_URL)
    return kind(SECRET_URL, request=REQUEST)


TABLE = [
    (httpx.ConnectError, ProviderUnavailable),
    (httpx.ConnectTimeout, ProviderUnavailable),
    (httpx.ReadTimeout, ProviderUnavailable),
    (httpx.WriteTimeout, ProviderUnavailable),
    (httpx.PoolTimeout, ProviderUnavailable),
    (httpx.ReadError, ProviderUnavailable),
    (httpx.WriteError, ProviderUnavailable),
    (httpx.CloseError, ProviderUnavailable),
    (httpx.RemoteProtocolError, ProviderUnavailable),
    (httpx.LocalProtocolError, ProviderUnavailable),
    (httpx.ProxyError, ProviderUnavailable),
    (httpx.DecodingError, ProviderUnavailable),
    (httpx.TooManyRedirects, ProviderUnavailable),
    (httpx.HTTPStatusError, ProviderUnavailable),
    (httpx.UnsupportedProtocol, TechnicalFailure),
    (httpx.InvalidURL, TechnicalFailure),
]


@pytest.mark.parametrize(("httpx_error", "warta_error"), TABLE, ids=lambda c: c.__name__)
def test_each_httpx_error_becomes_its_warta_error(
    httpx_error: type[Exception], warta_error: type[DeliveryError]
) -> None:
    with pytest.raises(DeliveryError) as caught, transport_errors("Telegram"):
        raise _raised(httpx_error)
    assert type(caught.value) is warta_error
    assert caught.value.__cause__ is not None and type(caught.value.__cause__) is httpx_error
    name = httpx_error.__name__
    if warta_error is TechnicalFailure:
        assert str(caught.value) == f"Telegram URL cannot be used: {name}"
    else:
        assert str(caught.value) == f"cannot reach Telegram: {name}"


@pytest.mark.parametrize(
    ("httpx_error", "url", "message"),
    [
        pytest.param(httpx.ConnectError, None, "cannot reach SMS gateway agg: ConnectError",
                     id="reach"),
        pytest.param(httpx.ConnectError, "SMS gateway agg base URL",
                     "cannot reach SMS gateway agg: ConnectError", id="reach-url-unused"),
        pytest.param(httpx.UnsupportedProtocol, None,
                     "SMS gateway agg URL cannot be used: UnsupportedProtocol", id="url"),
        pytest.param(httpx.InvalidURL, "SMS gateway agg base URL",
                     "SMS gateway agg base URL cannot be used: InvalidURL", id="named-url"),
    ],
)  # fmt: skip
def test_the_message_names_the_provider_or_its_url(
    httpx_error: type[Exception], url: str | None, message: str
) -> None:
    failure = transport_failure(_raised(httpx_error), "SMS gateway agg", url=url)
    assert str(failure) == message


@pytest.mark.parametrize("chain", [True, False], ids=["chained", "not-chained"])
def test_no_message_quotes_the_url_and_unchained_no_traceback_does(chain: bool) -> None:
    with pytest.raises(ProviderUnavailable) as caught, transport_errors("Telegram", chain=chain):
        raise _raised(httpx.ConnectError)
    assert "SECRET" not in str(caught.value)
    printed = "".join(traceback.format_exception(caught.value))
    assert ("SECRET" in printed) is chain
    assert (caught.value.__cause__ is None) is not chain


def test_other_errors_and_answers_pass_through_untouched() -> None:
    with pytest.raises(ValueError, match="not httpx"), transport_errors("FCM"):
        raise ValueError("not httpx")
    with transport_errors("FCM"):
        answer = 42
    assert answer == 42


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b'{"error": "invalid_grant"}', {"error": "invalid_grant"}, id="object"),
        pytest.param(b"[1, 2]", {}, id="array"),
        pytest.param(b"<html>", {}, id="not-json"),
        pytest.param(b"", {}, id="empty"),
    ],
)
def test_json_object(content: bytes, expected: dict[str, object]) -> None:
    assert json_object(httpx.Response(400, content=content)) == expected
