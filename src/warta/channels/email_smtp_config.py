"""Where an SMTP relay is and how to reach it: ``SmtpConfig``, and the SMTP URL that
``warta.channels.email_smtp.SmtpChannel.from_url`` builds one from.

    smtp://relay.example.id                       port 25, STARTTLS if offered
    smtps://u:p%40ss@relay.example.id             port 465, implicit TLS, password p@ss
    smtp://relay:587?starttls=required&verify=false

Messages never echo the URL, because it holds the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from warta.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """The settings one ``SmtpChannel`` connects with; the password never shows in repr."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False
    start_tls: bool | None = None
    validate_certs: bool = True
    timeout: float = 30.0
    pool_size: int = 4
    local_hostname: str | None = None

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigurationError("SMTP host is required")
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"SMTP port must be 1-65535, got {self.port}")
        if (self.username is None) != (self.password is None):
            raise ConfigurationError("SMTP username and password must be given together")
        if self.use_tls and self.start_tls:
            raise ConfigurationError("implicit TLS (smtps) and STARTTLS cannot both be on")
        if self.pool_size < 1:
            raise ConfigurationError(f"SMTP pool_size must be at least 1, got {self.pool_size}")
        if self.timeout <= 0:
            raise ConfigurationError(f"SMTP timeout must be positive, got {self.timeout}")


def parse_smtp_url(url: str) -> dict[str, Any]:
    """Turn an SMTP URL into ``SmtpChannel`` keyword arguments.

    ``smtp://relay.example.id`` -> port 25, STARTTLS if offered;
    ``smtps://u:p%40ss@relay.example.id`` -> port 465, implicit TLS, password ``p@ss``;
    ``smtp://relay:587?starttls=required&verify=false``. Messages never echo the URL,
    because it holds the password.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"SMTP URL is malformed: {exc}") from exc
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigurationError(
            f"SMTP URL scheme must be smtp or smtps, got {parts.scheme or 'none'!r}"
        )
    if not parts.hostname:
        raise ConfigurationError("SMTP URL has no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ConfigurationError("SMTP URL must not have a path or fragment")
    implicit_tls = parts.scheme == "smtps"
    options: dict[str, Any] = {
        "host": parts.hostname,
        "port": (465 if implicit_tls else 25) if port is None else port,
        "use_tls": implicit_tls,
        "start_tls": False if implicit_tls else None,
    }
    if parts.username is not None:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    options.update(_parse_query(parts.query, implicit_tls=implicit_tls))
    return options


def _parse_query(query: str, *, implicit_tls: bool) -> dict[str, Any]:
    choices = {
        "starttls": {"required": True, "off": False},
        "verify": {"true": True, "false": False},
    }
    keys = {"starttls": "start_tls", "verify": "validate_certs"}
    options: dict[str, Any] = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name not in choices:
            raise ConfigurationError(f"unknown SMTP URL option {name!r}")
        if len(values) > 1:
            raise ConfigurationError(f"SMTP URL option {name!r} is given more than once")
        value = values[0].lower()
        if value not in choices[name]:
            allowed = "|".join(choices[name])
            raise ConfigurationError(f"SMTP URL option {name} must be {allowed}, got {value!r}")
        options[keys[name]] = choices[name][value]
    if implicit_tls and options.get("start_tls"):
        raise ConfigurationError("smtps already uses TLS; starttls=required needs smtp://")
    return options
