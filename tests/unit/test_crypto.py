"""Field encryption and lookup hashes (warta.security.crypto)."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.errors import ConfigurationError
from warta.security.crypto import DecryptionError, Keyring, decode_master_key, load_keyring

KEY_A = b"a" * 32
KEY_B = b"b" * 32


@given(st.text())
def test_round_trip_any_text(text: str) -> None:
    ring = Keyring(KEY_A)
    assert ring.decrypt(ring.encrypt(text, field="f"), field="f") == text


def test_ciphertext_hides_the_value_and_differs_each_time() -> None:
    ring = Keyring(KEY_A)
    one, two = ring.encrypt("+6281234567890", field="f"), ring.encrypt("+6281234567890", field="f")
    assert one != two
    assert b"6281234567890" not in one


def test_ciphertext_is_bound_to_its_field() -> None:
    ring = Keyring(KEY_A)
    blob = ring.encrypt("budi@example.com", field="notification.recipient")
    with pytest.raises(DecryptionError, match="altered"):
        ring.decrypt(blob, field="received.user_number")


def test_tampering_is_detected() -> None:
    ring = Keyring(KEY_A)
    blob = bytearray(ring.encrypt("rahasia", field="f"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError, match="altered"):
        ring.decrypt(bytes(blob), field="f")


@pytest.mark.parametrize(
    "blob", [b"", b"\x02" + b"x" * 40, b"\x01abc"], ids=["empty", "version", "short"]
)
def test_garbage_is_refused(blob: bytes) -> None:
    with pytest.raises(DecryptionError, match="Not a Warta ciphertext"):
        Keyring(KEY_A).decrypt(blob, field="f")


def test_rotation_old_key_still_reads_and_hashes_match_during_rotation() -> None:
    old = Keyring(KEY_A)
    blob = old.encrypt("3171234567890123", field="nik")
    rotated = Keyring(KEY_B, previous=[KEY_A])
    assert rotated.decrypt(blob, field="nik") == "3171234567890123"
    assert not rotated.is_current(blob)
    assert rotated.is_current(rotated.encrypt("x", field="nik"))
    assert old.lookup_hash("3171234567890123") in rotated.lookup_hashes("3171234567890123")
    with pytest.raises(DecryptionError, match="No configured key"):
        Keyring(KEY_B).decrypt(blob, field="nik")


def test_lookup_hash_is_keyed_and_stable() -> None:
    assert Keyring(KEY_A).lookup_hash("x") == Keyring(KEY_A).lookup_hash("x")
    assert Keyring(KEY_A).lookup_hash("x") != Keyring(KEY_B).lookup_hash("x")
    assert len(Keyring(KEY_A).lookup_hash("x")) == 64


@pytest.mark.parametrize(
    ("text", "message"),
    [("not base64!", "must be base64"), (base64.b64encode(b"short").decode(), "must be 32 bytes")],
    ids=["not-base64", "wrong-length"],
)
def test_bad_master_keys_are_configuration_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Keyring(decode_master_key(text))


def test_key_file_is_made_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "secret.key"
    first = load_keyring(secret_key="", previous_keys="", key_file=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_keyring(secret_key="", previous_keys="", key_file=path)
    assert again.decrypt(first.encrypt("x", field="f"), field="f") == "x"
    assert set(json.loads(path.read_text())) == {"current", "previous"}


def test_setting_overrides_key_file(tmp_path: Path) -> None:
    key = base64.b64encode(KEY_A).decode()
    ring = load_keyring(secret_key=key, previous_keys="", key_file=tmp_path / "none")
    assert not (tmp_path / "none").exists()
    assert ring.lookup_hash("x") == Keyring(KEY_A).lookup_hash("x")
