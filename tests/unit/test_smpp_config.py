"""SMPP provider options from the URL, and the sender address (warta.channels.sms_smpp_config)."""

from __future__ import annotations

from typing import Any

import pytest

from warta.channels.providers import parse_provider
from warta.channels.sms_smpp_config import SmppConfig, source_address
from warta.errors import ConfigurationError, TechnicalFailure


def config(query: str = "", base: str = "smpp://esme:rahasia@smsc.example:2775") -> SmppConfig:
    return SmppConfig.from_provider(parse_provider(f"{base}?name=tsel{query}"))


def test_defaults() -> None:
    assert config() == SmppConfig(
        provider="tsel", host="smsc.example", port=2775, system_id="esme", password="rahasia"
    )
    assert "rahasia" not in repr(config())


@pytest.mark.parametrize(
    ("url", "changes"),
    [
        pytest.param("smpp://esme:pw@smsc.example", {"port": 2775}, id="default-port"),
        pytest.param("smpps://esme:pw@smsc.example:3550", {"port": 3550, "tls": True}, id="tls"),
        pytest.param(
            "smpp://esme:pw@smsc.example:2775?binds=3&window=20&tps=12.5&system_type=VMA",
            {"binds": 3, "window": 20, "tps": 12.5, "system_type": "VMA"},
            id="window-tps-system-type",
        ),
        pytest.param(
            "smpp://esme:pw@smsc.example:2775?source_addr=DINKES&source_ton=0x03&source_npi=0",
            {"source_addr": "DINKES", "source_ton": 3, "source_npi": 0},
            id="source-address",
        ),
        pytest.param(
            "smpp://esme:pw@smsc.example:2775?rebind_min=1&rebind_max=60&throttle_retries=0"
            "&throttle_delay=0.1&bind_wait=3&connect_timeout=2&concat_timeout=30"
            "&dest_ton=0&dest_npi=0&enquire_link=30",
            {
                "rebind_min": 1.0,
                "rebind_max": 60.0,
                "throttle_retries": 0,
                "throttle_delay": 0.1,
                "bind_wait": 3.0,
                "connect_timeout": 2.0,
                "concat_timeout": 30.0,
                "dest_ton": 0,
                "dest_npi": 0,
            },
            id="timing",
        ),
    ],
)
def test_options(url: str, changes: dict[str, Any]) -> None:
    parsed = SmppConfig.from_provider(parse_provider(url))
    for name, value in changes.items():
        assert getattr(parsed, name) == value


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("&windw=5", r"unknown SMPP option\(s\) windw;", id="typo"),
        pytest.param("&window=0", "window must be at least 1, got 0", id="window-zero"),
        pytest.param("&binds=0", "binds must be 1-32, got 0", id="binds-zero"),
        pytest.param("&binds=33", "binds must be 1-32, got 33", id="binds-too-many"),
        pytest.param("&window=many", "option window='many' is not a whole number", id="window-nan"),
        pytest.param("&tps=-1", "tps must not be negative", id="tps-negative"),
        pytest.param("&source_ton=256", "source_ton must be 0-255, got 256", id="ton-too-big"),
        pytest.param("&rebind_min=0", "rebind_min must be positive", id="rebind-zero"),
        pytest.param("&rebind_min=5&rebind_max=1", "rebind_max must not be below", id="rebind"),
        pytest.param("&throttle_retries=-1", "throttle_retries must not be negative", id="retries"),
        pytest.param("&bind_wait=0", "bind_wait must be positive", id="bind-wait"),
        pytest.param("&enquire_link=60", "enquire_link every 30 seconds", id="enquire-link"),
    ],
)
def test_bad_options(query: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        config(query)
    assert "'tsel'" in str(raised.value)


def test_system_id_is_required() -> None:
    with pytest.raises(ConfigurationError, match="needs system_id:password@"):
        SmppConfig.from_provider(parse_provider("smpp://smsc.example?name=tsel"))


def test_only_smpp_urls() -> None:
    with pytest.raises(ConfigurationError, match="is not an SMPP provider"):
        SmppConfig.from_provider(parse_provider("https://sid:token@gw.example?name=agg"))


@pytest.mark.parametrize(
    ("sender", "query", "expected"),
    [
        pytest.param("DINKES", "", ("DINKES", 5, 0), id="alphanumeric"),
        pytest.param("Dinkes DKI", "", ("Dinkes DKI", 5, 0), id="alphanumeric-space"),
        pytest.param("+628111000", "", ("628111000", 1, 1), id="international"),
        pytest.param("99876", "", ("99876", 1, 1), id="numeric"),
        pytest.param("DINKES", "&source_addr=1500567", ("1500567", 1, 1), id="option-wins"),
        pytest.param("99876", "&source_ton=3&source_npi=0", ("99876", 3, 0), id="ton-npi-override"),
    ],
)
def test_source_address(sender: str, query: str, expected: tuple[str, int, int]) -> None:
    assert source_address(sender, config(query)) == expected


@pytest.mark.parametrize("sender", ["", "X" * 21])
def test_source_address_length(sender: str) -> None:
    with pytest.raises(TechnicalFailure, match="sender id must be 1-20 characters"):
        source_address(sender, config())
