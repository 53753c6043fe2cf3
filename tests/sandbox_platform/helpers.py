"""Small protocol helpers for the platform tests: token requests, the consent page, BC calls."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from sandbox.constants import (
    BC_RESOURCE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    ENVIRONMENT,
    TENANT_ID,
)

APP_SCOPE = BC_RESOURCE + "/.default"
DELEGATED_SCOPE = f"{BC_RESOURCE}/user_impersonation offline_access openid profile"
REDIRECT_URI = "http://localhost:7071/api/consent/callback"


def token_request(http: requests.Session, url: str, tenant: str = TENANT_ID, **form: str) -> requests.Response:
    return http.post(f"{url}/{tenant}/oauth2/v2.0/token", data=form)


def client_credentials(
    http: requests.Session,
    url: str,
    *,
    tenant: str = TENANT_ID,
    client_id: str = DEMO_CLIENT_ID,
    secret: str | None = DEMO_CLIENT_SECRET,
    scope: str = APP_SCOPE,
) -> requests.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "scope": scope}
    if secret is not None:
        form["client_secret"] = secret
    return token_request(http, url, tenant, **form)


def app_token(http: requests.Session, url: str, **kwargs) -> str:
    response = client_credentials(http, url, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def pkce_pair(method: str = "S256") -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    if method == "plain":
        return verifier, verifier
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(http: requests.Session, url: str, *, tenant: str = TENANT_ID, **params: str) -> requests.Response:
    query = {
        "client_id": DEMO_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": DELEGATED_SCOPE,
        "state": "state-123",
    }
    query.update(params)
    query = {k: v for k, v in query.items() if v is not None}
    return http.get(f"{url}/{tenant}/oauth2/v2.0/authorize?{urlencode(query)}", allow_redirects=False)


def form_action_and_txn(page: str) -> tuple[str, str]:
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    txn = re.search(r'name="txn" value="([^"]+)"', page)
    assert action and txn, page
    return html.unescape(action.group(1)), html.unescape(txn.group(1))


def decide(http: requests.Session, url: str, page: str, action: str = "accept", user: str | None = None) -> requests.Response:
    """Clicks a button of the sandbox's sign-in page, as a person (or headless browser) would."""
    path, txn = form_action_and_txn(page)
    form = {"txn": txn, "action": action}
    if user is None:
        checked = re.search(r'name="user" value="([^"]+)" checked', page)
        user = html.unescape(checked.group(1)) if checked else None
    if user:
        form["user"] = user
    return http.post(url + path, data=form, allow_redirects=False)


def redirect_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(
    http: requests.Session,
    url: str,
    *,
    tenant: str = TENANT_ID,
    method: str | None = "S256",
    user: str | None = None,
    **params: str,
) -> tuple[str, str | None]:
    """Runs authorize + Accept and returns (code, code_verifier)."""
    verifier = challenge = None
    if method:
        verifier, challenge = pkce_pair(method)
        params.setdefault("code_challenge", challenge)
        params.setdefault("code_challenge_method", method)
    page = authorize(http, url, tenant=tenant, **params)
    assert page.status_code == 200, page.text
    back = redirect_params(decide(http, url, page.text, "accept", user))
    return back["code"], verifier


def redeem(
    http: requests.Session,
    url: str,
    code: str,
    verifier: str | None,
    *,
    tenant: str = TENANT_ID,
    redirect_uri: str = REDIRECT_URI,
    secret: str = DEMO_CLIENT_SECRET,
) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": secret,
        "code": code,
        "redirect_uri": redirect_uri,
        "scope": DELEGATED_SCOPE,
    }
    if verifier is not None:
        form["code_verifier"] = verifier
    return token_request(http, url, tenant, **form)


def refresh(http: requests.Session, url: str, refresh_token: str, *, tenant: str = TENANT_ID) -> requests.Response:
    return token_request(
        http,
        url,
        tenant,
        grant_type="refresh_token",
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        refresh_token=refresh_token,
        scope=DELEGATED_SCOPE,
    )


def delegated_tokens(http: requests.Session, url: str, **kwargs) -> dict:
    code, verifier = sign_in(http, url, **kwargs)
    response = redeem(http, url, code, verifier, tenant=kwargs.get("tenant", TENANT_ID))
    assert response.status_code == 200, response.text
    return response.json()


def bc_get(
    http: requests.Session,
    url: str,
    token: str | None,
    *,
    tenant: str = TENANT_ID,
    environment: str = ENVIRONMENT,
    path: str = "api/v2.0/companies",
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.get(f"{url}/v2.0/{tenant}/{environment}/{path}", headers=headers)


def aadsts(response: requests.Response) -> int:
    return response.json()["error_codes"][0]
