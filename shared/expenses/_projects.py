"""A host project as the expense import sees it: the host's id and the project dimension value code the
projects export gave it in Business Central. The `ProjectMap` port (`_ports.py`) answers them per
connector; only the ledger adapter knows where they are stored."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HostProject"]


@dataclass(frozen=True)
class HostProject:
    id: str  # the host's project id
    number: str  # the dimension value code in BC
