"""SMS provider settings: one URL per provider, options in its query string.

    smpp://system_id:password@smsc.example:2775?name=telkomsel&weight=70&window=10&tps=50
    https://ACCOUNT_SID:AUTH_TOKEN@gateway.example/?name=aggregator&weight=30

Several providers go in one setting, separated by commas. A URL holds a password, so a
``ProviderConfig`` never prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from warta.errors import ConfigurationError

ProviderKind = Literal["smpp", "http"]

_SCHEMES: dict[str, ProviderKind] = {
    "smpp": "smpp",
    "smpps": "smpp",
    "http": "http",
    "https": "http",
}
DEFAULT_WEIGHT = 100


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    kind: ProviderKind
    scheme: str
    host: str
    port: int | None
    username: str = field(repr=False)
    password: str = field(repr=False)
    path: str = ""
    weight: int = DEFAULT_WEIGHT
    options: Mapping[str, str] = field(default_factory=dict)

    def option(self, key: str, default: str) -> str:
        return self.options.get(key, default)

    def int_option(self, key: str, default: int) -> int:
        raw = self.options.get(key)
        if raw is None:
            return default
        try:
            return int(raw, 0)  # 0x-prefixed TON/NPI values read naturally
        except ValueError:
            raise ConfigurationError(
                f"SMS provider {self.name!r}: option {key}={raw!r} is not a whole number"
            ) from None

    def float_option(self, key: str, default: float) -> float:
        raw = self.options.get(key)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise ConfigurationError(
                f"SMS provider {self.name!r}: option {key}={raw!r} is not a number"
            ) from None


def parse_provider(url: str, *, index: int = 0) -> ProviderConfig:
    """One provider URL. The name defaults to ``{scheme}-{index}`` (``smpp-0``)."""
    parts = urlsplit(url.strip())
    kind = _SCHEMES.get(parts.scheme)
    if kind is None:
        raise ConfigurationError(
            f"SMS provider URL must start with smpp://, smpps://, http:// or https://, "
            f"got {parts.scheme or 'no scheme'}://"
        )
    if not parts.hostname:
        raise ConfigurationError(f"SMS provider URL has no host: {parts.scheme}://...")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    name = options.pop("name", "") or f"{kind}-{index}"
    weight_raw = options.pop("weight", str(DEFAULT_WEIGHT))
    try:
        weight = int(weight_raw)
    except ValueError:
        raise ConfigurationError(
            f"SMS provider {name!r}: weight={weight_raw!r} is not a number"
        ) from None
    if weight < 0:
        raise ConfigurationError(f"SMS provider {name!r}: weight must not be negative")
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"SMS provider {name!r}: the port is not a number") from None
    return ProviderConfig(
        name=name,
        kind=kind,
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        path=parts.path.rstrip("/"),
        weight=weight,
        options=options,
    )


def parse_providers(*settings_values: str) -> list[ProviderConfig]:
    """Every provider from the comma-separated settings, names checked unique."""
    urls = [u for value in settings_values for u in value.split(",") if u.strip()]
    providers = [parse_provider(url, index=i) for i, url in enumerate(urls)]
    names = [p.name for p in providers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError(f"SMS provider names must be unique: {', '.join(duplicates)}")
    return providers
