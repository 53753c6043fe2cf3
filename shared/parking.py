"""Moved: the port is `shared.exports` (`ParkingLot`, `ParkedMessage`, `replay_parked`), the adapters are
`shared.adapters.parking`. This name stays only until the consent package imports the new ones; the
lead deletes it at merge."""

from shared.adapters.parking import InMemoryParkingLot, TableParkingLot
from shared.exports import ParkedMessage, ParkingLot, replay_parked

__all__ = ["ParkedMessage", "ParkingLot", "TableParkingLot", "InMemoryParkingLot", "replay_parked"]
