"""Settings of one SMPP provider, read from its URL, and the sender address it submits with.

    smpp://system_id:password@smsc.example:2775?name=tsel&binds=2&window=10&tps=50&source_addr=DINKES

An option this module does not know is refused, so a typo (``windw=20``) is an error at
start-up rather than a default that silently applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from warta.channels.providers import ProviderConfig
from warta.errors import ConfigurationError, ContentFault

DEFAULT_PORT = 2775
#: smpp34 sends enquire_link every 30 s on its own and takes no setting for it from Python,
#: so this is the only value the ``enquire_link`` option accepts; nothing extra is sent.
ENQUIRE_LINK_SECONDS = 30.0
#: SMSCs limit binds per account (often to a handful); more than this is surely a typo.
MAX_BINDS = 32

_NUMERIC_SENDER = re.compile(r"\+?[0-9]{1,20}")

_OPTIONS = frozenset(
    {
        "binds", "window", "tps", "source_addr", "source_ton", "source_npi", "dest_ton", "dest_npi",
        "system_type", "rebind_min", "rebind_max", "enquire_link", "throttle_retries",
        "throttle_delay", "bind_wait", "connect_timeout", "concat_timeout",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SmppConfig:
    """One SMSC account and how to use it; the password never shows in repr.

    ``binds`` connections are held to the SMSC, each with its own ``window`` (submit_sm
    awaiting their response); ``tps`` (0: no cap) spaces the provider's submits evenly. A
    failed or lost bind is retried after ``rebind_min`` to twice that, doubling up to
    ``rebind_max`` seconds (half fixed, half jitter). ESME_RTHROTTLED waits
    ``throttle_delay`` the same way, ``throttle_retries`` times. ``bind_wait`` bounds how
    long one send waits, in all, for a (re)bind before raising ``ProviderUnavailable``;
    ``concat_timeout`` how long parts of a citizen's long reply wait for the rest.
    ``source_ton``/``source_npi`` left None follow the sender (``source_address``).
    """

    provider: str
    host: str
    port: int = DEFAULT_PORT
    system_id: str = ""
    password: str = field(default="", repr=False)
    tls: bool = False
    system_type: str = ""
    binds: int = 1
    window: int = 10
    tps: float = 0.0
    source_addr: str | None = None
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int = 1
    dest_npi: int = 1
    rebind_min: float = 0.5
    rebind_max: float = 30.0
    throttle_retries: int = 5
    throttle_delay: float = 0.5
    bind_wait: float = 10.0
    connect_timeout: float = 10.0
    concat_timeout: float = 300.0
    enquire_link: float = ENQUIRE_LINK_SECONDS

    def __post_init__(self) -> None:
        def problem(text: str) -> ConfigurationError:
            return ConfigurationError(f"SMS provider {self.provider!r}: {text}")

        if not self.host:
            raise problem("SMPP host is required")
        if not 0 < self.port < 65536:
            raise problem(f"SMPP port must be 1-65535, got {self.port}")
        if not self.system_id:
            raise problem("the URL needs system_id:password@ before the host")
        if not 1 <= self.binds <= MAX_BINDS:
            raise problem(f"binds must be 1-{MAX_BINDS}, got {self.binds}")
        if self.window < 1:
            raise problem(f"window must be at least 1, got {self.window}")
        if self.tps < 0:
            raise problem(f"tps must not be negative, got {self.tps}")
        if self.throttle_retries < 0:
            raise problem(f"throttle_retries must not be negative, got {self.throttle_retries}")
        for name in ("source_ton", "source_npi", "dest_ton", "dest_npi"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 0xFF:
                raise problem(f"{name} must be 0-255, got {value}")
        for name in ("rebind_min", "throttle_delay", "bind_wait", "connect_timeout"):
            if getattr(self, name) <= 0:
                raise problem(f"{name} must be positive, got {getattr(self, name)}")
        if self.concat_timeout <= 0:
            raise problem(f"concat_timeout must be positive, got {self.concat_timeout}")
        if self.rebind_max < self.rebind_min:
            raise problem("rebind_max must not be below rebind_min")
        if self.enquire_link != ENQUIRE_LINK_SECONDS:
            raise problem(
                "smpp34 sends enquire_link every 30 seconds and cannot be told otherwise; "
                "leave enquire_link out or set it to 30"
            )

    @classmethod
    def from_provider(cls, config: ProviderConfig) -> SmppConfig:
        """``smpp://id:pw@smsc:2775?name=tsel&window=10&tps=50&source_addr=DINKES``."""
        if config.kind != "smpp":
            raise ConfigurationError(f"SMS provider {config.name!r} is not an SMPP provider")
        unknown = sorted(set(config.options) - _OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"SMS provider {config.name!r}: unknown SMPP option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(_OPTIONS))}"
            )
        optional = {
            name: config.int_option(name, 0)
            for name in ("source_ton", "source_npi")
            if name in config.options
        }
        return cls(
            provider=config.name,
            host=config.host,
            port=DEFAULT_PORT if config.port is None else config.port,
            system_id=config.username,
            password=config.password,
            tls=config.scheme == "smpps",
            system_type=config.option("system_type", ""),
            binds=config.int_option("binds", 1),
            window=config.int_option("window", 10),
            tps=config.float_option("tps", 0.0),
            source_addr=config.options.get("source_addr") or None,
            dest_ton=config.int_option("dest_ton", 1),
            dest_npi=config.int_option("dest_npi", 1),
            rebind_min=config.float_option("rebind_min", 0.5),
            rebind_max=config.float_option("rebind_max", 30.0),
            throttle_retries=config.int_option("throttle_retries", 5),
            throttle_delay=config.float_option("throttle_delay", 0.5),
            bind_wait=config.float_option("bind_wait", 10.0),
            connect_timeout=config.float_option("connect_timeout", 10.0),
            concat_timeout=config.float_option("concat_timeout", 300.0),
            enquire_link=config.float_option("enquire_link", ENQUIRE_LINK_SECONDS),
            **optional,
        )


def source_address(sender: str, config: SmppConfig) -> tuple[str, int, int]:
    """``source_addr``, its TON and NPI: ``"DINKES"`` -> ``("DINKES", 5, 0)`` (alphanumeric),
    ``"+6281100"`` -> ``("6281100", 1, 1)`` (international). Options override each part."""
    address = config.source_addr or sender
    if _NUMERIC_SENDER.fullmatch(address):
        address, ton, npi = address.removeprefix("+"), 1, 1
    else:
        ton, npi = 5, 0
    if not address or len(address) > 20:
        raise ContentFault("the SMS sender id must be 1-20 characters for SMPP")
    return (
        address,
        ton if config.source_ton is None else config.source_ton,
        npi if config.source_npi is None else config.source_npi,
    )
