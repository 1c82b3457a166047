"""The unmodified GOV.UK Notify Python client against a real `warta serve` process, and
a scan of everything Warta wrote to disk or logs for the personal data it was given."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from tests.e2e.conftest import WARTA, Server, free_port, wait_until_serving, warta_cli

NAME = "Siti Rahmawati Kusumaningrum"
NIK = "3171234567890123"
PHONE_LOCAL, PHONE_E164 = "0813-9876-5432", "+6281398765432"
EMAIL = "siti.kusumaningrum@contoh-warga.id"


def wait_delivered(client: NotificationsAPIClient, notification_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while True:
        got: dict[str, object] = client.get_notification_by_id(notification_id)
        if got["status"] == "delivered":
            return got
        assert time.monotonic() < deadline, f"still {got['status']}"
        time.sleep(0.1)


def test_notify_client_sends_and_reads_and_no_personal_data_is_left_in_plaintext(
    server: Server, tmp_path: Path
) -> None:
    agency = server.cli("agency", "create", "Dinas Dukcapil Uji", "--sms-sender", "DUKCAPIL")
    sms_body = tmp_path / "sms.txt"
    sms_body.write_text("Yth. ((nama)), NIK ((nik)): KTP Anda siap diambil.", encoding="utf-8")
    email_body = tmp_path / "email.txt"
    email_body.write_text("Halo ((nama)),\n\n# KTP siap\n\nNIK ((nik)).", encoding="utf-8")
    sms_template = server.cli(
        "template",
        "create",
        "--agency",
        agency["id"],
        "--type",
        "sms",
        "--name",
        "KTP siap",
        "--body-file",
        str(sms_body),
    )
    email_template = server.cli(
        "template",
        "create",
        "--agency",
        agency["id"],
        "--type",
        "email",
        "--name",
        "KTP siap (email)",
        "--subject",
        "KTP untuk ((nama))",
        "--body-file",
        str(email_body),
    )
    client = NotificationsAPIClient(agency["live_key"], base_url=server.url)
    personal = {"nama": NAME, "nik": NIK}

    sms = client.send_sms_notification(
        PHONE_LOCAL, sms_template["id"], personalisation=personal, reference="ktp-1"
    )
    email = client.send_email_notification(EMAIL, email_template["id"], personalisation=personal)
    assert sms["content"]["body"] == f"Yth. {NAME}, NIK {NIK}: KTP Anda siap diambil."
    assert email["content"]["subject"] == f"KTP untuk {NAME}"

    got_sms = wait_delivered(client, sms["id"])
    got_email = wait_delivered(client, email["id"])
    assert got_sms["phone_number"] == PHONE_E164
    assert got_email["email_address"] == EMAIL
    every = list(client.get_all_notifications_iterator())
    assert {n["id"] for n in every} == {sms["id"], email["id"]}
    assert client.get_all_notifications(reference="ktp-1")["notifications"][0]["id"] == sms["id"]
    assert client.get_template(sms_template["id"])["version"] == 1
    assert len(client.get_all_templates()["templates"]) == 2
    preview = client.post_template_preview(email_template["id"], personalisation=personal)
    assert preview["subject"] == f"KTP untuk {NAME}"
    assert client.get_received_texts()["received_text_messages"] == []
    with pytest.raises(HTTPError) as refused:
        client.send_sms_notification("0812", sms_template["id"], personalisation=personal)
    assert refused.value.status_code == 400
    assert refused.value.message == [
        {"error": "ValidationError", "message": "phone_number Not enough digits"}
    ]

    outbox = httpx.get(server.url + "/dev/outbox.json").json()
    assert {m["to"] for m in outbox} == {PHONE_E164, EMAIL}

    # SIGTERM: uvicorn finishes the lifespan (workers hand back work), then re-raises the
    # signal, so the exit status is -15 after a clean shutdown.
    assert server.stop() in (0, -15)
    assert "Application shutdown complete" in server.log()
    secrets = [NAME, NIK, PHONE_E164, PHONE_E164[1:], "81398765432", EMAIL, "Rahmawati"]
    for path in sorted(server.var_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret!r} in plaintext in {path.name}"
    log = server.log()
    assert "Application startup complete" in log  # the log was captured at all
    for secret in secrets:
        assert secret not in log, f"{secret!r} in the server log"
    assert (server.var_dir / "keys" / "secret.key").exists()


def test_api_without_workers_and_a_separate_worker_process_deliver(tmp_path: Path) -> None:
    """Scale-out shape: `warta serve --no-workers` accepts, `warta worker` delivers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}
    env.update(
        WARTA_VAR_DIR=str(tmp_path / "var"), WARTA_PORT=str(port), WARTA_SWEEP_INTERVAL="0.2"
    )
    agency = warta_cli(env, "agency", "create", "Dinas Skala")
    body = tmp_path / "sms.txt"
    body.write_text("Antrean ((nomor)) dipanggil.", encoding="utf-8")
    template = warta_cli(
        env,
        "template",
        "create",
        "--agency",
        agency["id"],
        "--type",
        "sms",
        "--name",
        "a",
        "--body-file",
        str(body),
    )
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        api = subprocess.Popen([WARTA, "serve", "--no-workers"], env=env, stdout=out, stderr=out)
    worker = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, api, log)
        client = NotificationsAPIClient(agency["live_key"], base_url=url)
        sent = client.send_sms_notification(
            "081234567890", template["id"], personalisation={"nomor": "12"}
        )
        time.sleep(1)
        assert client.get_notification_by_id(sent["id"])["status"] == "created"  # no worker yet
        worker = subprocess.Popen(
            [WARTA, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert wait_delivered(client, sent["id"])["status"] == "delivered"
    finally:
        for process in (api, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
