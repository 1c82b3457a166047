"""The chat in a real Chromium: the demo citizen talks with the bot on the portal's chat
page (posted without reloading, by portal-chat.js), asks for a person, and a sender
answers from the console's "Percakapan" (and reads the FAQ); the answer appears in her
open chat page. Every page passes axe-core, the chat page costs at most 100 KB on first load, and
each is screenshotted."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    Server,
    axe_audit,
    new_context,
    register_citizen,
    screenshot,
    sign_in_citizen,
    transferred,
)

PHONE = "+6281299887701"
FIRST_LOAD_LIMIT = 100_000
WORKER = "percakapan@demo.warta.go.id"
PASSWORD = "balas warga dengan sabar"


def sign_in_staff(server: Server, browser: Browser) -> Page:
    server.run_cli(
        "staff", "add", "--agency", server.demo["agency_id"], "--email", WORKER,
        "--name", "Putri Percakapan", "--role", "sender", "--password", PASSWORD,
    )  # fmt: skip
    context = new_context(browser, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/console/sign-in")
    page.get_by_label("Alamat email").fill(WORKER)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Lanjut").click()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Kode").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    return page


def test_a_citizen_chats_and_staff_answer_from_the_console(
    server: Server, page: Page, browser: Browser, tmp_path: Path
) -> None:
    citizen_id = register_citizen(
        server, tmp_path, nik="3273014101900781", name="Sri Wahyuni", phone=PHONE
    )
    sent = server.api(
        "POST",
        "/v2/notifications",
        {
            "citizen_id": citizen_id,
            "template_id": server.demo["multi_template_id"],
            "personalisation": {"nama": "Sri", "tanggal": "7 Desember"},
            "priority": "urgent",  # a new citizen's quiet hours would hold it in the evening
        },
    )
    server.wait_status(sent["id"], "delivered")
    page.clock.install()  # the chat page's polling runs when the test says
    sign_in_citizen(server, page, PHONE)

    with transferred(page) as load:
        page.get_by_role("navigation", name="Portal").get_by_role("link", name="Obrolan").click()
        page.wait_for_url("**/portal/chat")
    expect(page.get_by_role("heading", level=1)).to_have_text("Obrolan")
    axe_audit(page)
    assert load.bytes <= FIRST_LOAD_LIMIT, f"the chat page took {load.bytes} bytes"

    page.get_by_label("Pesan Anda").fill("Selamat pagi, min")
    page.get_by_role("button", name="Kirim", exact=True).click()
    log = page.locator("#chat-log")
    expect(log).to_contain_text("Selamat pagi, min")
    expect(log).to_contain_text("Halo! Saya asisten Warta")
    assert page.url.endswith("/portal/chat")  # posted by the script: no reload

    page.get_by_role("button", name="Hubungi petugas").click()
    expect(page.locator("#chat-status")).to_contain_text("ditangani petugas")
    axe_audit(page)
    screenshot(page, "portal-chat")

    staff = sign_in_staff(server, browser)
    nav = staff.get_by_role("navigation", name="Konsol")
    nav.get_by_role("link", name="Percakapan").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Percakapan")
    axe_audit(staff)
    screenshot(staff, "console-conversations")
    staff.get_by_role("table").get_by_role("link").last.click()
    expect(staff.locator("ol.timeline")).to_contain_text("Selamat pagi, min")
    axe_audit(staff)
    staff.get_by_label("Jawaban Anda").fill("Selamat pagi, Bu Sri. Ada yang bisa kami bantu?")
    staff.get_by_role("button", name="Kirim jawaban").click()
    expect(staff.get_by_role("status")).to_contain_text("Terkirim")
    screenshot(staff, "console-conversation")

    nav.get_by_role("link", name="FAQ").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("FAQ")
    axe_audit(staff)  # a sender reads the FAQ; editors and admins keep it
    screenshot(staff, "console-faq")

    page.get_by_label("Pesan Anda").fill("Sedang saya tulis")
    page.clock.run_for(16_000)  # the page reads the conversation again: staff's answer
    expect(page.locator("#chat-log")).to_contain_text("Ada yang bisa kami bantu?")
    expect(page.get_by_label("Pesan Anda")).to_have_value("Sedang saya tulis")
    expect(page.locator("#chat-log")).to_contain_text("Petugas instansi")
