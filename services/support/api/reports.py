"""/api/v1/reports/cases"""

from services.support.api import clock, sla_policy
from services.support.domain import reports
from services.support.schemas import CaseReportArgs, CaseReportSchema
from shared.api import Blueprint
from shared.web import current_session

blp = Blueprint(
    "support-reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="Support reports: open cases, SLA breaches, response and resolution times.",
)


@blp.route("/cases")
@blp.arguments(CaseReportArgs, location="query")
@blp.response(200, CaseReportSchema)
def case_report(args):
    """Cases: open by status and priority, SLA breaches, mean and p90 business hours"""
    return reports.case_report(
        session=current_session(), args=args, sla=sla_policy(), now=clock()()
    )
