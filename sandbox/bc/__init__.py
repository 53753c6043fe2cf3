"""The Business Central data half of the sandbox: API v2.0 and OData V4 over an in-memory BC world.

`BcWorld.load()` builds tenants, environments and companies from sandbox/fixtures/bc.json (or a file you
name); `BcWorld.handle()` answers one authenticated request the way BC Online would. See
sandbox/README.md ("BC data model") for what it reproduces, what it doesn't and what is inferred.
"""

from ._world import BcWorld

__all__ = ["BcWorld"]
