"""Which Web Push endpoints Warta will call (issue 15, item 7): https on a public address,
optionally only the allowed push services; the development switch lifts the address rules."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from warta.channels.push_endpoints import check_endpoint
from warta.errors import InvalidInput, ProviderUnavailable

DNS = {
    "fcm.googleapis.com": ["142.250.4.95", "2404:6800:4003:c00::5f"],
    "rebound.example.com": ["127.0.0.1"],
    "v6.example.com": ["fd00::1"],
    "mixed.example.com": ["142.250.4.95", "192.168.1.10"],
}


async def resolver(host: str, port: int) -> Sequence[str]:
    if host not in DNS:
        raise OSError("no such name")
    return DNS[host]


@pytest.mark.parametrize(
    ("endpoint", "refused"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", None),
        ("https://142.250.4.95/push/abc", None),
        ("http://fcm.googleapis.com/fcm/send/abc", "must be an https:// URL"),
        ("http://127.0.0.1:9999/push/abc", "must be an https:// URL"),
        ("https://127.0.0.1/push/abc", "on a public address"),
        ("https://10.0.0.1/push/abc", "on a public address"),
        ("https://172.16.5.4/push/abc", "on a public address"),
        ("https://192.168.0.1/push/abc", "on a public address"),
        ("https://100.64.0.1/push/abc", "on a public address"),  # carrier-grade NAT
        ("https://169.254.169.254/push/abc", "on a public address"),  # cloud metadata
        ("https://0.0.0.0/push/abc", "on a public address"),
        ("https://240.0.0.1/push/abc", "on a public address"),  # reserved
        ("https://224.0.0.1/push/abc", "on a public address"),  # multicast
        ("https://[::1]/push/abc", "on a public address"),
        ("https://[fe80::1]/push/abc", "on a public address"),
        ("https://[::ffff:10.0.0.1]/push/abc", "on a public address"),
        ("https://localhost/push/abc", "on a public address"),
        ("https://LOCALHOST./push/abc", "on a public address"),
        ("https://api.localhost/push/abc", "on a public address"),
        ("https://rebound.example.com/push/abc", "on a public address"),
        ("https://v6.example.com/push/abc", "on a public address"),
        ("https://mixed.example.com/push/abc", "on a public address"),
    ],
)
async def test_only_https_on_public_addresses(endpoint: str, refused: str | None) -> None:
    if refused is None:
        await check_endpoint(endpoint, resolver=resolver)
        return
    with pytest.raises(InvalidInput, match=refused):
        await check_endpoint(endpoint, resolver=resolver)


async def test_a_name_that_does_not_resolve_is_unavailable_not_accepted() -> None:
    with pytest.raises(ProviderUnavailable, match=r"^cannot resolve push service nowhere.test$"):
        await check_endpoint("https://nowhere.test/push/abc", resolver=resolver)


async def test_the_allow_list_names_the_push_services() -> None:
    hosts = frozenset({"fcm.googleapis.com"})
    await check_endpoint("https://FCM.googleapis.com/fcm/send/abc", hosts=hosts, resolver=resolver)
    with pytest.raises(InvalidInput, match="not a push service this Warta accepts"):
        await check_endpoint("https://142.250.4.95/push/abc", hosts=hosts, resolver=resolver)


async def test_the_development_switch_admits_the_local_push_service() -> None:
    await check_endpoint("http://127.0.0.1:9999/push/abc", allow_local=True, resolver=resolver)
    # Off by default: the same endpoint is refused.
    with pytest.raises(InvalidInput):
        await check_endpoint("http://127.0.0.1:9999/push/abc", resolver=resolver)
