"""DKIM end to end: `warta agency dkim` prints a record, Warta signs what it sends to a
real SMTP server (aiosmtpd on 127.0.0.1), and dkimpy's own verifier accepts the captured
bytes against that record (a DNS stub); rotation, Warta's own domain, refusals. SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import dkim
import pytest
from click.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.integration.harness import Clock, Harness, make_settings, running_warta, wib
from warta.channels.capture import CaptureHandler, CaptureSmtpServer
from warta.channels.email_dkim import parse_key
from warta.cli import main
from warta.domain.dkim import DkimRecord, SigningKey
from warta.security.crypto import load_keyring
from warta.services import dkim as dkim_keys
from warta.services.admin import create_agency, create_template
from warta.services.rotation import rotate
from warta.store.outbox import Outbox

FROM_DOMAIN = "uji.go.id"  # the harness agency sends from dinas@uji.go.id


class KeepsBytes(CaptureHandler):
    """Captures, and keeps each message exactly as it came over the wire."""

    def __init__(self) -> None:
        super().__init__(Outbox())
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.original_content)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
async def relay() -> AsyncIterator[tuple[KeepsBytes, str]]:
    handler = KeepsBytes()
    async with CaptureSmtpServer(handler) as server:
        yield handler, f"smtp://{server.host}:{server.port}"


@pytest.fixture
async def warta(
    database_url: str, tmp_path: Path, relay: tuple[KeepsBytes, str]
) -> AsyncIterator[Harness]:
    # Keys made elsewhere are picked up on the first send after cache_seconds.
    settings = make_settings(database_url, tmp_path, smtp_url=relay[1], cache_seconds=0.05)
    async with running_warta(settings, clock=Clock(wib(7, 10))) as harness:
        yield harness


def published(*records: DkimRecord | dict[str, str]) -> Callable[..., bytes | None]:
    """A DNS stub with these TXT records, as dkimpy's ``dnsfunc`` looks them up."""
    zone = {}
    for shown in records:
        data = shown.as_dict() if isinstance(shown, DkimRecord) else shown
        zone[f"{data['dns_name']}.".encode()] = data["dns_txt"].encode()

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return zone.get(name)

    return lookup


def cli(database_url: str, tmp_path: Path, *args: str, ok: bool = True) -> tuple[str, str]:
    """``warta ARGS`` against the test's database: (stdout, stderr)."""
    env = {
        "WARTA_DATABASE_URL": database_url,
        "WARTA_VAR_DIR": str(tmp_path),
        "WARTA_SECRET_KEY": TEST_SECRET_KEY,
    }
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result.stdout, result.stderr


async def sent_bytes(h: Harness, relay: KeepsBytes, **send: Any) -> bytes:
    """Send an email through the API and return what the relay received."""
    before = len(relay.received)
    response = await h.send_email(**send)
    assert response.status_code == 201, response.text
    await h.wait_status(response.json()["id"], "delivered")
    assert len(relay.received) == before + 1
    return relay.received[-1]


async def settle(h: Harness) -> None:
    """Let the signer's reload time pass, as another process's key is found."""
    await asyncio.sleep(h.app.settings.cache_seconds * 2)


def selectors(message: bytes) -> list[bytes]:
    headers = [v for n, v in dkim.DKIM(message).headers if n.lower() == b"dkim-signature"]
    return [dkim.util.parse_tag_value(v)[b"s"] for v in headers]


async def test_email_is_signed_with_the_key_the_cli_made_and_verifies(
    warta: Harness,
    relay: tuple[KeepsBytes, str],
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    h, (received, _) = warta, relay
    with caplog.at_level(logging.WARNING, logger="warta.channels.email_dkim"):
        unsigned = await sent_bytes(h, received)
    assert b"DKIM-Signature" not in unsigned
    assert f"no DKIM key for {FROM_DOMAIN}: its email goes out unsigned" in caplog.text
    assert "budi@example.com" not in caplog.text

    out, notes = await asyncio.to_thread(
        cli, database_url, tmp_path, "agency", "dkim", "--agency", str(h.agency_id),
        "--domain", "Uji.GO.id", "--json",
    )  # fmt: skip
    shown = json.loads(out)
    assert shown == {
        "selector": "warta202612",
        "domain": FROM_DOMAIN,
        "dns_name": f"warta202612._domainkey.{FROM_DOMAIN}",
        "dns_txt": shown["dns_txt"],
    }
    assert shown["dns_txt"].startswith("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A")
    assert notes == ""  # the agency's From address is at this domain
    await settle(h)

    signed = await sent_bytes(h, received, address="sri@contoh.id")
    assert selectors(signed) == [b"warta202612"]
    assert dkim.verify(signed, dnsfunc=published(shown))
    assert dkim.verify(signed.replace(b"\r\n", b"\n"), dnsfunc=published(shown))  # as stored
    header, _, body = signed.partition(b"\r\n\r\n")
    assert not dkim.verify(header + b"\r\n\r\n" + body + b"Tambahan.\r\n", dnsfunc=published(shown))
    assert not dkim.verify(signed, dnsfunc=published())  # nothing published: no pass
    # The private key is sealed: the database holds only ciphertext and the public key.
    async with h.app.uow() as uow:
        (row,) = await uow.dkim_keys.of_domain(FROM_DOMAIN)
    assert b"PRIVATE KEY" not in row.private_key_enc
    assert row.public_key in shown["dns_txt"] and row.agency_id == h.agency_id


async def test_rotation_signs_new_mail_with_the_new_selector_and_old_mail_still_verifies(
    warta: Harness, relay: tuple[KeepsBytes, str]
) -> None:
    h, (received, _) = warta, relay
    first = await dkim_keys.make_key(h.app, h.agency_id, FROM_DOMAIN, "s2026a")
    await settle(h)
    old_mail = await sent_bytes(h, received)

    second = await dkim_keys.make_key(h.app, h.agency_id, FROM_DOMAIN, "s2026b")
    assert second.notes == (
        "The key s2026a signs beside s2026b until 2026-12-14 03:00 UTC: publish "
        f"s2026b._domainkey.{FROM_DOMAIN} before then, and keep "
        f"s2026a._domainkey.{FROM_DOMAIN} published for a week after that",
    )
    await settle(h)
    during = await sent_bytes(h, received)
    both = published(first.record, second.record)
    assert selectors(during) == [b"s2026b", b"s2026a"]  # the new one first
    assert dkim.DKIM(during).verify(idx=0, dnsfunc=both)
    # Before the new record is published, the old key's signature still passes.
    assert dkim.DKIM(during).verify(idx=1, dnsfunc=published(first.record))

    assert isinstance(h.app.clock, Clock)
    h.app.clock.advance(timedelta(days=7, minutes=1))  # the overlap is over
    await settle(h)
    after = await sent_bytes(h, received)
    assert selectors(after) == [b"s2026b"]
    assert dkim.verify(after, dnsfunc=published(second.record))
    # Mail signed before the rotation verifies while the old record stays published.
    assert dkim.verify(old_mail, dnsfunc=published(first.record, second.record))
    assert not dkim.verify(old_mail, dnsfunc=published(second.record))

    third = await dkim_keys.make_key(
        h.app, h.agency_id, FROM_DOMAIN, "s2026c", overlap=timedelta(0)
    )
    await settle(h)
    assert selectors(await sent_bytes(h, received)) == [b"s2026c"]
    listed = await dkim_keys.list_keys(h.app, h.agency_id)
    now = h.app.clock()
    assert [(k.record.selector, k.signing(now)) for k in listed] == [
        ("s2026c", True),
        ("s2026b", False),
        ("s2026a", False),
    ]
    assert third.notes == (
        f"The key s2026b no longer signs: keep s2026b._domainkey.{FROM_DOMAIN} published "
        "for a week after that",
    )


async def test_mail_from_wartas_own_domain_is_signed_with_wartas_key(
    warta: Harness, relay: tuple[KeepsBytes, str]
) -> None:
    h, (received, _) = warta, relay
    made = await create_agency(h.app, "Kelurahan Tanpa Alamat")  # sends from Warta's domain
    template = await create_template(
        h.app, made.id, kind="email", name="info", subject="Info", body="Halo"
    )
    h.keys["own"] = made.live_key
    own = await dkim_keys.make_key(h.app, None, None)
    assert own.record.domain == "notifikasi.warta.go.id" and own.notes == ()
    await settle(h)
    signed = await sent_bytes(h, received, key="own", template_id=str(template.id))
    assert b"From: kelurahan.tanpa.alamat@notifikasi.warta.go.id" in signed
    assert dkim.verify(signed, dnsfunc=published(own.record))
    # The agency with its own From domain and no key of its own still goes unsigned.
    assert b"DKIM-Signature" not in await sent_bytes(h, received)


def test_cli_refusals_and_notes(database_url: str, tmp_path: Path) -> None:
    def run(*args: str, ok: bool = True) -> tuple[str, str]:
        return cli(database_url, tmp_path, *args, ok=ok)

    made = json.loads(
        run("agency", "create", "Dinas Kesehatan", "--email-from", "info@dinkes.go.id", "--json")[0]
    )
    other = json.loads(run("agency", "create", "Dinas Lain", "--json")[0])
    dkim_cmd = ("agency", "dkim", "--agency", made["id"])

    out, notes = run(*dkim_cmd, "--selector", "s1")
    assert out.startswith(
        "selector: s1\ndomain: dinkes.go.id\ndns_name: s1._domainkey.dinkes.go.id\n"
    )
    assert 'zone file:\ns1._domainkey.dinkes.go.id. IN TXT ( "v=DKIM1; k=rsa; p=' in out
    assert notes == ""
    assert run(*dkim_cmd, "--selector", "S1", ok=False)[1] == (
        "error: The DKIM selector s1 is taken for dinkes.go.id: choose another\n"
    )
    assert (
        run("agency", "dkim", "--agency", other["id"], "--domain", "dinkes.go.id", ok=False)[1]
        == "error: DKIM keys for dinkes.go.id belong to another agency\n"
    )
    assert run(*dkim_cmd, "--domain", "dinkes go.id", ok=False)[1] == (
        "error: 'dinkes go.id' is not a domain name a From address can use\n"
    )
    assert run(*dkim_cmd, "--selector", "warta_1", ok=False)[1].startswith(
        "error: 'warta_1' is not a DKIM selector"
    )
    _, both = run(*dkim_cmd, "--own", ok=False)
    assert "give either --agency ID or --own (Warta's own domain)" in both
    # A domain the agency does not send from: made, with what it means.
    _, notes = run(*dkim_cmd, "--domain", "kesehatan.go.id", "--json")
    assert notes == (
        "note: This agency's mail is sent from @dinkes.go.id, and mail is signed with the key "
        "of its From domain: this key signs nothing until the From address is at "
        "kesehatan.go.id\n"
    )
    _, notes = run(*dkim_cmd, "--selector", "s2", "--json")
    assert notes.startswith("note: The key s1 signs beside s2 until ")
    listed = json.loads(run("agency", "dkim-list", "--agency", made["id"], "--json")[0])
    assert [(r["domain"], r["selector"], r["retired_at"] is None) for r in listed] == [
        ("dinkes.go.id", "s2", True),
        ("dinkes.go.id", "s1", False),  # retires at the end of the overlap
        ("kesehatan.go.id", listed[2]["selector"], True),
    ]
    assert json.loads(run("agency", "dkim", "--own", "--json")[0])["domain"] == (
        "notifikasi.warta.go.id"
    )
    assert run("agency", "dkim", "--own", "--domain", "dinkes.go.id", ok=False)[1] == (
        "error: DKIM keys for dinkes.go.id belong to another agency\n"
    )


async def test_master_key_rotation_reseals_the_private_keys(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, secret_key="")
    async with running_warta(settings) as h:
        made = await dkim_keys.make_key(h.app, h.agency_id, FROM_DOMAIN)
        assert await rotate(h.app, settings) >= 1
        fresh = load_keyring(
            secret_key="", previous_keys="", key_file=tmp_path / "keys" / "secret.key"
        )
        async with h.app.uow() as uow:
            (row,) = await uow.dkim_keys.of_domain(FROM_DOMAIN)
        pem = fresh.decrypt_bytes(row.private_key_enc, field=dkim_keys.FIELD)
    assert parse_key(SigningKey(FROM_DOMAIN, made.record.selector, pem)).selector == b"warta202612"
