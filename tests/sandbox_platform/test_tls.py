"""The sandbox serves HTTPS that clients trust through its CA bundle, on any free port."""

from __future__ import annotations

import ipaddress

import pytest
import requests
from cryptography import x509

from sandbox.server import SandboxServer
from sandbox.tls import ensure_certificates
from tests.sandbox_platform.conftest import make_world


def test_requests_trusting_the_ca_bundle_gets_an_answer(server):
    response = requests.get(server.url + "/", verify=server.ca_bundle)

    assert response.status_code == 200
    assert server.url.startswith("https://127.0.0.1:")
    assert response.json()["controlApi"] == server.url + "/_sandbox/"


def test_requests_with_default_trust_rejects_the_certificate(server):
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(server.url + "/", verify=True)


def test_port_zero_binds_a_real_free_port(server):
    assert server.port > 0
    assert server.url.endswith(f":{server.port}")


def test_server_certificate_covers_ipv4_ipv6_loopback_and_localhost(tmp_path):
    files = ensure_certificates(tmp_path)
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]


def test_certificates_are_reused_while_valid_and_reissued_when_damaged(tmp_path):
    first = ensure_certificates(tmp_path)
    ca_before = first.ca_cert.read_bytes()
    server_before = first.server_cert.read_bytes()

    again = ensure_certificates(tmp_path)
    assert again.ca_cert.read_bytes() == ca_before
    assert again.server_cert.read_bytes() == server_before

    first.server_cert.write_text("not a certificate")
    repaired = ensure_certificates(tmp_path)
    assert repaired.ca_cert.read_bytes() == ca_before  # clients that trust the CA keep working
    assert repaired.server_cert.read_bytes() != server_before


def test_private_keys_are_readable_by_the_owner_only(tmp_path):
    files = ensure_certificates(tmp_path)

    assert files.server_key.stat().st_mode & 0o077 == 0
    assert files.ca_key.stat().st_mode & 0o077 == 0


def test_two_sandboxes_run_side_by_side_and_a_restart_keeps_the_ca(tmp_path):
    with SandboxServer(port=0, state_dir=tmp_path, world=make_world()) as first:
        ca = open(first.ca_bundle, "rb").read()
        with SandboxServer(port=0, state_dir=tmp_path, world=make_world()) as second:
            assert first.port != second.port
            assert requests.get(second.url + "/", verify=first.ca_bundle).status_code == 200
    with SandboxServer(port=0, state_dir=tmp_path, world=make_world()) as restarted:
        assert open(restarted.ca_bundle, "rb").read() == ca


def test_a_taken_port_raises_instead_of_exiting(server, tmp_path):
    with pytest.raises(OSError, match="cannot listen"):
        SandboxServer(port=server.port, state_dir=tmp_path, world=make_world()).start()
