"""Projects: one value of the `projects.dimension` dimension per project, through the `DimensionValues`
page (page 537), because API v2.0 dimension values are read-only (docs/business-central.md §1 "dimensions,
dimensionValues").

Code = the project number (Code[20]); Name = the project name cut to BC's 50 characters (the outcome
says so); Blocked = the project is closed, so no new posting can carry it; reopening unblocks it.

BC requests: a new project 1 (POST); a change 1 (PATCH by key, If-Match *); unchanged content 0. A value
that already exists in BC (made by hand, or by an attempt whose ledger write was lost) answers the POST
with `Internal_EntityWithSameKeyExists`; it is then adopted with one PATCH.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.bc import BcNotFoundError, BcPermanentError
from shared.connectors import ConnectorSettings
from shared.connectors._webservices import not_published_message
from shared.messages import ProjectData, Version, shorten

from ._context import ExportContext, ExportResult
from ._entity import Attempt, EntityJob, EntityRun, Work, content_hash
from ._errors import ExportFailed, attribute_field, failed_from_bc
from ._ledger import PENDING, LedgerRow

__all__ = ["PROJECT", "ProjectPlan", "plan_project", "export_project", "DIMENSION_VALUE_NAME_LENGTH"]

log = logging.getLogger(__name__)

PROJECT = "project"
#: Dimension Value.Name is Text[50] (docs/business-central.md §1 dimensionValues.displayName).
DIMENSION_VALUE_NAME_LENGTH = 50
_ALREADY_EXISTS = "Internal_EntityWithSameKeyExists"


@dataclass(frozen=True)
class ProjectPlan:
    dimension: str
    code: str
    name: str
    blocked: bool
    shortened_from: str | None

    @property
    def digest(self) -> str:
        return content_hash({"dimension": self.dimension, "code": self.code, "name": self.name,
                             "blocked": self.blocked})

    @property
    def key(self) -> dict[str, str]:
        return {"Dimension_Code": self.dimension, "Code": self.code}


def plan_project(data: ProjectData, settings: ConnectorSettings) -> ProjectPlan:
    name, cut = shorten(data.name, DIMENSION_VALUE_NAME_LENGTH)
    return ProjectPlan(dimension=settings.project_dimension, code=data.number, name=name,
                       blocked=data.status == "closed", shortened_from=data.name if cut else None)


def export_project(ctx: ExportContext, data: ProjectData, *, version: Version | None, snapshot: bool = False,
                   prefix: str = "data") -> ExportResult:
    """Export one project as a dimension value. `snapshot`: a project named by an invoice, created only if
    the ledger does not know it yet, so the invoice can carry it."""
    plan = plan_project(data, ctx.settings)
    if snapshot:
        row = ctx.ledger.get(ctx.connector, PROJECT, data.id)
        if row is not None and row.bc_number == plan.code and row.status != "pending":
            return ExportResult("unchanged", row.bc_id, row.bc_number)
    if plan.shortened_from is not None:
        ctx.warn(f"The project name was shortened to Business Central's {DIMENSION_VALUE_NAME_LENGTH} "
                 f"characters: '{plan.name}'.")

    return EntityRun(ctx, _ProjectJob(ctx, data.id, plan, snapshot, prefix), version).run()


class _ProjectJob(EntityJob):
    kind = PROJECT

    def __init__(self, ctx: ExportContext, host_id: str, plan: ProjectPlan, snapshot: bool, prefix: str) -> None:
        self.ctx, self.host_id, self.plan, self.snapshot, self.prefix = ctx, host_id, plan, snapshot, prefix
        self.digest = plan.digest

    def known(self, row: LedgerRow) -> bool:
        return row.bc_number == self.plan.code and row.status != PENDING

    def work(self, attempt: Attempt) -> Work:
        plan = self.plan
        try:
            return _write(self.ctx, attempt, plan, self.snapshot)
        except BcPermanentError as err:
            field = attribute_field(err.message, [
                ("projects.dimension", ("Dimension Code",), plan.dimension),
                (f"{self.prefix}.number", ("Code",), plan.code),
            ], f"{self.prefix}.number")
            raise failed_from_bc(err, field) from err


def _write(ctx: ExportContext, attempt: Attempt, plan: ProjectPlan, snapshot: bool) -> Work:
    client = ctx.client()
    service = ctx.settings.web_services.dimension_values
    previous = attempt.previous
    body = {"Name": plan.name, "Blocked": plan.blocked}
    if previous is not None and previous.bc_number and previous.bc_number != plan.code:
        ctx.warn(f"The project number changed from {previous.bc_number} to {plan.code}: a new dimension value "
                 f"was made; {previous.bc_number} was left as it is in Business Central.")
    known = previous is not None and previous.bc_number == plan.code and previous.details.get("dimension") \
        == plan.dimension
    try:
        if known:
            try:
                client.update_odata(ctx.company_name, service, plan.key, body, etag="*")
                return Work("updated", None, plan.code, {"dimension": plan.dimension})
            except BcNotFoundError as err:
                if err.code != "Internal_RecordNotFound":
                    raise
                log.warning("Dimension value %s %s was deleted in BC; creating it again", plan.dimension,
                            plan.code)
        try:
            client.create_odata(ctx.company_name, service, {**plan.key, **body, "Dimension_Value_Type": "Standard"})
            attempt.created(None, plan.code)
            return Work("created", None, plan.code, {"dimension": plan.dimension})
        except BcPermanentError as err:
            if err.code != _ALREADY_EXISTS:
                raise
        if snapshot:
            # Named by an invoice, already in BC: use it as it is (a closed project stays blocked; the
            # project's own messages manage its name and state).
            return Work("unchanged", None, plan.code, {"dimension": plan.dimension}, content_known=False)
        client.update_odata(ctx.company_name, service, plan.key, body, etag="*")
        return Work("updated", None, plan.code, {"dimension": plan.dimension})
    except BcNotFoundError as err:
        if err.code in ("BadRequest_NotFound", "Internal_CompanyNotFound"):
            raise ExportFailed(
                err.code or "NotFound",
                not_published_message("dimensionValues", service, ctx.company_name, "replay the message"),
                "webServices.dimensionValues", replayable=True) from err
        raise
