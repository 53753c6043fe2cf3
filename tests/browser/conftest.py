"""A real browser for the consent tests: Debian's headless Chromium, driven by Selenium and the system
chromedriver (no browser download), and the app served over real HTTP by the dev host.

Chromium trusts the sandbox's self-signed certificate by its public key only
(`--ignore-certificate-errors-spki-list`), resolves no host name but 127.0.0.1 and uses no proxy, so the
browser cannot reach anything but the two loopback servers of the test.

`make install` installs `chromium` and `chromium-driver` (apt) when they are missing. Without them these
tests are skipped, except under CI (`CI` set), where that is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _spki_sha256(cert_pem: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)): the form Chromium's SPKI allow-list takes."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


@pytest.fixture(scope="module")
def chromium(sandbox, tmp_path_factory):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        message = "Chromium is not installed: run `make install` (apt-get install chromium chromium-driver)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--no-proxy-server", "--window-size=1024,900",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        f"--ignore-certificate-errors-spki-list={_spki_sha256(Path(sandbox.state_dir) / 'server.pem')}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def app_host(azurite, sandbox, bc):
    """The function app on a free port (the dev host), with services whose PUBLIC_BASE_URL is that port."""
    from devtools.devhost import DevHost
    from sandbox import constants
    from shared import bootstrap
    from shared.adapters.secrets import InMemorySecretStore
    from tests._app import FUNCTIONS
    from tests._worker import Worker

    host = DevHost(list(FUNCTIONS.values()), {}, port=0, queues=False, timers=False).start()
    worker = Worker.on({"AzureWebJobsStorage": azurite, "BC_API_URL": sandbox.url, "BC_AUTHORITY_HOST": sandbox.url,
                        "BC_CLIENT_ID": constants.DEMO_CLIENT_ID, "PUBLIC_BASE_URL": host.base_url,
                        "REQUESTS_CA_BUNDLE": sandbox.ca_bundle},
                       secrets=InMemorySecretStore(), credential_factory=_no_azure_credential)
    bootstrap.set_worker_app(worker.app)
    try:
        yield host, worker
    finally:
        bootstrap.set_worker_app(None)
        host.stop()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where screenshots go: $BROWSER_SCREENSHOTS when set (to look at them), else the test's tmp dir."""
    target = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def _no_azure_credential(**_: object):
    raise AssertionError("tests must not build an Azure credential (it would probe IMDS)")
