"""The OData V4 pages the connector needs beyond API v2.0, and how to tell a person to publish one.

The same advice is given on the settings screen (save) and in an export's outcome, so it is worded once.
"""

from __future__ import annotations

__all__ = ["WEB_SERVICE_PAGES", "not_published_message"]

#: `webServices.*` setting -> (page id, page caption) in BC.
WEB_SERVICE_PAGES = {
    "customerCard": (21, "Customer Card"),
    "dimensionValues": (537, "Dimension Values"),
    "genBusPostingGroups": (312, "Gen. Business Posting Groups"),
    "customerPostingGroups": (110, "Customer Posting Groups"),
    "noSeries": (456, "No. Series"),
    "salesSetup": (459, "Sales & Receivables Setup"),
    "itemCard": (30, "Item Card"),
}


def not_published_message(setting: str, service: str, company: str, then: str) -> str:
    """What is missing and how to publish it; `then` says what to do afterwards ("save the connector again")."""
    page, caption = WEB_SERVICE_PAGES[setting]
    return (f"The OData V4 web service '{service}' (page {page} '{caption}') is not published in company "
            f"'{company}'. In BC, search for 'Web Services', choose New, set Object Type Page, Object ID {page}, "
            f"Service Name {service}, tick Published, and {then}.")
