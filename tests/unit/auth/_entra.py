"""Entra ID's endpoints as `responses` plays them for MSAL: tenant discovery, then the token endpoint.

MSAL GETs {authority}/v2.0/.well-known/openid-configuration when the app is built (instance discovery
is off), then POSTs to the token_endpoint it found there. Error bodies follow Entra's OAuth format.
"""

from __future__ import annotations

import time

AUTHORITY_HOST = "https://login.test"
TENANT = "7d3a1c52-6b1e-4c1f-9d2a-0b5f3e8c4a11"
CLIENT_ID = "3f9b6c1e-2a4d-4e8f-9b7a-5c6d7e8f9a01"
SECRET = "s3cr3t~Value.that-must_never-leak"
AUTHORITY = f"{AUTHORITY_HOST}/{TENANT}"
DISCOVERY = f"{AUTHORITY}/v2.0/.well-known/openid-configuration"
TOKEN_URL = f"{AUTHORITY}/oauth2/v2.0/token"
ACCESS_TOKEN = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL2FwaS5idXNpbmVzc2NlbnRyYWwifQ.c2ln"
CORRELATION = "0c9f0d67-aaaa-4bbb-8ccc-ddddeeeeffff"


def openid_configuration(tenant: str = TENANT) -> dict:
    base = f"{AUTHORITY_HOST}/{tenant}"
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "issuer": f"{AUTHORITY_HOST}/{tenant}/v2.0",
        "jwks_uri": f"{AUTHORITY_HOST}/{tenant}/discovery/v2.0/keys",
    }


def token_answer(token: str = ACCESS_TOKEN, expires_in: int = 3599, **extra) -> dict:
    return {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
            "access_token": token, **extra}


def entra_error(error: str, code: int, text: str, **extra) -> dict:
    """Entra's OAuth error body, with the trace tail it appends to every description."""
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: 1b2c Correlation ID: {CORRELATION} "
                             f"Timestamp: 2026-11-23 10:00:00Z",
        "error_codes": [code],
        "timestamp": "2026-11-23 10:00:00Z",
        "trace_id": "1b2c",
        "correlation_id": CORRELATION,
        "error_uri": f"{AUTHORITY_HOST}/error?code={code}",
        **extra,
    }


def now() -> int:
    return int(time.time())
