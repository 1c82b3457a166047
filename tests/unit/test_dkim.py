"""DKIM: domains and selectors, the DNS record an agency publishes, and signatures that
dkimpy's own verifier accepts against that record (a DNS stub, no network)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from warta.channels.email_dkim import DkimSigner, parse_key, sign_with, signature
from warta.channels.email_smtp import build_email
from warta.domain import dkim as rules
from warta.domain.channels import OutboundMessage
from warta.domain.dkim import DkimRecord, SigningKey
from warta.errors import InvalidInput, StoreUnavailable
from warta.security.dkim_keys import DkimKeyPair, new_key_pair

DOMAIN = "dinkes.jakarta.go.id"
RECIPIENT = "budi.santoso@contoh.co.id"


@pytest.fixture(scope="module")
def pairs() -> list[DkimKeyPair]:
    return [new_key_pair() for _ in range(2)]


def email(
    sender: str = f"Dinas Kesehatan DKI <noreply@{DOMAIN}>",
    headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    message = OutboundMessage(
        notification_id="2f0c7a52-0000-4000-8000-000000000001",
        attempt=1,
        channel="email",
        to=RECIPIENT,
        sender=sender,
        subject="Jadwal vaksinasi Anda — Kamis",
        body="Halo Budi,\n\nJadwal vaksinasi: Kamis 09.00 WIB.\n",
        html="<p>Halo <strong>Budi</strong></p>",
        reply_to=f"layanan@{DOMAIN}",
        headers=headers,
    )
    return build_email(message)[0]


def published(*records: DkimRecord) -> Callable[..., bytes | None]:
    """A DNS stub holding these TXT records, as dkimpy's ``dnsfunc`` asks for them."""
    zone = {f"{r.dns_name}.".encode(): r.dns_txt.encode() for r in records}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return zone.get(name)

    return lookup


def record(pair: DkimKeyPair, selector: str = "warta202612", domain: str = DOMAIN) -> DkimRecord:
    return DkimRecord(selector, domain, pair.public_key)


def key(pair: DkimKeyPair, selector: str = "warta202612", domain: str = DOMAIN) -> SigningKey:
    return SigningKey(domain, selector, pair.private_pem)


def tags(signed: bytes, index: int = 0) -> dict[bytes, bytes]:
    headers = [v for n, v in dkim.DKIM(signed).headers if n.lower() == b"dkim-signature"]
    return {k: b"".join(v.split()) for k, v in dkim.util.parse_tag_value(headers[index]).items()}


# -- names and records ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("dinkes.jakarta.go.id", "dinkes.jakarta.go.id"),
        (" Dinkes.Jakarta.GO.ID. ", "dinkes.jakarta.go.id"),
        ("dinas-ñ.id", "xn--dinas--1wa.id"),
        ("a-b.c1.id", "a-b.c1.id"),
    ],
    ids=["plain", "case-space-trailing-dot", "idna", "hyphen-digit"],
)
def test_sending_domain_is_what_the_from_header_carries(raw: str, expected: str) -> None:
    assert rules.sending_domain(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "localhost",
        "budi@contoh.id",
        "contoh..id",
        "-contoh.id",
        "contoh-.id",
        "contoh.id/x",
        "contoh id.id",
        "contoh.123",
        "_dmarc.contoh.id",
        "",
        "a." * 127 + "id",
    ],
    ids=[
        "one-label",
        "address",
        "empty-label",
        "leading-hyphen",
        "trailing-hyphen",
        "path",
        "space",
        "numeric-tld",
        "underscore",
        "empty",
        "too-long",
    ],
)
def test_sending_domain_refuses_junk(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.sending_domain(raw)
    assert str(caught.value) == f"{raw!r} is not a domain name a From address can use"


@pytest.mark.parametrize(
    ("address", "expected"),
    [("info@Dinkes.Jakarta.go.id", DOMAIN), ("info", None), ("info@localhost", None)],
    ids=["domain", "no-at", "unusable"],
)
def test_address_domain(address: str, expected: str | None) -> None:
    assert rules.address_domain(address) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Warta202612", "warta202612"), ("s1.2026", "s1.2026"), ("a-1", "a-1")],
    ids=["upper", "dotted", "hyphen"],
)
def test_selector(raw: str, expected: str) -> None:
    assert rules.selector(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "warta_1", "-x", "a..b", "x" * 64, "a b"],
    ids=["empty", "underscore", "hyphen-first", "empty-label", "too-long", "space"],
)
def test_selector_refuses_junk(raw: str) -> None:
    with pytest.raises(InvalidInput, match="is not a DKIM selector"):
        rules.selector(raw)


def test_default_selector_names_the_month() -> None:
    assert rules.default_selector(datetime(2026, 12, 5, tzinfo=UTC)) == "warta202612"
    assert rules.default_selector(datetime(2027, 1, 31, tzinfo=UTC)) == "warta202701"


def test_new_key_pair_is_rsa_2048_and_the_record_carries_its_public_key(
    pairs: list[DkimKeyPair],
) -> None:
    pair = pairs[0]
    private = serialization.load_pem_private_key(pair.private_pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    assert pair.private_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")  # PKCS#1
    public = serialization.load_der_public_key(base64.b64decode(pair.public_key))
    assert public.public_numbers() == private.public_key().public_numbers()
    assert "PRIVATE" not in repr(pair) and "PRIVATE" not in repr(key(pair))
    shown = record(pair)
    assert shown.as_dict() == {
        "selector": "warta202612",
        "domain": DOMAIN,
        "dns_name": f"warta202612._domainkey.{DOMAIN}",
        "dns_txt": f"v=DKIM1; k=rsa; p={pair.public_key}",
    }


def test_zone_file_line_splits_the_record_into_255_character_strings(
    pairs: list[DkimKeyPair],
) -> None:
    shown = record(pairs[0])
    line = shown.zone_file_line()
    assert line.startswith(f"warta202612._domainkey.{DOMAIN}. IN TXT ( ")
    parts = line.split('"')[1::2]
    assert len(parts) == 2 and all(len(p) <= 255 for p in parts)
    assert "".join(parts) == shown.dns_txt


# -- signatures ------------------------------------------------------------------------


def test_signature_is_exactly_dkimpys_own(
    pairs: list[DkimKeyPair], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the RSA step is OpenSSL's: the header is byte for byte what dkim.sign makes."""
    monkeypatch.setattr(dkim.time, "time", lambda: 1796500000)
    message = email(headers=(("List-Unsubscribe", "<https://warta.test/u/x>"),))
    ours = signature(message, parse_key(key(pairs[0])))
    headers = [
        b"from", b"from", b"to", b"subject", b"date", b"message-id", b"reply-to",
        b"mime-version", b"content-type", b"list-unsubscribe",
    ]  # fmt: skip
    theirs = dkim.sign(
        message,
        b"warta202612",
        DOMAIN.encode(),
        pairs[0].private_pem,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=headers,
        linesep=b"\r\n",
    )
    assert ours == theirs


def test_signed_email_verifies_against_the_published_record(pairs: list[DkimKeyPair]) -> None:
    signed = sign_with(email(), [parse_key(key(pairs[0]))])
    assert dkim.verify(signed, dnsfunc=published(record(pairs[0])))
    found = tags(signed)
    assert found[b"d"] == DOMAIN.encode() and found[b"s"] == b"warta202612"
    assert found[b"c"] == b"relaxed/relaxed" and found[b"a"] == b"rsa-sha256"
    assert found[b"h"] == (
        b"from:from:to:subject:date:message-id:reply-to:mime-version:content-type"
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m + b"Klik tautan ini.\r\n",
        lambda m: m.replace(b"Subject: ", b"Subject: PENTING "),
        lambda m: m.replace(RECIPIENT.encode(), b"orang.lain@contoh.co.id"),
        lambda m: b"From: Penipu <x@dinkes.jakarta.go.id>\r\n" + m,
    ],
    ids=["body-appended", "subject", "to", "second-from"],
)
def test_a_changed_email_fails(pairs: list[DkimKeyPair], change: Callable[[bytes], bytes]) -> None:
    signed = sign_with(email(), [parse_key(key(pairs[0]))])
    assert not dkim.verify(change(signed), dnsfunc=published(record(pairs[0])))


def test_relaxed_canonicalisation_survives_a_relay_refolding_headers(
    pairs: list[DkimKeyPair],
) -> None:
    signed = sign_with(email(), [parse_key(key(pairs[0]))])
    refolded = signed.replace(b"Subject: ", b"Subject:   ")
    assert dkim.verify(refolded, dnsfunc=published(record(pairs[0])))


def test_list_unsubscribe_is_signed_when_present(pairs: list[DkimKeyPair]) -> None:
    headers = (
        ("List-Unsubscribe", "<https://warta.test/u/abc>, <mailto:u+abc@bounces.warta.test>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )
    signed = sign_with(email(headers=headers), [parse_key(key(pairs[0]))])
    assert tags(signed)[b"h"].endswith(b":list-unsubscribe:list-unsubscribe-post")
    assert dkim.verify(signed, dnsfunc=published(record(pairs[0])))
    stripped = signed.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", b"")
    assert not dkim.verify(stripped, dnsfunc=published(record(pairs[0])))


def test_two_keys_give_two_signatures_newest_first_each_verifying(
    pairs: list[DkimKeyPair],
) -> None:
    new, old = key(pairs[1], "warta202701"), key(pairs[0], "warta202612")
    signed = sign_with(email(), [parse_key(new), parse_key(old)])
    dns = published(record(pairs[1], "warta202701"), record(pairs[0], "warta202612"))
    assert tags(signed, 0)[b"s"] == b"warta202701" and tags(signed, 1)[b"s"] == b"warta202612"
    assert dkim.DKIM(signed).verify(idx=0, dnsfunc=dns)
    assert dkim.DKIM(signed).verify(idx=1, dnsfunc=dns)


# -- the signer: which key, and when it reloads ---------------------------------------


class Loader:
    def __init__(self, keys: Sequence[SigningKey]) -> None:
        self.keys: Sequence[SigningKey] = keys
        self.calls = 0
        self.fail = False

    async def __call__(self) -> Sequence[SigningKey]:
        self.calls += 1
        if self.fail:
            raise StoreUnavailable("database unavailable")
        return self.keys


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_signer_picks_the_key_of_the_from_domain(pairs: list[DkimKeyPair]) -> None:
    other = "bapenda.jabarprov.go.id"
    signer = DkimSigner(Loader([key(pairs[0]), key(pairs[1], "s2", other)]), refresh_seconds=60)
    ours = await signer.sign(email(), DOMAIN)
    theirs = await signer.sign(email(f"Bapenda <info@{other}>"), other)
    assert tags(ours)[b"d"] == DOMAIN.encode()
    assert tags(theirs)[b"d"] == other.encode() and tags(theirs)[b"s"] == b"s2"
    assert signer.domains == {DOMAIN, other}


async def test_no_key_sends_unsigned_and_warns_once_without_addresses(
    pairs: list[DkimKeyPair], caplog: pytest.LogCaptureFixture
) -> None:
    signer = DkimSigner(Loader([key(pairs[0])]), refresh_seconds=60)
    message = email("Dinas <noreply@tanpa-kunci.go.id>")
    with caplog.at_level(logging.WARNING, logger="warta.channels.email_dkim"):
        assert await signer.sign(message, "tanpa-kunci.go.id") == message
        assert await signer.sign(message, "tanpa-kunci.go.id") == message
    assert [r.getMessage() for r in caplog.records] == [
        "no DKIM key for tanpa-kunci.go.id: its email goes out unsigned"
    ]
    assert RECIPIENT not in caplog.text and "noreply@" not in caplog.text


async def test_signer_reloads_after_its_time_and_keeps_keys_when_a_reload_fails(
    pairs: list[DkimKeyPair], caplog: pytest.LogCaptureFixture
) -> None:
    loader, ticks = Loader([]), Ticks()
    signer = DkimSigner(loader, refresh_seconds=5, monotonic=ticks)
    await signer.reload()
    loader.keys = [key(pairs[0])]  # made in another process meanwhile
    ticks.now += 4
    assert b"DKIM-Signature" not in await signer.sign(email(), DOMAIN)
    ticks.now += 1
    assert (await signer.sign(email(), DOMAIN)).startswith(b"DKIM-Signature: ")
    assert loader.calls == 2
    loader.fail = True
    ticks.now += 5
    with caplog.at_level(logging.WARNING):
        assert (await signer.sign(email(), DOMAIN)).startswith(b"DKIM-Signature: ")
    assert "could not reload the DKIM keys, keeping 1" in caplog.text
    assert loader.calls == 3


async def test_an_unreadable_key_is_skipped_and_the_others_sign(
    pairs: list[DkimKeyPair], caplog: pytest.LogCaptureFixture
) -> None:
    broken = SigningKey("rusak.go.id", "s1", b"-----BEGIN RSA PRIVATE KEY-----\nxx\n")
    signer = DkimSigner(Loader([broken, key(pairs[0])]), refresh_seconds=60)
    with caplog.at_level(logging.ERROR):
        await signer.reload()
    assert signer.domains == {DOMAIN}
    assert "the DKIM key s1 of rusak.go.id is unreadable" in caplog.text
