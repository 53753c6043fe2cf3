"""Helpers for the consent tests: a delegated connector, the sandbox's sign-in page clicked through with
requests (the browser test does it with Chromium), and the callback called like the host calls it."""

from __future__ import annotations

import html
import re
import urllib.parse

import requests

from sandbox import constants
from tests._app import call_http, json_of
from tests._settings import connector_settings

SECRET = constants.DEMO_CLIENT_SECRET


def delegated_settings(**changes) -> dict:
    return connector_settings("us", "delegated", **changes)


def put_delegated(name: str, **changes):
    response = call_http("put_connector", route_params={"name": name}, body=delegated_settings(**changes))
    assert response.status_code in (200, 201), response.get_body()
    return json_of(response)


def start(name: str) -> str:
    response = call_http("start_consent", route_params={"name": name})
    assert response.status_code == 200, response.get_body()
    return json_of(response)["consentUrl"]


def sign_in(consent_url: str, ca_bundle: str, action: str = "accept") -> dict[str, str]:
    """GET the authorize page, press Accept or Cancel, return the query Entra redirects back with."""
    with requests.Session() as http:
        http.verify = ca_bundle
        page = http.get(consent_url, allow_redirects=False)
        assert page.status_code == 200, page.text
        form = re.search(r'<form method="post" action="([^"]+)"', page.text)
        txn = re.search(r'name="txn" value="([^"]+)"', page.text)
        assert form and txn, page.text
        data = {"txn": html.unescape(txn.group(1)), "action": action}
        user = re.search(r'name="user" value="([^"]+)" checked', page.text)
        if user:
            data["user"] = html.unescape(user.group(1))
        origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(consent_url))
        answer = http.post(origin + html.unescape(form.group(1)), data=data, allow_redirects=False)
        assert answer.status_code == 302, answer.text
        location = answer.headers["Location"]
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).items()}


def callback(params: dict[str, str]):
    return call_http("consent_callback", params=params)


def page_text(response) -> str:
    """What a person reads: the HTML without tags, whitespace collapsed."""
    text = re.sub(r"<style>.*?</style>", " ", response.get_body().decode("utf-8"), flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"\s+", " ", text).strip()


def outcome(response) -> str:
    match = re.search(r'data-outcome="([^"]*)"', response.get_body().decode("utf-8"))
    return match.group(1) if match else ""


def consent(name: str, ca_bundle: str, action: str = "accept"):
    """The whole flow for connector `name`; returns the callback's response."""
    return callback(sign_in(start(name), ca_bundle, action))
