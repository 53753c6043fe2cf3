"""BC's error texts, built in one place so every entity words them the same way.

Codes and formats from dynamics-error-codes.md (docs/business-central.md §5); AL label texts are quoted where the AL
source was read (APIV2 pages in microsoft/ALAppExtensions); the rest is marked *inferred* at the call site.
"""

from __future__ import annotations

from sandbox.errors import BcApiError

__all__ = [
    "dialog",
    "record_not_found",
    "already_exists",
    "table_relation",
    "must_have_value",
    "must_be_equal",
    "resource_not_found",
    "method_not_allowed",
    "not_implemented",
    "no_http_resource",
]


def dialog(message: str, status: int = 400) -> BcApiError:
    """An AL Error(): BC reports it as Application_DialogException."""
    return BcApiError(status, "Application_DialogException", message)


def _ident(fields: list[tuple[str, str]]) -> str:
    return ",".join("%s='%s'" % (name, value) for name, value in fields)


def record_not_found(caption: str, fields: list[tuple[str, str]]) -> BcApiError:
    """'The … does not exist. Identification fields and values: …' (404 is inferred, docs/business-central.md open question 2)."""
    return BcApiError(404, "Internal_RecordNotFound",
                      "The %s does not exist. Identification fields and values: %s" % (caption, _ident(fields)))


def already_exists(caption: str, fields: list[tuple[str, str]]) -> BcApiError:
    """Duplicate primary key on insert. The 400 status is inferred."""
    return BcApiError(400, "Internal_EntityWithSameKeyExists",
                      "The %s already exists. Identification fields and values: %s" % (caption, _ident(fields)))


def table_relation(field_caption: str, table_caption: str, value: str, related_caption: str) -> BcApiError:
    """BC's standard TableRelation validation text, reported with the Internal_InvalidTableRelation code."""
    return BcApiError(400, "Internal_InvalidTableRelation",
                      "The field %s of table %s contains a value (%s) that cannot be found in the related table (%s)."
                      % (field_caption, table_caption, value, related_caption))


def must_have_value(field_caption: str, table_caption: str, key: str) -> BcApiError:
    """TestField on a blank value, e.g. 'Customer Posting Group must have a value in Customer: No.=C00690.
    It cannot be zero or empty.' (dynamics-error-codes.md)."""
    return BcApiError(400, "Application_FieldValidationException",
                      "%s must have a value in %s: %s. It cannot be zero or empty."
                      % (field_caption, table_caption, key))


def must_be_equal(field_caption: str, expected: str, table_caption: str, key: str, current: str) -> BcApiError:
    """TestField(Field, Value): "Blocked must be equal to 'No'  in Item: No.=1000. Current value is 'Yes'."
    (two spaces before 'in', as BC prints it)."""
    return BcApiError(400, "Application_FieldValidationException",
                      "%s must be equal to '%s'  in %s: %s. Current value is '%s'."
                      % (field_caption, expected, table_caption, key, current))


def resource_not_found(segment: str) -> BcApiError:
    return BcApiError(404, "BadRequest_ResourceNotFound", "Resource not found for the segment '%s'." % segment)


def method_not_allowed(method: str, set_name: str) -> BcApiError:
    """E.g. POST on companies or on read-only pages such as dimensionValues (dynamics-error-codes.md lists the
    code; the text is BC's OData message as commonly reported, inferred)."""
    return BcApiError(405, "BadRequest_MethodNotAllowed",
                      "'%s' requests for '%s' of EdmEntityType are not allowed within Dynamics 365 Business Central "
                      "OData web services." % (method, set_name))


def not_implemented(what: str) -> BcApiError:
    """Something BC has that the sandbox does not model: said plainly instead of pretending it does not exist."""
    return BcApiError(501, "BadRequest_MethodNotImplemented", "The BC sandbox does not implement %s." % what)


def no_http_resource(url: str) -> BcApiError:
    """ASP.NET Web API's routing text; BC answers it for unknown routes and unpublished web services (inferred)."""
    return BcApiError(404, "BadRequest_NotFound", "No HTTP resource was found that matches the request URI '%s'." % url)
