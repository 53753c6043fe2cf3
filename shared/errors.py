"""Errors shared by every layer of the app.

ConfigurationError means an app setting is missing or unusable: nothing a retry can fix, so the
message names the setting and says what to put in it.
"""

from __future__ import annotations

__all__ = ["ConfigurationError"]


class ConfigurationError(Exception):
    """An app setting is missing or invalid; the message names the setting and the fix."""
