"""Agency staff in the console, in a real Chromium: sign in with a password and a TOTP
code, write a template and preview it, send themselves a test, check a bulk list, and a
viewer who cannot send. Every console page passes axe-core and is screenshotted."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Server, axe_audit, screenshot

VIEWER = "viewer@demo.warta.go.id"
VIEWER_PASSWORD = "lihat saja, jangan kirim"


def fresh_code(secret: str, used: set[str]) -> str:
    """The authenticator's code, waiting for the next one if this one was used already
    (a code works once)."""
    while (code := pyotp.TOTP(secret).now()) in used:
        time.sleep(0.5)
    used.add(code)
    return code


def sign_in(page: Page, server: Server, email: str, password: str) -> str:
    """Password, then the TOTP set-up page: returns the secret the authenticator keeps."""
    page.goto(server.url + "/console/sign-in?lang=en")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(fresh_code(secret, set()))
    page.get_by_role("button", name="Sign in").click()
    return secret


@pytest.fixture(scope="module")
def admin_state(server: Server, browser: Browser) -> dict[str, Any]:
    """The demo admin signs in once (first sign-in: TOTP set-up); tests reuse the session."""
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server, server.demo["console_email"], server.demo["console_password"])
    expect(page).to_have_url(re.compile(r"/console/$"))
    state: dict[str, Any] = context.storage_state()  # type: ignore[assignment]
    context.close()
    return state


@pytest.fixture
def admin(browser: Browser, admin_state: dict[str, Any]) -> Iterator[Page]:
    context = browser.new_context(storage_state=admin_state)  # type: ignore[arg-type]
    yield context.new_page()
    context.close()


def test_sign_in_asks_for_the_password_then_a_code(server: Server, page: Page) -> None:
    page.goto(server.url + "/console/sign-in?lang=en")
    axe_audit(page)
    screenshot(page, "console-sign-in")
    page.get_by_label("Email address").fill(server.demo["console_email"])
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text("The email, password or code is not right")
    axe_audit(page)


def test_a_viewer_is_not_offered_sending_and_is_refused_it(server: Server, page: Page) -> None:
    agency = server.demo["agency_id"]
    server.run_cli(
        "staff", "add", "--agency", agency, "--email", VIEWER, "--name", "Vera Viewer",
        "--role", "viewer", "--password", VIEWER_PASSWORD,
    )  # fmt: skip
    sign_in(page, server, VIEWER, VIEWER_PASSWORD)
    expect(page).to_have_url(re.compile(r"/console/$"))
    menu = page.get_by_role("navigation", name="Console")
    expect(menu.get_by_role("link", name="Templates")).to_be_visible()
    expect(menu.get_by_role("link", name="Send", exact=True)).to_have_count(0)
    page.goto(server.url + "/console/send")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_role("alert")).to_contain_text("Your role (viewer)")
    axe_audit(page)
    screenshot(page, "console-not-allowed")
