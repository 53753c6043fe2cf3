"""The app's version: THE one place it is written (`GET /api/health` answers it; raise it with each release).

Semantic versioning of the contract in docs/contract.md: major for a breaking change to settings, routes,
queues or messages; minor for an addition; patch for a fix.
"""

__all__ = ["__version__"]

__version__ = "1.1.0"
