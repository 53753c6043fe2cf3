"""Development tools: never deployed (.funcignore) and never imported by production code.

- ``devtools.devhost``: a local stand-in for the Azure Functions host (HTTP, queue and timer triggers),
  used by ``make run`` when Core Tools (``func``) is not installed, and by end-to-end tests (``DevHost``).
- ``devtools.run``: ``make run`` (Azurite, the BC sandbox, the functions, the demo connector).
- ``devtools.demo``: saves the demo connector through the HTTP API and says what happened.
- ``devtools.testrun``: ``make test`` (Azurite on free ports around pytest).

Modules starting with ``_`` are internal to these tools. Importing this package imports nothing else,
so ``python -m devtools.run`` does not pay for the Azure SDKs.
"""

__all__: list[str] = []
