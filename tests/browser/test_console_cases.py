"""The console's case queue in a real Chromium: a sender finds a report an agency system
filed through the case API, filters the queue, opens the case (its address and a link to
its coordinates, no map), changes its status with a public update after seeing the
message the reporter will get, and the reporter's phone gets exactly that message. Every
page passes axe-core and is screenshotted."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Server, axe_audit, new_context, screenshot

WORKER = "kasus@demo.warta.go.id"
PASSWORD = "laporan warga ditangani tuntas"
PHONE = "+6281234567301"
REPORT = {
    "service_code": "JALAN-RUSAK",
    "description": "Lubang besar di depan SDN 3, sudah dua minggu.",
    "location": {
        "lat": -6.9147,
        "long": 107.6098,
        "address": "Jl. Merdeka 12, Bandung",
        "region_code": "32.73.01.1001",
    },
    "reporter": {"name": "Budi", "phone": PHONE},
}


def test_a_sender_works_a_case_from_the_queue(server: Server, browser: Browser) -> None:
    made = server.api("POST", "/v2/cases", REPORT)
    tracking = made["tracking_id"]
    filed = server.next_message(PHONE, 0)  # the reporter's receipt, with the tracking ID
    assert tracking in filed["body"]
    server.run_cli(
        "staff", "add", "--agency", server.demo["agency_id"], "--email", WORKER,
        "--name", "Kasih Kasus", "--role", "sender", "--password", PASSWORD,
    )  # fmt: skip
    context = new_context(browser, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/console/sign-in?lang=en")
    page.get_by_label("Email address").fill(WORKER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/$"))

    page.get_by_role("navigation", name="Console").get_by_role("link", name="Cases").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    page.get_by_label("Status").select_option("received")
    page.get_by_label("Service").select_option("JALAN-RUSAK")
    page.get_by_role("button", name="Search").click()
    queue = page.get_by_role("table", name=re.compile("^Cases, nearest deadline first"))
    row = queue.get_by_role("row").filter(has_text=tracking)
    expect(row).to_contain_text("Jalan rusak (Report)")
    expect(row).to_contain_text("Jl. Merdeka 12, Bandung")
    axe_audit(page)
    screenshot(page, "console-cases")

    row.get_by_role("link", name=tracking).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {tracking}")
    expect(page.get_by_role("link", name="-6.914700, 107.609800")).to_have_attribute(
        "href", "geo:-6.914700,107.609800"
    )
    expect(page.get_by_text("Lubang besar di depan SDN 3")).to_be_visible()
    axe_audit(page)
    screenshot(page, "console-case")

    status = page.get_by_role("form", name="Change the status or tell the citizen")
    status.get_by_label("New status").select_option("in_progress")
    status.get_by_label("Public update").fill("Tim kami menambalnya Kamis pagi.")
    status.get_by_role("button", name="Preview the message").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the message")
    previewed = page.locator("#case-message").inner_text()
    assert "Tim kami menambalnya Kamis pagi." in previewed and tracking in previewed
    assert len(server.outbox(PHONE)) == 1  # nothing is sent by looking
    axe_audit(page)
    screenshot(page, "console-case-preview")

    page.get_by_role("button", name="Send and save").click()
    expect(page.get_by_role("status")).to_have_text("Saved. The citizen is told.")
    expect(page.locator("ol.timeline")).to_contain_text("Received → In progress")
    told = server.next_message(PHONE, 1)
    assert told["body"].split() == previewed.split()
    axe_audit(page)
    context.close()
