"""DKIM signatures on outgoing email (RFC 6376), for ``SmtpChannel`` to apply to the exact
bytes it sends.

``DkimSigner`` holds the signing keys by domain and picks them by the From address's
domain, so ``d=`` aligns with From as DMARC requires. No key for a domain: the email goes
unsigned, with one warning per domain per process. The keys come from a loader (the
store, through ``services.dkim``), read at start and again on the first send after
``refresh_seconds`` (``WARTA_CACHE_SECONDS``), so a key made with ``warta agency dkim`` in
another process signs within that time; a failed reload keeps the keys it had.

During a rotation a domain has two live keys for a while (``services.dkim``): each signs,
the newest first, and a receiver passes the message if either signature verifies.

dkimpy builds the signature (canonicalisation relaxed/relaxed, the header list, the
tag list and its folding); only its RSA step is replaced: dkimpy does the modular
exponentiation in pure Python, 6 ms of CPU a message with a 2048-bit key on the event
loop, where OpenSSL (through ``cryptography``) takes 0.25 ms. ``tests/unit/test_dkim.py``
checks the result is byte for byte what ``dkim.sign`` makes, and verifies with dkimpy.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from warta.domain.dkim import SigningKey
from warta.errors import ConfigurationError, WartaError

log = logging.getLogger(__name__)

#: Signed when present, in this order. From twice: the second, absent, instance signs
#: "no further From", so a From added on the way in breaks the signature (oversigning).
SIGNED_HEADERS = (
    b"from",
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
CANONICALIZE = (b"relaxed", b"relaxed")

KeyLoader = Callable[[], Awaitable[Sequence[SigningKey]]]


@dataclass(frozen=True, slots=True)
class _Key:
    selector: bytes
    domain: bytes
    pem: bytes
    rsa: rsa.RSAPrivateKey


def parse_key(key: SigningKey) -> _Key:
    """A stored key made ready to sign; ``ConfigurationError`` if it is not an RSA key."""
    try:
        loaded = serialization.load_pem_private_key(key.private_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"the DKIM key {key.selector} of {key.domain} is unreadable"
        ) from exc
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ConfigurationError(f"the DKIM key {key.selector} of {key.domain} is not RSA")
    return _Key(key.selector.encode(), key.domain.encode(), key.private_pem, loaded)


def signature(email: bytes, key: _Key) -> bytes:
    """The ``DKIM-Signature:`` header field (CRLF-terminated) for ``email`` with ``key``."""
    signer = _OpenSslDkim(email, key.rsa)
    present = {name.lower() for name, _ in signer.headers}
    headers = [name for name in SIGNED_HEADERS if name in present or name == b"from"]
    header: bytes = signer.sign(
        key.selector, key.domain, key.pem, canonicalize=CANONICALIZE, include_headers=headers
    )
    return header


def sign_with(email: bytes, keys: Sequence[_Key]) -> bytes:
    """``email`` with one signature per key on top, the first key's first."""
    return b"".join(signature(email, key) for key in keys) + email


class _OpenSslDkim(dkim.DKIM):
    """dkimpy's signer with the RSA step done by OpenSSL. ``gen_header`` is dkimpy's own
    (1.1.8, its non-``standardize`` branch) but for the line marked below."""

    def __init__(self, message: bytes, key: rsa.RSAPrivateKey) -> None:
        super().__init__(message, linesep=b"\r\n")
        self._rsa = key

    def gen_header(
        self,
        fields: list[tuple[bytes, bytes]],
        include_headers: Sequence[bytes],
        canon_policy: Any,
        header_name: bytes,
        pk: Any,
        standardize: bool = False,
    ) -> bytes:
        if standardize or self.signature_algorithm != b"rsa-sha256":
            raise ConfigurationError("Warta signs rsa-sha256 only")
        header_value = b"; ".join(b"=".join(x) for x in fields)
        header_value = dkim.fold(header_value, namelen=len(header_name), linesep=b"\r\n")
        header_value = dkim.RE_BTAG.sub(b"\\1", header_value)
        header = (header_name, b" " + header_value)
        h = dkim.HashThrough(self.hasher(), self.debug_content)
        headers = canon_policy.canonicalize_headers(self.headers)
        self.signed_headers = dkim.hash_headers(
            h, canon_policy, headers, include_headers, header, dict(fields)
        )
        # The one change: OpenSSL signs the digest (dkimpy: RSASSA_PKCS1_v1_5_sign(h, pk)).
        signed = self._rsa.sign(h.digest(), padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        at = next(i for i, (name, _) in enumerate(fields) if name == b"b")
        fields[at] = (b"b", base64.b64encode(signed))
        header_value = b"; ".join(b"=".join(x) for x in fields) + self.linesep
        folded: bytes = dkim.fold(header_value, namelen=len(header_name), linesep=self.linesep)
        return folded


class DkimSigner:
    """Signs each email with the keys of its From domain, reloading them now and then."""

    def __init__(
        self,
        load: KeyLoader,
        *,
        refresh_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load, self._refresh, self._monotonic = load, refresh_seconds, monotonic
        self._keys: dict[str, list[_Key]] = {}
        self._parsed: dict[tuple[str, str, bytes], _Key] = {}
        self._loaded_at: float | None = None
        self._reloading: asyncio.Lock = asyncio.Lock()
        self._warned: set[str] = set()

    @property
    def domains(self) -> frozenset[str]:
        """The domains whose mail is signed now."""
        return frozenset(self._keys)

    async def reload(self) -> None:
        """Read the keys again; on failure keep the ones held (and try on a later send)."""
        async with self._reloading:
            self._loaded_at = self._monotonic()
            try:
                loaded = await self._load()
            except WartaError as exc:
                log.warning("could not reload the DKIM keys, keeping %d: %s", len(self._keys), exc)
                return
            keys: dict[str, list[_Key]] = {}
            parsed: dict[tuple[str, str, bytes], _Key] = {}
            for key in loaded:  # newest first per domain, as the loader gives them
                cache_key = (key.domain, key.selector, key.private_pem)
                try:
                    ready = self._parsed.get(cache_key) or parse_key(key)
                except ConfigurationError as exc:
                    log.error("%s: mail from %s is signed without it", exc, key.domain)
                    continue
                parsed[cache_key] = ready
                keys.setdefault(key.domain, []).append(ready)
            self._keys, self._parsed = keys, parsed

    def _stale(self) -> bool:
        return self._loaded_at is None or self._monotonic() - self._loaded_at >= self._refresh

    async def sign(self, email: bytes, from_domain: str) -> bytes:
        """``email`` signed with the keys of ``from_domain`` (lower case, IDNA), or as it
        was when there are none."""
        if self._stale() and not self._reloading.locked():
            await self.reload()  # one reload at a time; sends meanwhile use the old keys
        keys = self._keys.get(from_domain)
        if not keys:
            if from_domain not in self._warned:
                self._warned.add(from_domain)
                log.warning("no DKIM key for %s: its email goes out unsigned", from_domain)
            return email
        return sign_with(email, keys)
