"""The CLI contract the README and other tools rely on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.integration.harness import make_settings
from warta.bootstrap import bootstrap
from warta.cli import main
from warta.devpeers.telegram import BotApi
from warta.store.models import PlatformSecret


@pytest.fixture
def run(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        "WARTA_DATABASE_URL": database_url,
        "WARTA_VAR_DIR": str(tmp_path / "var"),
        "WARTA_SECRET_KEY": TEST_SECRET_KEY,
    }

    def invoke(*args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return invoke


def test_help_lists_every_command() -> None:
    output = CliRunner().invoke(main, ["--help"]).output
    commands = ("serve", "migrate", "demo", "agency", "key", "template", "keys", "citizen")
    for command in (*commands, "channel"):
        assert f"  {command} " in output or f"  {command}\n" in output


def test_agency_keys_and_templates(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made = json.loads(
        run(
            "agency",
            "create",
            "Badan Pendapatan Daerah",
            "--sms-sender",
            "BAPENDA",
            "--email-from",
            "info@bapenda.go.id",
            "--json",
        )
    )
    assert set(made) == {"id", "live_key", "team_key", "test_key"}
    for name in ("live_key", "team_key", "test_key"):
        assert made[name][-73:-37] == made["id"]  # Notify's key layout
    assert run("agency", "create", "Badan Pendapatan Daerah", ok=False).startswith(
        "error: An agency called 'Badan Pendapatan Daerah' already exists"
    )
    # A sender id is one agency's, whatever its case, and WARTA is the platform's.
    assert run("agency", "create", "Bapenda Kota", "--sms-sender", "bapenda", ok=False) == (
        "error: The SMS sender id BAPENDA is already another agency's\n"
    )
    assert run("agency", "create", "Bapenda Kota", "--sms-sender", "Warta", ok=False) == (
        "error: The SMS sender id WARTA is Warta's own\n"
    )
    assert "Bapenda Kota" not in run("agency", "list")

    key = json.loads(
        run(
            "key",
            "create",
            "--agency",
            made["id"],
            "--type",
            "team",
            "--name",
            "Sistem Pajak",
            "--json",
        )
    )
    assert key["key"].startswith(f"sistem_pajak-{made['id']}-")
    listed = json.loads(run("key", "list", "--agency", made["id"], "--json"))
    assert {k["type"] for k in listed} == {"normal", "team", "test"}
    assert len(listed) == 4
    assert "secret" not in json.dumps(listed).lower()
    run("key", "revoke", key["id"])
    revoked = [
        k
        for k in json.loads(run("key", "list", "--agency", made["id"], "--json"))
        if k["id"] == key["id"]
    ]
    assert revoked[0]["revoked_at"] is not None

    body = tmp_path / "body.txt"
    body.write_text("Pajak ((nomor polisi)) jatuh tempo ((tanggal)).", encoding="utf-8")
    template = json.loads(
        run(
            "template",
            "create",
            "--agency",
            made["id"],
            "--type",
            "sms",
            "--name",
            "Pajak",
            "--body-file",
            str(body),
            "--json",
        )
    )
    assert template["version"] == 1
    body.write_text("Pajak kendaraan ((nomor polisi)): ((tanggal)).", encoding="utf-8")
    edited = json.loads(
        run(
            "template",
            "update",
            template["id"],
            "--agency",
            made["id"],
            "--body-file",
            str(body),
            "--json",
        )
    )
    assert edited == {"id": template["id"], "version": 2}
    bad = tmp_path / "bad.txt"
    bad.write_text("   ", encoding="utf-8")
    assert "A template needs a body" in run(
        "template",
        "create",
        "--agency",
        made["id"],
        "--type",
        "sms",
        "--name",
        "x",
        "--body-file",
        str(bad),
        ok=False,
    )


def test_demo_is_idempotent_and_prints_working_keys(run) -> None:  # type: ignore[no-untyped-def]
    first = json.loads(run("demo", "--json"))
    second = json.loads(run("demo", "--json"))
    # The demo admin's password is new at every run (printed for the newcomer).
    assert first.pop("console_password") != second.pop("console_password")
    assert first == second
    assert {
        "agency_id",
        "live_key",
        "team_key",
        "test_key",
        "email_template_id",
        "sms_template_id",
    } <= set(first)


def test_citizen_import_reports_bad_rows_by_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agency = json.loads(run("agency", "create", "Dinsos Kota", "--json"))
    csv_file = tmp_path / "warga.csv"
    csv_file.write_text(
        "nik,name,region_code,phone,email,channels\n"
        "3273014101900002,Sri Wahyuni,32.73.01.1001,0812-3456-7890,,sms\n"
        "12345,Budi,32.73,0812-1111-2222,,\n"
        "3171020202850003,Agus,99.01,,agus@contoh.id,email;sms\n"
        "3171020202850004,Dewi,31.71,0813-2222-3333,dewi@contoh.id,email;sms\n",
        encoding="utf-8",
    )
    report = tmp_path / "laporan.csv"
    output = run(
        "citizen", "import", "--agency", agency["id"], str(csv_file),
        "--trust-contacts", "--report", str(report), "--json",
        ok=False,
    )  # fmt: skip
    summary = json.loads(output[output.index("{") :])
    assert (summary["created"], summary["linked"], summary["error"]) == (2, 0, 2)
    assert [e["line"] for e in summary["errors"]] == [3, 4]
    assert "nik must be 16 digits" in summary["errors"][0]["message"]
    assert "99 is not an Indonesian province" in summary["errors"][1]["message"]
    lines = report.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "line,outcome,message,citizen_id" and len(lines) == 5
    # Importing again links instead of duplicating.
    again = run("citizen", "import", "--agency", agency["id"], str(csv_file), "--json", ok=False)
    assert json.loads(again[again.index("{") :])["linked"] == 2


def test_citizen_import_refuses_a_file_without_the_needed_columns(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agency = json.loads(run("agency", "create", "Dinsos Kab", "--json"))
    csv_file = tmp_path / "salah.csv"
    csv_file.write_text("nama,telepon\nSri,0812\n", encoding="utf-8")
    output = run("citizen", "import", "--agency", agency["id"], str(csv_file), ok=False)
    assert "lacks the column(s) nik, name, region_code" in output


async def test_chat_credentials_are_stored_sealed_and_used_on_the_next_start(
    database_url: str, tmp_path: Path
) -> None:
    async with BotApi().running() as bot:
        token_file = tmp_path / "token"
        token_file.write_text(bot.token + "\n")
        env = {
            "WARTA_DATABASE_URL": database_url,
            "WARTA_VAR_DIR": str(tmp_path / "var"),
            "WARTA_SECRET_KEY": TEST_SECRET_KEY,
            "WARTA_TELEGRAM_URL": bot.url,
        }
        runner = CliRunner()
        stored = await asyncio.to_thread(
            runner.invoke,
            main,
            ["channel", "set-telegram", "--token-file", str(token_file), "--username", "@WartaBot"],
            env=env,
        )
        assert stored.exit_code == 0, stored.output
        assert "telegram credentials stored (encrypted)" in stored.output
        listed = await asyncio.to_thread(runner.invoke, main, ["channel", "list"], env=env)
        assert "telegram\tset" in listed.output
        assert bot.token not in listed.output

        settings = make_settings(database_url, tmp_path / "var", telegram_url=bot.url)
        app = await bootstrap(settings, channels=None)
        try:
            telegram = app.channels["chat"].services["telegram"]  # type: ignore[attr-defined]
            assert telegram.config.username == "WartaBot"
            bot.chats.add(4242)
            await telegram.reply("4242", "Halo")
            assert [s.text for s in bot.sent] == ["Halo"]
            async with app.uow() as uow:
                sealed = await uow.session.get(PlatformSecret, "telegram")
            assert sealed is not None and bot.token.encode() not in sealed.value_enc
        finally:
            await app.aclose()
