"""A person connects Business Central in a real browser: from the consent link, through the sign-in page,
back to the app's page, which says what happened. Once with Accept, once with Cancel."""

from __future__ import annotations

import json
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from sandbox import constants
from tests.integration.consent._helpers import delegated_settings

pytestmark = pytest.mark.integration


def _http(host, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{host.base_url}/api/{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _sign_in(driver, url: str, button: str, host) -> str:
    """Open the consent link, press a button of the sign-in page, wait for the app's page; its text."""
    driver.get(url)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Business Central sandbox: sign in"
    WebDriverWait(driver, 15).until(ec.element_to_be_clickable((By.ID, button))).click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.startswith(f"{host.base_url}/api/consent/callback")
                                    and d.find_elements(By.TAG_NAME, "h1"))
    return driver.find_element(By.TAG_NAME, "main").text


def test_a_person_who_accepts_sees_that_business_central_is_connected(chromium, app_host, connector_name,
                                                                      screenshots):
    host, services = app_host
    saved = _http(host, "PUT", f"connectors/{connector_name}", delegated_settings())

    driver = chromium
    text = _sign_in(driver, saved["consentUrl"], "accept", host)

    assert driver.find_element(By.TAG_NAME, "h1").text == "Business Central is connected"
    assert driver.title == "Business Central is connected - bc-connector"
    assert f"can now reach company '{constants.US_COMPANY}'" in text
    assert f"Signed in as\n{constants.DEMO_USER}" in text or f"Signed in as {constants.DEMO_USER}" in text
    assert "Nothing more to do" in text
    assert driver.find_element(By.CSS_SELECTOR, "[role=status]")
    assert "code=" in driver.current_url and services.secrets().get_secret(
        f"connector-{connector_name}-refresh-token") not in driver.page_source
    driver.save_screenshot(str(screenshots / "consent-connected.png"))
    assert _http(host, "GET", f"connectors/{connector_name}")["status"] == "connected"


def test_a_person_who_cancels_is_told_nothing_changed_and_how_to_connect(chromium, app_host, connector_name,
                                                                         screenshots):
    host, services = app_host
    _http(host, "PUT", f"connectors/{connector_name}", delegated_settings())
    url = _http(host, "POST", f"connectors/{connector_name}/consent")["consentUrl"]

    text = _sign_in(chromium, url, "cancel", host)

    assert chromium.find_element(By.TAG_NAME, "h1").text == "You did not give access"
    assert "Nothing was stored and nothing was changed" in text
    assert "choose Accept" in text
    assert chromium.find_element(By.CSS_SELECTOR, "[role=alert]")
    chromium.save_screenshot(str(screenshots / "consent-declined.png"))
    assert _http(host, "GET", f"connectors/{connector_name}")["status"] == "consent_required"
