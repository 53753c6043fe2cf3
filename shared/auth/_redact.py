"""Scrub secrets out of text that came back from Entra ID before it reaches a message, repr or log.

Entra's error descriptions do not echo the client secret, but a proxy's error page or a misbehaving
fake might, and a JWT has no business in an operator's notification either.
"""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["scrub", "MASK"]

MASK = "***"

# Anything shaped like a JWT (header.payload.signature, base64url): access, id and assertion tokens.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
# Form or query fields that carry credentials (the token request body is form-encoded).
_FORM_FIELDS = re.compile(
    r"(?i)\b(client_secret|refresh_token|access_token|id_token|client_assertion|assertion|code|password)"
    r"(=)[^&\s\"',}]+"
)
_JSON_FIELDS = re.compile(
    r"(?i)(\"(?:client_secret|refresh_token|access_token|id_token|client_assertion|password)\"\s*:\s*\")"
    r"()[^\"]*"
)
# Entra appends "Trace ID: … Correlation ID: … Timestamp: …" to every description; the ids are kept
# separately on the error, so the tail only makes a notification harder to read.
_ENTRA_TAIL = re.compile(r"\s*Trace ID:.*$", re.DOTALL)
_MAX_LENGTH = 500


def scrub(text: str | None, secrets: Iterable[str | None] = ()) -> str:
    """Return `text` without the given secrets (also URL-encoded), JWTs or credential form fields.

    Every non-empty secret is masked, however short: a garbled message is better than a leaked secret.
    """
    if not text:
        return ""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote_plus(secret), quote(secret, safe="")}:
            text = text.replace(form, MASK)
    text = _JWT.sub(MASK, text)
    for pattern in (_FORM_FIELDS, _JSON_FIELDS):
        text = pattern.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    text = _ENTRA_TAIL.sub("", text).strip()
    if len(text) > _MAX_LENGTH:
        text = text[: _MAX_LENGTH - 1] + "…"
    return text
