"""The console's templates and send pages, as a browser without JavaScript uses them:
write a template and preview it per channel (SMS parts and encoding), save versions and
compare them, send one message for real, as a test, or to oneself; and roles without the
permission change nothing."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from tests.integration.console import Staffer, sign_in, text_of
from tests.integration.harness import Harness, recording
from warta.domain.channels import Channel
from warta.store.models import Notification, Template, TemplateVersion
from warta.store.outbox import Outbox


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def counts(harness: Harness) -> tuple[int, int, int]:
    async with harness.app.uow() as uow:
        session = uow.session
        templates = await session.scalar(select(func.count()).select_from(Template))
        versions = await session.scalar(select(func.count()).select_from(TemplateVersion))
        sent = await session.scalar(select(func.count()).select_from(Notification))
    return int(templates or 0), int(versions or 0), int(sent or 0)


def created_id(location: str) -> uuid.UUID:
    found = re.fullmatch(r"/console/templates/([0-9a-f-]{36})\?done=saved", location)
    assert found, location
    return uuid.UUID(found.group(1))


async def test_an_editor_writes_previews_saves_edits_and_compares_versions(
    harness: Harness,
) -> None:
    editor = await sign_in(harness, "editor")
    form = await editor.client.get("/console/templates/new?lang=en")
    assert form.status_code == 200 and 'name="action" value="preview"' in form.text

    gsm = "Halo ((nama)), " + "a" * 185  # 200 characters as written
    preview = await editor.post(
        "/console/templates/new",
        {"kind": "sms", "name": "Antrean", "body": gsm, "action": "preview"},
    )
    shown = text_of(preview.text)
    assert preview.status_code == 200
    assert "Length: 200 characters. SMS parts: 2. Encoding: GSM-7." in shown
    assert '<mark class="placeholder">((nama))</mark>' in preview.text
    assert "From: DINASUJI" in shown
    assert (await counts(harness))[0] == 2  # the harness's two: a preview saves nothing

    # The fragment console.js asks for as people type: an emoji makes it UCS-2.
    fragment = await editor.client.post(
        "/console/templates/preview",
        data={"kind": "sms", "name": "x", "body": "Terima kasih 🙏"},
        headers={"X-CSRF-Token": await editor.csrf()},
    )
    assert fragment.status_code == 200 and "<main" not in fragment.text
    assert "SMS parts: 1. Encoding: UCS-2." in text_of(fragment.text)

    saved = await editor.post(
        "/console/templates/new",
        {
            "kind": "sms",
            "name": "Antrean",
            "body": "Halo ((nama)).\nDatang jam 8.",
            "action": "save",
        },
    )
    assert saved.status_code == 303
    template_id = created_id(saved.headers["location"])
    listing = text_of((await editor.client.get("/console/templates")).text)
    assert "Antrean Text message (SMS)" in listing

    edited = await editor.post(
        f"/console/templates/{template_id}/edit",
        {
            "kind": "sms",
            "name": "Antrean",
            "body": "Halo ((nama)).\r\nDatang jam 9.",
            "action": "save",
        },
    )
    assert edited.headers["location"] == f"/console/templates/{template_id}?done=saved"
    page = text_of((await editor.client.get(edited.headers["location"])).text)
    assert "Saved." in page and "Compare version 1 with 2" in page

    diff = await editor.client.get(f"/console/templates/{template_id}/diff?from=1&to=2")
    assert diff.status_code == 200
    assert "<del>Datang jam 8.</del>" in diff.text and "<ins>Datang jam 9.</ins>" in diff.text
    rows = text_of(diff.text)
    assert "− Removed 2 Datang jam 8." in rows and "+ Added 2 Datang jam 9." in rows
    assert "Unchanged 1 1 Halo ((nama))." in rows

    again = await editor.post(
        f"/console/templates/{template_id}/edit",
        {"name": "Antrean", "body": "Halo ((nama)).\nDatang jam 9.", "action": "save"},
    )
    assert again.headers["location"].endswith("?done=unchanged")
    assert await counts(harness) == (3, 4, 0)  # two versions of the new one, no third


@pytest.mark.parametrize(
    ("fields", "alert"),
    [
        pytest.param(
            {"kind": "email", "name": "Surat", "subject": "", "body": "Halo"},
            "An email template needs a subject",
            id="email-without-subject",
        ),
        pytest.param(
            {"kind": "sms", "name": "", "body": "Halo"}, "A template needs a name", id="no-name"
        ),
        pytest.param(
            {"kind": "sms", "name": "Panjang", "body": "a" * 919},
            "Text messages cannot be longer than 918 characters",
            id="sms-over-918",
        ),
        pytest.param(
            {"kind": "multi", "name": "Dua", "subject": "", "body": "", "sms_body": ""},
            "A multi-channel template needs an email body, an SMS body or both",
            id="multi-empty",
        ),
    ],
)
async def test_an_invalid_template_is_refused_and_nothing_is_saved(
    harness: Harness, fields: dict[str, str], alert: str
) -> None:
    editor = await sign_in(harness, "editor")
    before = await counts(harness)
    refused = await editor.post("/console/templates/new?lang=en", {**fields, "action": "save"})
    assert refused.status_code == 400
    assert re.search(r'<p class="error" role="alert">[^<]*' + re.escape(alert), refused.text)
    assert await counts(harness) == before


async def test_the_preview_shows_the_too_long_error_and_an_edit_over_the_cap_is_refused(
    harness: Harness,
) -> None:
    editor = await sign_in(harness, "editor")
    long = await editor.post(
        "/console/templates/new?lang=en",
        {"kind": "sms", "name": "x", "body": "b" * 1000, "action": "preview"},
    )
    assert "Text messages cannot be longer than 918 characters. This one is 1000" in long.text
    refused = await editor.post(
        f"/console/templates/{harness.sms_template}/edit?lang=en",
        {"name": "antrean", "body": "c" * 919, "action": "save"},
    )
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert await counts(harness) == (2, 2, 0)


async def test_an_email_preview_renders_the_markdown_and_escapes_html(harness: Harness) -> None:
    editor = await sign_in(harness, "editor")
    preview = await editor.post(
        "/console/templates/new",
        {
            "kind": "email",
            "name": "Dokumen",
            "subject": "Dokumen ((jenis))",
            "body": "# Siap\n\n* KTP\n* <b>KK</b>",
            "action": "preview",
        },
    )
    assert "<h4" in preview.text and "<li" in preview.text  # the email heading, under "Email"
    assert "&lt;b&gt;KK&lt;/b&gt;" in preview.text and "<b>KK</b>" not in preview.text
    assert 'Dokumen <mark class="placeholder">((jenis))</mark>' in preview.text


async def test_a_viewer_reads_templates_but_cannot_write_or_send(harness: Harness) -> None:
    viewer = await sign_in(harness, "viewer")
    assert (await viewer.client.get("/console/templates")).status_code == 200
    page = await viewer.client.get(f"/console/templates/{harness.sms_template}")
    assert page.status_code == 200 and "/edit" not in page.text
    for path in (
        "/console/templates/new",
        f"/console/templates/{harness.sms_template}/edit",
        "/console/send",
    ):
        assert (await viewer.client.get(path)).status_code == 403, path
    attempts = [
        ("/console/templates/new", {"kind": "sms", "name": "x", "body": "y"}),
        (f"/console/templates/{harness.sms_template}/edit", {"name": "x", "body": "y"}),
        ("/console/templates/preview", {"kind": "sms", "name": "x", "body": "y"}),
        (
            "/console/send",
            {"template": str(harness.sms_template), "recipient": "081234567890",
             "p:nama": "Budi", "p:nomor": "7"},
        ),
    ]  # fmt: skip
    for path, data in attempts:
        assert (await viewer.post(path, data)).status_code == 403, path
    assert await counts(harness) == (2, 2, 0)


async def sender_form(staffer: Staffer, template: uuid.UUID) -> str:
    page = await staffer.client.get(f"/console/send?template={template}&lang=en")
    assert page.status_code == 200
    return page.text


async def test_a_sender_sends_one_sms_that_reaches_the_outbox(
    harness: Harness, outbox: Outbox
) -> None:
    sender = await sign_in(harness, "sender")
    form = await sender_form(sender, harness.sms_template)
    assert 'name="p:nama"' in form and 'name="p:nomor"' in form and 'type="tel"' in form

    sent = await sender.post(
        "/console/send",
        {"template": str(harness.sms_template), "recipient": "0812 3456 7890",
         "p:nama": "Budi", "p:nomor": "7", "action": "send"},
    )  # fmt: skip
    assert sent.status_code == 303
    notification_id = sent.headers["location"].removeprefix("/console/notifications/")
    [sms] = await outbox.wait_for(1)
    assert (sms.to, sms.body) == ("+6281234567890", "Halo Budi, antrean Anda nomor 7.")
    row = await harness.wait_status(notification_id, "delivered")
    assert (row.key_type, row.api_key_id) == ("normal", None)


@pytest.mark.parametrize(
    ("fields", "alert"),
    [
        pytest.param(
            {"recipient": "0812", "p:nama": "Budi", "p:nomor": "7"},
            "Not enough digits",
            id="short-phone",
        ),
        pytest.param(
            {"recipient": "0812 3456 7890", "p:nama": "Budi", "p:nomor": " "},
            "Fill in every field. Missing: nomor",
            id="blank-field",
        ),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_sent(
    harness: Harness, outbox: Outbox, fields: dict[str, str], alert: str
) -> None:
    sender = await sign_in(harness, "sender")
    refused = await sender.post(
        "/console/send?lang=en", {"template": str(harness.sms_template), **fields}
    )
    assert refused.status_code == 400
    assert f'<p class="error" role="alert">{alert}</p>' in refused.text
    assert 'value="Budi"' in refused.text  # what was typed is kept
    assert await counts(harness) == (2, 2, 0) and len(outbox) == 0


async def test_send_yourself_a_test_goes_to_your_own_address(
    harness: Harness, outbox: Outbox
) -> None:
    sender = await sign_in(harness, "sender", "ani.sender@uji.go.id")
    form = await sender_form(sender, harness.email_template)
    assert "ani.sender@uji.go.id" in form and 'value="me"' in form

    sent = await sender.post(
        "/console/send",
        {"template": str(harness.email_template), "recipient": "",
         "p:nama": "Ani", "p:jenis": "KTP", "action": "me"},
    )  # fmt: skip
    assert sent.status_code == 303
    [email] = await outbox.wait_for(1)
    assert (email.to, email.subject) == ("ani.sender@uji.go.id", "Dokumen KTP siap")


async def test_a_test_send_is_recorded_but_not_delivered(harness: Harness, outbox: Outbox) -> None:
    sender = await sign_in(harness, "sender")
    sent = await sender.post(
        "/console/send",
        {"template": str(harness.sms_template), "recipient": "0812 3456 7890",
         "p:nama": "Budi", "p:nomor": "7", "action": "test"},
    )  # fmt: skip
    assert sent.status_code == 303
    notification_id = sent.headers["location"].removeprefix("/console/notifications/")
    row = await harness.wait_status(notification_id, "delivered")
    assert row.key_type == "test"
    # A real one sent after it arrives alone: the test never reached the outbox.
    await harness.send_sms("0812 9999 0000")
    [only] = await outbox.wait_for(1)
    assert only.to == "+6281299990000" and len(outbox) == 1


async def test_an_editor_sees_indonesian_by_default(harness: Harness) -> None:
    editor = await sign_in(harness, "editor")
    page = text_of((await editor.client.get("/console/templates/new")).text)
    assert "Templat baru" in page and "Pratinjau" in page
    refused = await editor.post(
        "/console/templates/new",
        {"kind": "sms", "name": "Panjang", "body": "a" * 919, "action": "save"},
    )
    assert refused.status_code == 400
    assert (
        '<p class="error" role="alert">Pesan Anda terlalu panjang. Pesan SMS tidak boleh lebih '
        "dari 918 karakter. Pesan Anda sepanjang 919 karakter.</p>"
    ) in refused.text
