"""Random values of one consent: PKCE verifier and S256 challenge (RFC 7636), state, nonce.

`secrets.token_urlsafe(64)` gives 86 characters of the unreserved set RFC 7636 §4.1 allows (43 to 128);
the challenge is BASE64URL(SHA256(verifier)) without padding (§4.2). The state and the nonce carry 256
bits each, so a state cannot be guessed, and a state that does not look like ours is refused before
any storage call.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

__all__ = ["new_code_verifier", "s256_challenge", "new_state", "new_nonce", "looks_like_state"]

_STATE = re.compile(r"[A-Za-z0-9_-]{43}")


def new_code_verifier() -> str:
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def looks_like_state(value: str | None) -> bool:
    """True for values `new_state` can produce (43 URL-safe characters): safe as a table key too."""
    return bool(value) and _STATE.fullmatch(value) is not None
