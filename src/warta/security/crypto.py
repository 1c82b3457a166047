"""Personal data at rest: AES-256-GCM field encryption and keyed lookup hashes.

Every personal field (recipient, rendered content, key secrets) is stored as a
ciphertext; equality look-ups use an HMAC of the normalised value, never the plaintext.
Keys live outside the database: ``WARTA_SECRET_KEY`` or a key file.

A master key is 32 random bytes. Two keys are derived from it with HKDF, one to encrypt
and one to hash, so a hash can never be used to decrypt. Rotation: the old master key is
kept as "previous" (still decrypts, and its hashes are still searched) until
``warta keys rotate`` has re-encrypted every row under the new one.

Ciphertext layout: ``b"\\x01" | key id (4 bytes) | nonce (12 bytes) | AES-GCM output``. The
associated data names the field (for example ``b"notification.recipient"``), so a
ciphertext copied into another column does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from warta.errors import ConfigurationError, WartaError

_VERSION = b"\x01"
_HEADER = 1 + 4 + 12


class DecryptionError(WartaError):
    """A ciphertext no configured key can open (wrong key, or tampered data)."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class _Key:
    kid: bytes
    aead: AESGCM
    hash_key: bytes


def _make_key(master: bytes) -> _Key:
    if len(master) != 32:
        raise ConfigurationError("A Warta secret key must be 32 bytes, base64-encoded.")
    return _Key(
        kid=hashlib.sha256(master).digest()[:4],
        aead=AESGCM(_derive(master, b"warta/encrypt/v1")),
        hash_key=_derive(master, b"warta/lookup/v1"),
    )


def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def decode_master_key(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError("A Warta secret key must be base64 text.") from exc


_NONCE = 12


class Keyring:
    """Encrypts with the current key; decrypts and searches with every key it holds."""

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = _make_key(current)
        self._by_kid = {k.kid: k for k in [self._current, *map(_make_key, previous)]}
        self._random, self._used = b"", 0

    def _nonce(self) -> bytes:
        """12 random bytes for AES-GCM. Taken from the OS in 4 KiB draws: a fan-out seals
        a million recipients, and one getrandom call each cost more than the sealing.
        The same source, so the nonces are as unpredictable and as unlikely to repeat."""
        if self._used + _NONCE > len(self._random):
            self._random, self._used = os.urandom(_NONCE * 341), 0
        start, self._used = self._used, self._used + _NONCE
        return self._random[start : self._used]

    def encrypt(self, plaintext: str, *, field: str) -> bytes:
        return self.encrypt_bytes(plaintext.encode(), field=field)

    def decrypt(self, blob: bytes, *, field: str) -> str:
        return self.decrypt_bytes(blob, field=field).decode()

    def encrypt_bytes(self, data: bytes, *, field: str) -> bytes:
        nonce = self._nonce()
        sealed = self._current.aead.encrypt(nonce, data, field.encode())
        return _VERSION + self._current.kid + nonce + sealed

    def decrypt_bytes(self, blob: bytes, *, field: str) -> bytes:
        if len(blob) < _HEADER or blob[:1] != _VERSION:
            raise DecryptionError(f"Not a Warta ciphertext ({field}).")
        key = self._by_kid.get(blob[1:5])
        if key is None:
            raise DecryptionError(f"No configured key opens this {field}; is a key missing?")
        try:
            return key.aead.decrypt(blob[5:17], blob[17:], field.encode())
        except InvalidTag as exc:
            raise DecryptionError(f"The {field} ciphertext was altered.") from exc

    def is_current(self, blob: bytes) -> bool:
        return blob[1:5] == self._current.kid

    def lookup_hash(self, value: str) -> str:
        """Keyed hash of a normalised value, for equality look-ups (current key)."""
        return hmac.new(self._current.hash_key, value.encode(), hashlib.sha256).hexdigest()

    def lookup_hashes(self, value: str) -> list[str]:
        """Hashes under every key, so look-ups work while a rotation is under way."""
        return [
            hmac.new(k.hash_key, value.encode(), hashlib.sha256).hexdigest()
            for k in self._by_kid.values()
        ]


def load_keyring(*, secret_key: str, previous_keys: str, key_file: Path) -> Keyring:
    """From settings if given, else from (or into) the key file outside the database."""
    if secret_key:
        previous = [decode_master_key(k) for k in previous_keys.split(",") if k.strip()]
        return Keyring(decode_master_key(secret_key), previous)
    if not key_file.exists():
        write_key_file(key_file, current=new_master_key(), previous=[])
    data = json.loads(key_file.read_text())
    return Keyring(
        decode_master_key(data["current"]), [decode_master_key(k) for k in data["previous"]]
    )


def write_key_file(path: Path, *, current: str, previous: list[str]) -> None:
    """Atomically (write then rename), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"current": current, "previous": previous}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
