"""GET /v2/notifications (filters, pages), templates, previews and received texts."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.harness import Harness, auth_header
from warta.api import notifications as notifications_api
from warta.services.admin import update_template
from warta.services.inbound import receive_text


async def test_list_filters_by_type_status_and_reference(harness: Harness) -> None:
    sms = (await harness.send_sms(reference="a")).json()["id"]
    email = (await harness.send_email(reference="b")).json()["id"]
    await harness.wait_status(sms, "delivered")
    await harness.wait_status(email, "delivered")

    async def ids(**params: object) -> list[str]:
        response = await harness.get("/v2/notifications", **params)
        assert response.status_code == 200, response.text
        return [n["id"] for n in response.json()["notifications"]]

    assert await ids() == [email, sms]  # newest first
    assert await ids(template_type="sms") == [sms]
    assert await ids(reference="b") == [email]
    assert await ids(status="delivered") == [email, sms]
    assert await ids(status="failed") == []
    bad = await harness.get("/v2/notifications", status="lost")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["error"] == "ValidationError"


async def test_test_key_sees_only_test_notifications(harness: Harness) -> None:
    live = (await harness.send_sms()).json()["id"]
    test = (await harness.send_sms(key="test")).json()["id"]
    live_list = (await harness.get("/v2/notifications")).json()["notifications"]
    test_list = (await harness.get("/v2/notifications", key="test")).json()["notifications"]
    assert [n["id"] for n in live_list] == [live]
    assert [n["id"] for n in test_list] == [test]


async def test_pages_follow_next_links_to_the_end(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications_api, "PAGE_SIZE", 2)
    sent = [(await harness.send_sms(reference=f"r{n}")).json()["id"] for n in range(5)]
    seen: list[str] = []
    url: str | None = "/v2/notifications?template_type=sms"
    pages = 0
    while url:
        body = (await harness.get(url.replace("http://warta.test", ""))).json()
        seen += [n["id"] for n in body["notifications"]]
        url = body["links"].get("next")
        pages += 1
        assert "template_type=sms" in body["links"]["current"]
    assert seen == list(reversed(sent))
    assert pages == 4  # as Notify: the last page is the first empty one


async def test_older_than_unknown_is_404(harness: Harness) -> None:
    response = await harness.get("/v2/notifications", older_than=str(uuid.uuid4()))
    assert response.status_code == 404


async def test_templates_versions_and_list(harness: Harness) -> None:
    await update_template(
        harness.app,
        harness.agency_id,
        harness.sms_template,
        body="Yth. ((nama)), nomor antrean ((nomor)).",
    )
    current = (await harness.get(f"/v2/template/{harness.sms_template}")).json()
    assert current["version"] == 2
    assert current["body"] == "Yth. ((nama)), nomor antrean ((nomor))."
    assert current["type"] == "sms"
    first = (await harness.get(f"/v2/template/{harness.sms_template}/version/1")).json()
    assert first["version"] == 1
    assert first["body"] == "Halo ((nama)), antrean Anda nomor ((nomor))."
    assert (await harness.get(f"/v2/template/{harness.sms_template}/version/9")).status_code == 404
    everything = (await harness.get("/v2/templates")).json()["templates"]
    assert {t["type"] for t in everything} == {"sms", "email"}
    only_email = (await harness.get("/v2/templates", type="email")).json()["templates"]
    assert [t["id"] for t in only_email] == [str(harness.email_template)]
    # A notification sent now records the version it used.
    sent = (await harness.send_sms()).json()
    assert sent["template"]["version"] == 2
    assert sent["content"]["body"] == "Yth. Budi, nomor antrean 7."


async def test_template_lookups_refuse_bad_ids_and_other_agencies(harness: Harness) -> None:
    assert (await harness.get("/v2/template/xyz")).json()["errors"][0]["message"] == (
        "template_id is not a valid UUID"
    )
    assert (await harness.get(f"/v2/template/{uuid.uuid4()}")).status_code == 404


async def test_preview_renders_email_with_html(harness: Harness) -> None:
    response = await harness.post(
        f"/v2/template/{harness.email_template}/preview",
        {"personalisation": {"nama": "Siti", "jenis": "KK"}},
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["subject"] == "Dokumen KK siap"
    assert preview["body"] == "Halo Siti,\n\nDokumen KK Anda siap diambil."
    assert "Dokumen KK Anda siap diambil." in preview["html"]
    missing = await harness.post(
        f"/v2/template/{harness.email_template}/preview", {"personalisation": {"nama": "Siti"}}
    )
    assert missing.status_code == 400
    assert missing.json()["errors"] == [
        {"error": "BadRequestError", "message": "Missing personalisation: jenis"}
    ]


async def test_received_texts_are_listed_newest_first(harness: Harness) -> None:
    await receive_text(harness.app, harness.agency_id, "0812 1111 2222", "INFO antrean")
    await receive_text(harness.app, harness.agency_id, "+6281233334444", "Terima kasih")
    body = (await harness.get("/v2/received-text-messages")).json()
    texts = body["received_text_messages"]
    assert [t["content"] for t in texts] == ["Terima kasih", "INFO antrean"]
    assert texts[1]["user_number"] == "+6281211112222"
    assert texts[0]["notify_number"] == "DINASUJI"
    assert texts[0]["service_id"] == str(harness.agency_id)
    older = (
        await harness.client.get(body["links"]["next"], headers=auth_header(harness.keys["live"]))
    ).json()
    assert older["received_text_messages"] == []


async def test_openapi_and_docs_describe_every_endpoint(sqlite_harness: Harness) -> None:
    spec = (await sqlite_harness.client.get("/openapi.json")).json()
    paths = set(spec["paths"])
    assert {
        "/v2/notifications/sms",
        "/v2/notifications/email",
        "/v2/notifications/{notification_id}",
        "/v2/notifications",
        "/v2/template/{template_id}",
        "/v2/template/{template_id}/version/{version}",
        "/v2/templates",
        "/v2/template/{template_id}/preview",
        "/v2/received-text-messages",
    } <= paths
    docs = await sqlite_harness.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "cdn" not in docs.text.lower()  # served from Warta itself: no outside network


async def test_dev_outbox_shows_captured_messages(sqlite_harness: Harness) -> None:
    sent = (await sqlite_harness.send_sms()).json()["id"]
    await sqlite_harness.wait_status(sent, "delivered")
    page = await sqlite_harness.client.get("/dev/outbox")
    assert page.status_code == 200
    assert "+6281234567890" in page.text and "Halo Budi" in page.text
    as_json = (await sqlite_harness.client.get("/dev/outbox.json")).json()
    assert as_json[0]["notification_id"] == sent
    assert as_json[0]["receipt"] == "DELIVRD"
    assert (as_json[0]["parts"], as_json[0]["encoding"]) == (1, "GSM-7")
    await sqlite_harness.send_sms("0812-3456-0000")
    await sqlite_harness.app.outbox.wait_for(2)
    one_phone = await sqlite_harness.client.get("/dev/outbox", params={"to": "+6281234567890"})
    assert "+6281234560000" not in one_phone.text and "+6281234567890" in one_phone.text
    only = await sqlite_harness.client.get("/dev/outbox.json", params={"to": "+6281234560000"})
    assert [m["to"] for m in only.json()] == ["+6281234560000"]


async def test_dev_outbox_plays_a_citizen_reply_through_the_local_smsc(
    sqlite_harness: Harness,
) -> None:
    page = await sqlite_harness.client.get("/dev/outbox")
    assert 'action="/dev/sms/inbound"' in page.text
    played = await sqlite_harness.client.post(
        # To the agency's own sender id: a text to WARTA is for whoever last texted the
        # number from WARTA (nobody here), so no agency would get it.
        "/dev/sms/inbound",
        data={"sender": "0812-3456-7890", "text": "BERHENTI", "to": "DINASUJI"},
    )
    assert played.status_code == 303 and played.headers["location"] == "/dev/outbox"
    # The keyword is answered by SMS to the citizen, and the text is kept for the agency.
    reply = await sqlite_harness.app.outbox.wait_for(1)
    assert reply[0].to == "+6281234567890"
    assert "tidak akan lagi menerima SMS" in reply[0].body
    texts = (await sqlite_harness.get("/v2/received-text-messages")).json()
    assert [t["content"] for t in texts["received_text_messages"]] == ["BERHENTI"]
    # The number opted out: the agency's next ordinary SMS to it is not sent.
    sent = (await sqlite_harness.send_sms()).json()["id"]
    await sqlite_harness.wait_status(sent, "cancelled")
    assert len(sqlite_harness.app.outbox.list("sms")) == 1


async def test_dev_inbound_refuses_a_bad_phone_number(sqlite_harness: Harness) -> None:
    played = await sqlite_harness.client.post(
        "/dev/sms/inbound", data={"sender": "not a phone", "text": "halo"}
    )
    assert played.status_code == 400
    assert played.json()["errors"][0]["error"] in {"ValidationError", "BadRequestError"}
