"""SMS through an HTTP gateway shaped like Twilio's Messages API (aggregators copy it).

    POST {base}/2010-04-01/Accounts/{sid}/Messages.json   Basic auth sid:token
         To, From, Body, StatusCallback (form fields)     -> {"sid": "SM...", ...}

The gateway answers at once with a message sid; whether the phone got it arrives later as a
signed status callback (``signature``/``verify``, ``status_to_receipt``), and replies from
citizens as a signed inbound webhook (``inbound_from_params``). Both land in
``warta.api.providers``. Every answer is translated in ``_translate`` into the
``warta.errors.DeliveryError`` tree, so the pipeline decides to retry from the class alone:

    connect error, timeout, dropped connection, HTTP 5xx    -> ProviderUnavailable
    HTTP 429 (throttled)                                    -> TemporaryFailure
    HTTP 400 whose code blames the number (21211, 21610...) -> PermanentFailure
    HTTP 400 whose code blames the message (21602, 21617...) -> ContentFault
    HTTP 401/403 (credentials), any other 4xx or answer     -> TechnicalFailure

Messages carry the HTTP status and the gateway's numeric error code, never its text:
Twilio's text quotes the number ("The 'To' number +62812... is not a valid phone number").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from warta.channels.http import transport_errors
from warta.channels.providers import ProviderConfig
from warta.domain.channels import (
    ChannelName,
    InboundSms,
    OutboundMessage,
    Receipt,
    ReceiptStatus,
    SendResult,
)
from warta.errors import (
    ConfigurationError,
    ContentFault,
    DeliveryError,
    InvalidInput,
    PermanentFailure,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

#: Where ``warta.api.providers`` serves each provider's webhooks.
WEBHOOK_PREFIX = "/providers/sms"
SIGNATURE_HEADER = "X-Twilio-Signature"
DEFAULT_TIMEOUT = 10.0
_OPTIONS = frozenset({"from", "timeout"})

#: API error codes that mean this number cannot get this text, whichever provider sends it.
#: 21408 (region not enabled for the account) is not here on purpose: it is our account's
#: configuration, so it is a TechnicalFailure and the SMS router tries the next provider.
NUMBER_ERROR_CODES = frozenset(
    {
        21211,  # invalid 'To' phone number
        21214,  # 'To' phone number cannot be reached
        21217,  # phone number does not appear to be valid
        21401,  # invalid phone number
        21407,  # this phone number type does not support SMS
        21610,  # the recipient replied STOP: unsubscribed from this sender
        21612,  # 'To' number not currently reachable via SMS
        21614,  # 'To' number is not a valid mobile number (a landline)
    }
)

#: API error codes that blame the message, not the gateway: an empty or too long body, a
#: sender id the gateway will not use. The SMS router must not demote the provider for them
#: (the next provider would refuse the same text), as for the SMPP channel's ContentFault.
CONTENT_ERROR_CODES = frozenset(
    {
        21602,  # message body is required
        21617,  # the concatenated message body exceeds the 1600 character limit
        21212,  # invalid 'From' number (the sender id)
        21606,  # the 'From' number cannot send to this destination
    }
)

#: Delivery error codes in a status callback after which waiting may help. Notify calls a
#: phone that was off "temporary-failure" and keeps "permanent-failure" for texts that will
#: never arrive (agencies act on it: they stop texting the number). Every other code is
#: permanent: the same text to the same number would fail the same way.
TEMPORARY_DELIVERY_CODES = frozenset(
    {
        "30001",  # queue overflow at the gateway
        "30003",  # unreachable handset: switched off, no signal
        "30008",  # unknown error: the carrier gave no reason
    }
)
_FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})


class HttpSmsChannel:
    """One Twilio-shaped gateway account. The ``httpx.AsyncClient`` is shared and owned by
    the caller (``Warta.http``), so ``aclose`` stops sending but leaves the client open."""

    name: ChannelName = "sms"

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        account_sid: str,
        auth_token: str,
        http: httpx.AsyncClient,
        status_callback_url: str,
        sender: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not (account_sid and auth_token):
            raise ConfigurationError(
                f"SMS provider {provider!r}: the URL needs ACCOUNT_SID:AUTH_TOKEN@ before the host"
            )
        if timeout <= 0:
            raise ConfigurationError(f"SMS provider {provider!r}: timeout must be positive")
        self.provider = provider
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages_url = (
            f"{base_url.rstrip('/')}/2010-04-01/Accounts/{quote(account_sid, safe='')}"
            "/Messages.json"
        )
        self.status_callback_url = status_callback_url
        self.sender = sender
        self.timeout = timeout
        self._http = http
        self._closed = False

    def __repr__(self) -> str:  # the default would show the auth token
        return f"HttpSmsChannel(provider={self.provider!r}, url={self.messages_url!r})"

    @classmethod
    def from_config(
        cls, config: ProviderConfig, http: httpx.AsyncClient, *, status_callback_url: str
    ) -> HttpSmsChannel:
        """``https://SID:TOKEN@gateway.example/base?name=agg&from=WARTA&timeout=5``.

        ``status_callback_url`` is this provider's full status webhook URL
        (``callback_url(public_url, name)``); empty sends none, for gateways whose account
        has a default callback configured.
        """
        if config.kind != "http":
            raise ConfigurationError(f"SMS provider {config.name!r} is not an HTTP gateway")
        unknown = sorted(set(config.options) - _OPTIONS)
        if unknown:  # a typo must fail at start-up, not silently fall back to a default
            raise ConfigurationError(
                f"SMS provider {config.name!r}: unknown HTTP gateway option(s) "
                f"{', '.join(unknown)}; known: {', '.join(sorted(_OPTIONS))}"
            )
        host = f"[{config.host}]" if ":" in config.host else config.host  # IPv6 literal
        port = "" if config.port is None else f":{config.port}"
        return cls(
            provider=config.name,
            base_url=f"{config.scheme}://{host}{port}{config.path}",
            account_sid=config.username,
            auth_token=config.password,
            http=http,
            status_callback_url=status_callback_url,
            sender=config.options.get("from") or None,
            timeout=config.float_option("timeout", DEFAULT_TIMEOUT),
        )

    async def start(self) -> None:
        """Nothing to connect: each send is one HTTP request."""

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "sms":
            raise TechnicalFailure(f"{message.channel} message routed to the SMS channel")
        if self._closed:
            # Retryable on purpose: a send racing shutdown must not lose the message.
            raise ProviderUnavailable(f"SMS gateway {self.provider} channel is closed")
        form = {"To": message.to, "From": self.sender or message.sender, "Body": message.body}
        if self.status_callback_url:
            form["StatusCallback"] = self.status_callback_url
        with transport_errors(f"SMS gateway {self.provider}"):
            response = await self._http.post(
                self.messages_url,
                data=form,
                auth=(self.account_sid, self.auth_token),
                timeout=self.timeout,
            )
        if response.is_success:
            sid = _sid(response)
            if sid is None:
                # It may hold the message, so no retry: a second send could go out twice.
                raise TechnicalFailure(
                    f"SMS gateway {self.provider} answered HTTP {response.status_code} "
                    "without a message sid"
                )
            return SendResult(
                status="sending", provider_reference=sid, provider=self.provider, parts=(sid,)
            )
        raise _translate(self.provider, response.status_code, _error_code(response))

    async def aclose(self) -> None:
        self._closed = True


def callback_url(public_url: str, provider: str) -> str:
    """A provider's status webhook URL, to give the gateway with each message.

    ``callback_url("https://warta.go.id/", "agg")`` ->
    ``https://warta.go.id/providers/sms/agg/status``
    """
    return f"{public_url.rstrip('/')}{WEBHOOK_PREFIX}/{quote(provider, safe='')}/status"


def _sid(response: httpx.Response) -> str | None:
    try:
        sid = response.json().get("sid")
    except (ValueError, AttributeError):
        return None
    return sid if isinstance(sid, str) and sid else None


def _error_code(response: httpx.Response) -> int | None:
    """Twilio's ``{"code": 21211, "message": ..., "status": 400}``; only the code is kept."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _translate(provider: str, status: int, code: int | None) -> DeliveryError:
    """The one place a gateway's error answer becomes a Warta error."""
    said = f"SMS gateway {provider} answered HTTP {status}" + (
        "" if code is None else f" (error {code})"
    )
    if status >= 500:
        return ProviderUnavailable(said)
    if status == 429:
        return TemporaryFailure(said)
    if status in (401, 403):
        return TechnicalFailure(f"{said}: the account SID or auth token is wrong")
    if status == 400 and code in NUMBER_ERROR_CODES:
        return PermanentFailure(said)
    if status == 400 and code in CONTENT_ERROR_CODES:
        return ContentFault(said)
    return TechnicalFailure(said)


# -- webhooks: pure functions -----------------------------------------------------------

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def signature(auth_token: str, url: str, params: Params) -> str:
    """Twilio's X-Twilio-Signature: base64(HMAC-SHA1(token, url + name1 + value1 + ...)).

    Parameters are sorted by name, then value (a name may repeat in a form body). Twilio's
    documented example: token ``12345``, URL ``https://mycompany.com/myapp.php?foo=1&bar=2``,
    ``CallSid=CA1234567890ABCDE``, ``Caller=+12349013030``, ``Digits=1234``,
    ``From=+12349013030``, ``To=+18005551212`` -> ``0/KCTR6DLpKmkAf8muzZqo1nDgQ=``.
    """
    pairs = params.items() if isinstance(params, Mapping) else params
    data = url + "".join(name + value for name, value in sorted(pairs))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(auth_token: str, url: str, params: Params, header: str | None) -> bool:
    """Whether ``header`` is the signature of this request, compared in constant time.

    Twilio signs the URL as configured; a proxy in between may add or drop the default
    port (``https://host:443/x`` vs ``https://host/x``), so both spellings are accepted,
    as Twilio's own libraries do.
    """
    if not header:
        return False
    pairs = list(params.items() if isinstance(params, Mapping) else params)
    given = header.encode()
    return any(
        hmac.compare_digest(signature(auth_token, candidate, pairs).encode(), given)
        for candidate in _port_spellings(url)
    )


def _port_spellings(url: str) -> list[str]:
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return [url]
    if default is None or not parts.hostname or port not in (None, default):
        return [url]
    userinfo, at, host = parts.netloc.rpartition("@")
    # Add the default port, or drop it ("[::1]:443" -> "[::1]").
    other = f"{host}:{default}" if port is None else host.rsplit(":", 1)[0]
    return [url, urlunsplit(parts._replace(netloc=f"{userinfo}{at}{other}"))]


_DEFAULT_PORTS = {"https": 443, "http": 80}


def status_to_receipt(provider: str, params: Mapping[str, str]) -> Receipt | None:
    """A status callback as a ``Receipt``, or ``None`` while the message is not final.

    ``MessageStatus=delivered`` -> delivered; ``undelivered``/``failed`` -> temporary-failure
    when ``ErrorCode`` is in ``TEMPORARY_DELIVERY_CODES`` or missing (phone off, or no
    reason given), else permanent-failure (30005 unknown number, 30006 landline, 30007
    filtered as spam); ``queued``/``sending``/``sent``/``accepted`` -> ``None``.
    """
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if status not in _FINAL_STATUSES:
        return None
    reference = params.get("MessageSid") or params.get("SmsSid")
    if not reference:
        raise InvalidInput("status callback has no MessageSid")
    code = params.get("ErrorCode", "").strip()
    mapped: ReceiptStatus
    if status == "delivered":
        mapped = "delivered"
    elif not code or code in TEMPORARY_DELIVERY_CODES:
        mapped = "temporary-failure"
    else:
        mapped = "permanent-failure"
    detail = f"{status} {code}" if code else status
    return Receipt(provider=provider, reference=reference, status=mapped, detail=detail)


def inbound_from_params(provider: str, params: Mapping[str, str]) -> InboundSms:
    """An inbound webhook (``From``, ``To``, ``Body``) as an ``InboundSms``."""
    sender, recipient = params.get("From"), params.get("To")
    if not (sender and recipient):
        raise InvalidInput("inbound message needs From and To")
    return InboundSms(
        provider=provider, sender=sender, recipient=recipient, text=params.get("Body", "")
    )
