"""How a consent page is drawn: every way a consent can end has its own page (`_pages` builds them), each
saying what happened and what to do: plain HTML, no script, no external resources, one heading, the facts,
then numbered steps. Every value is escaped (connector names, company names, user names and codes all
pass through `html.escape`); no page carries a token, a code, a verifier or Entra's free text, only
AADSTS numbers and correlation ids, which support needs and which are not secret.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Iterable, Sequence

__all__ = ["Page", "render_page", "PAGE_HEADERS"]

#: Sent with every page: never cached (it follows a one-time code), never framed, no referrer (the
#: callback URL held the code), nothing loaded from elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class Page:
    status: int
    tone: str  # ok | warning | error
    title: str
    lead: Sequence[str]
    facts: Sequence[tuple[str, str]] = ()
    steps_heading: str = "What to do now"
    steps: Sequence[str] = ()
    reference: Sequence[str] = field(default_factory=tuple)
    #: A short machine-readable outcome, also put on the <body> for tests and support.
    outcome: str = ""


_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;line-height:1.5;"
    "color:#1b1b1b;background:#fff;margin:0}"
    "main{max-width:42rem;margin:2.5rem auto;padding:0 1.25rem}"
    ".banner{border-left:.4rem solid;padding:.8rem 1rem;margin:0 0 1.25rem;border-radius:.2rem}"
    ".ok{border-color:#107c10;background:#f1faf1}.warning{border-color:#8a6d00;background:#fff8e1}"
    ".error{border-color:#a4262c;background:#fdf3f4}"
    "h1{font-size:1.55rem;margin:0;line-height:1.3}h2{font-size:1.15rem;margin-top:1.75rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:1rem 0}"
    "dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}li{margin:.35rem 0}"
    ".ref{color:#4a4a4a;font-size:.9rem;margin-top:2rem;border-top:1px solid #ddd;padding-top:.75rem}"
    "footer{color:#4a4a4a;font-size:.85rem;margin-top:1.5rem}"
)


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _paragraphs(items: Iterable[str]) -> str:
    return "".join(f"<p>{_e(p)}</p>" for p in items)


def render_page(page: Page) -> str:
    """The page as a complete HTML document (UTF-8)."""
    role = "status" if page.tone == "ok" else "alert"
    facts = ""
    if page.facts:
        facts = "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in page.facts) + "</dl>"
    steps = ""
    if page.steps:
        steps = (f"<h2>{_e(page.steps_heading)}</h2><ol>"
                 + "".join(f"<li>{_e(s)}</li>" for s in page.steps) + "</ol>")
    reference = ""
    if page.reference:
        reference = '<p class="ref">' + "<br>".join(_e(r) for r in page.reference) + "</p>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{_e(page.title)} - bc-connector</title><style>{_STYLE}</style></head>"
        f'<body data-outcome="{_e(page.outcome)}"><main>'
        f'<div class="banner {_e(page.tone)}" role="{role}"><h1>{_e(page.title)}</h1></div>'
        f"{_paragraphs(page.lead)}{facts}{steps}{reference}"
        "<footer>bc-connector: the link between your business application and Microsoft Dynamics 365 "
        "Business Central.</footer>"
        "</main></body></html>"
    )
