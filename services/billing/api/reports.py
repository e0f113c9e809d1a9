"""/api/v1/reports/receivables"""

from services.billing.api import clock
from services.billing.domain import reports
from services.billing.schemas import ReceivablesArgs, ReceivablesSchema
from shared.api import Blueprint
from shared.web import current_session

blp = Blueprint(
    "billing-reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="Billing reports: what customers still owe, by age and company.",
)


@blp.route("/receivables")
@blp.arguments(ReceivablesArgs, location="query")
@blp.response(200, ReceivablesSchema)
def receivables(args):
    """Outstanding (sent + overdue) totals by ageing bucket and per company"""
    return reports.receivables(session=current_session(), args=args, today=clock().today())
