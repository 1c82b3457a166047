"""DKIM's names and records: which domain a key is for, its selector, and the DNS TXT
record an agency publishes (RFC 6376 section 3.6).

A receiver checks a signature ``d=dinkes.jakarta.go.id; s=warta202612`` by looking up the
TXT record at ``warta202612._domainkey.dinkes.jakarta.go.id``, which holds
``v=DKIM1; k=rsa; p=MIIBIjANBgkq...`` (the public key, base64 DER). DMARC passes when
that ``d=`` is the From address's domain, so a key is chosen by the From domain.

Domains are kept as written on the wire: lower case, IDNA A-labels made by the same
codec ``channels.email_smtp`` writes the From header with (``Dinas-Ñ.ID`` ->
``xn--dinas--1wa.id``), so the key found for a From address is the one its header names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from warta.errors import InvalidInput

#: One DNS label of a host name (RFC 1123): letters, digits, inner hyphens, 1-63 long.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
#: What ``default_selector`` starts with; a rotation in the same month needs its own.
SELECTOR_PREFIX = "warta"
#: A selector is at most one label's worth here, so ``dns_name`` stays short.
_SELECTOR_LIMIT = 63
_DOMAIN_LIMIT = 253

NOT_A_DOMAIN = "%(domain)s is not a domain name a From address can use"
NOT_A_SELECTOR = (
    "%(selector)s is not a DKIM selector: use letters, digits and inner hyphens "
    "(dots between parts), at most 63 characters"
)


def sending_domain(raw: str) -> str:
    """The domain as DNS and the From header carry it, or ``InvalidInput``.

    ``" Dinkes.Jakarta.GO.ID. "`` -> ``"dinkes.jakarta.go.id"``; ``"dinas-ñ.id"`` ->
    ``"xn--dinas--1wa.id"``. Refused: ``"localhost"`` (one label), ``"budi@contoh.id"``,
    ``"contoh..id"``, ``"-contoh.id"``, ``"contoh.id/x"``, ``"contoh.123"`` (a numeric
    top-level label is an IP address, not a name), anything over 253 characters.
    """
    text = raw.strip().removesuffix(".")
    try:
        ascii_name = text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidInput(NOT_A_DOMAIN, domain=repr(raw)) from None
    labels = ascii_name.split(".")
    if (
        len(labels) < 2
        or len(ascii_name) > _DOMAIN_LIMIT
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidInput(NOT_A_DOMAIN, domain=repr(raw))
    return ascii_name


def address_domain(address: str) -> str | None:
    """The sending domain of a bare address, or None when it has none Warta could sign:
    ``"info@Dinkes.Jakarta.go.id"`` -> ``"dinkes.jakarta.go.id"``."""
    _, at, domain = address.rpartition("@")
    if not at:
        return None
    try:
        return sending_domain(domain)
    except InvalidInput:
        return None


def selector(raw: str) -> str:
    """A checked selector: ``"Warta202612"`` -> ``"warta202612"``; ``"s1.2026"`` is fine
    (a dotted selector is a sub-domain under ``_domainkey``). Refused: ``""``,
    ``"warta_1"``, ``"-x"``, ``"a..b"``, over 63 characters."""
    text = raw.strip().lower()
    labels = text.split(".")
    if len(text) > _SELECTOR_LIMIT or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(NOT_A_SELECTOR, selector=repr(raw))
    return text


def default_selector(now: datetime) -> str:
    """``warta`` and the year and month the key is made: ``warta202612``."""
    return f"{SELECTOR_PREFIX}{now:%Y%m}"


@dataclass(frozen=True, slots=True)
class DkimRecord:
    """What an agency publishes for one key: a TXT record named ``dns_name``."""

    selector: str
    domain: str
    public_key: str  # base64 of the DER SubjectPublicKeyInfo: the record's ``p=``

    @property
    def dns_name(self) -> str:
        """``warta202612._domainkey.dinkes.jakarta.go.id``"""
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def dns_txt(self) -> str:
        """``v=DKIM1; k=rsa; p=MIIBIjANBgkq...``, one string as DNS consoles take it."""
        return f"v=DKIM1; k=rsa; p={self.public_key}"

    def zone_file_line(self) -> str:
        """The record in a BIND zone file: one TXT string is at most 255 characters, and a
        2048-bit key is longer, so it is split into quoted parts a resolver joins."""
        text = self.dns_txt
        parts = " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))
        return f"{self.dns_name}. IN TXT ( {parts} )"

    def as_dict(self) -> dict[str, str]:
        return {
            "selector": self.selector,
            "domain": self.domain,
            "dns_name": self.dns_name,
            "dns_txt": self.dns_txt,
        }


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The key that signs mail from ``domain`` now: its selector and PEM private key."""

    domain: str
    selector: str
    private_pem: bytes = field(repr=False)
