"""Fixtures for the sandbox's platform half: one HTTPS server per module on a free port, reset per test.

The BC data half (`sandbox.bc.BcWorld`) is used when it can be imported; until then a small stand-in
(`fake_world.py`) answers for it, so these tests only assert platform behaviour (auth, limits, faults,
Entra), never BC data.
"""

from __future__ import annotations

import functools
from typing import Iterator

import pytest
import requests

from sandbox.admin import SandboxAdmin
from sandbox.server import SandboxServer


@functools.lru_cache(maxsize=1)
def real_world_available() -> bool:
    """Whether the BC data half can be imported and loads its bundled fixtures."""
    try:
        from sandbox.bc import BcWorld

        BcWorld.load(fixtures_path=None)
    except Exception:  # noqa: BLE001 - missing or half-built: use the stand-in
        return False
    return True


def make_world():
    """None (the server loads the real BcWorld with its shared clock) or, until it works, the stand-in."""
    if real_world_available():
        return None
    from tests.sandbox_platform.fake_world import FakeWorld

    return FakeWorld()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[SandboxServer]:
    sandbox = SandboxServer(port=0, state_dir=tmp_path_factory.mktemp("sandbox-state"), world=make_world())
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def admin(server) -> Iterator[SandboxAdmin]:
    """The control API, with the sandbox reset to its fixtures before and after the test."""
    client = SandboxAdmin(server.url, server.ca_bundle)
    client.reset()
    try:
        yield client
    finally:
        client.reset()
        client.close()


@pytest.fixture
def http(server, admin) -> Iterator[requests.Session]:
    """A requests session that trusts the sandbox CA (and nothing from the environment)."""
    session = requests.Session()
    session.verify = server.ca_bundle
    session.trust_env = False
    try:
        yield session
    finally:
        session.close()
