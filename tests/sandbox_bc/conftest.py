"""Fixtures: one world per session, reset before every test (a reset takes a few milliseconds)."""

from __future__ import annotations

import pytest

from sandbox.bc import BcWorld

from ._client import Client


@pytest.fixture(scope="session")
def _world() -> BcWorld:
    return BcWorld.load()


@pytest.fixture()
def world(_world: BcWorld) -> BcWorld:
    _world.reset()
    return _world


@pytest.fixture()
def bc(world: BcWorld) -> Client:
    return Client(world)

