"""Where Warta may send a Web Push: https endpoints on public addresses only (no request
forgery against the network Warta runs in), checked when a citizen subscribes and again
before each send, which then goes to the address checked (a name that resolves
elsewhere a moment later, DNS rebinding, is not followed)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

from warta.errors import InvalidInput, ProviderUnavailable

#: Resolves a host name and port to its addresses (as text); injectable for tests.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, through the event loop's resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # drop an IPv6 zone
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_endpoint(
    endpoint: str,
    *,
    hosts: frozenset[str] = frozenset(),
    allow_local: bool = False,
    resolver: Resolver = resolve,
) -> str | None:
    """Refuse (``InvalidInput``) an endpoint Warta must not call: not https, a host outside
    ``hosts`` (when set), an IP literal or a name (any of its addresses) that is not a
    public address. ``allow_local`` (development) accepts http and any address.

    Returns the checked address to connect to (None under ``allow_local``), so the request
    goes to the address checked, not to what the name resolves to a moment later."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").rstrip(".").lower()
    if hosts and host not in hosts:
        raise InvalidInput("Push subscription endpoint is not a push service this Warta accepts")
    if allow_local:
        return None
    if parts.scheme != "https":
        raise InvalidInput("Push subscription endpoint must be an https:// URL")
    if host == "localhost" or host.endswith(".localhost"):
        raise InvalidInput("Push subscription endpoint must be on a public address")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if not _is_public(host):
            raise InvalidInput("Push subscription endpoint must be on a public address")
        return host
    try:
        addresses = await resolver(host, parts.port or 443)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise ProviderUnavailable("cannot resolve push service %(host)s", host=host) from exc
    if not addresses or not all(_is_public(address) for address in addresses):
        raise InvalidInput("Push subscription endpoint must be on a public address")
    return addresses[0]


def pinned(endpoint: str, address: str) -> str:
    """``endpoint`` with its host replaced by ``address``, the port and path kept."""
    parts = urlsplit(endpoint)
    netloc = f"[{address}]" if ":" in address else address
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
