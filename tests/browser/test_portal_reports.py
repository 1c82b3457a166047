"""The demo citizen, on a phone-sized Chromium, files a report about a damaged road with a
photo, follows it in "Laporan saya", answers the agency's question, and anyone reads the
case's public page and the transparency figures. Every page passes axe-core with no
serious or critical violation, needs no JavaScript, and costs at most 100 KB on first
load."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    Server,
    Transfer,
    axe_audit,
    new_context,
    register_citizen,
    screenshot,
    sign_in_citizen,
    transferred,
)

PHONE = "+6281299887702"
FIRST_LOAD_LIMIT = 100_000


def check_page(page: Page, name: str, load: Transfer) -> None:
    axe_audit(page)
    screenshot(page, name)
    assert page.url in load.urls, f"{page.url} was not among what was counted: {load.urls}"
    assert load.bytes <= FIRST_LOAD_LIMIT, f"{page.url} took {load.bytes} bytes on first load"


def a_phone_photo() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (6.0, 12.0, 30.5), 3: "E", 4: (106.0, 50.0, 45.25)}
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 110, 100)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_citizen_files_a_report_with_a_photo_and_follows_it(
    server: Server, browser: Browser, page: Page, tmp_path: Path
) -> None:
    register_citizen(server, tmp_path, nik="3273014101900782", name="Rina Wati", phone=PHONE)
    page.context.route("**/*.js", lambda route: route.abort())  # works without JavaScript
    sign_in_citizen(server, page, PHONE)

    with transferred(page) as listed:
        page.get_by_role("link", name="Laporan saya").click()
        page.wait_for_url("**/portal/reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Laporan saya")
    check_page(page, "portal-reports", listed)

    with transferred(page) as choose:
        page.get_by_role("link", name="Buat laporan atau pengaduan baru").click()
        page.wait_for_url("**/portal/reports/new")
    check_page(page, "portal-report-choose", choose)
    page.get_by_label("Perihal apa?").select_option(label="Jalan rusak (Jalan dan jembatan)")
    with transferred(page) as form:
        page.get_by_role("button", name="Lanjut").click()
        page.wait_for_url(re.compile(r".*/portal/reports/new\?service=JALAN-RUSAK$"))
    check_page(page, "portal-report-form", form)

    page.get_by_label("Apa yang terjadi?").fill("Lubang besar di depan SDN 3, sudah dua minggu.")
    page.get_by_label("Di mana? (alamat atau patokan)").fill("Jl. Merdeka 12, Bandung")
    page.get_by_label("Seberapa besar kerusakannya?").select_option(label="Besar")
    page.get_by_label("Foto (tidak wajib)").set_input_files(
        files=[{"name": "lubang.jpg", "mimeType": "image/jpeg", "buffer": a_phone_photo()}]
    )
    with transferred(page) as filed:
        page.get_by_role("button", name="Kirim laporan").click()
        page.wait_for_url(re.compile(r".*/portal/reports/[2-9A-Z]{8}\?filed$"))
    expect(page.get_by_role("status")).to_contain_text("Laporan Anda sudah diterima")
    expect(page.get_by_role("img", name="Foto 1 dari laporan Anda")).to_be_visible()
    check_page(page, "portal-report-filed", filed)
    tracking = page.url.split("/portal/reports/")[1].split("?")[0]

    # The agency asks something through its case API; the citizen answers on the page.
    server.api(
        "POST",
        f"/v2/cases/{tracking}/updates",
        {"status": "waiting_for_citizen", "public_message": "Apakah lubangnya di lajur kiri?"},
    )
    with transferred(page) as asked:
        page.goto(f"{server.url}/portal/reports/{tracking}")
    expect(page.get_by_text("Apakah lubangnya di lajur kiri?")).to_be_visible()
    check_page(page, "portal-report-asked", asked)
    page.get_by_label("Instansi menunggu jawaban Anda.").fill("Ya, lajur kiri arah utara.")
    page.get_by_role("button", name="Kirim jawaban").click()
    page.wait_for_url(re.compile(r".*\?replied$"))
    expect(page.get_by_role("status")).to_have_text("Jawaban Anda sudah dikirim ke instansi.")
    expect(page.locator("dd strong")).to_have_text("Sedang ditindaklanjuti")

    # Anyone: the public page (no name, no phone) and the transparency figures.
    public = new_context(browser)
    try:
        stranger = public.new_page()
        with transferred(stranger) as shown:
            stranger.goto(f"{server.url}/cases/{tracking}")
        expect(stranger.get_by_text("Lubang besar di depan SDN 3")).to_be_visible()
        assert "Sri" not in stranger.content() and "0812" not in stranger.content()
        check_page(stranger, "public-case", shown)
        with transferred(stranger) as figures:
            stranger.goto(f"{server.url}/transparency/")
        expect(stranger.get_by_role("heading", level=1)).to_have_text("Transparansi")
        check_page(stranger, "transparency", figures)
        with transferred(stranger) as agency:
            stranger.get_by_role("link", name="Instansi Demo").click()
            stranger.wait_for_url("**/transparency/*")
        expect(stranger.get_by_role("heading", level=2).first).to_be_visible()
        check_page(stranger, "transparency-agency", agency)
    finally:
        public.close()
