"""/api/v1/reports/pipeline and /api/v1/reports/campaigns"""

from services.sales.domain import reports
from services.sales.schemas import CampaignReportSchema, PipelineSchema, ReportArgs
from shared.api import Blueprint
from shared.web import current_session

blp = Blueprint(
    "sales-reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="Sales reports: the pipeline by stage and month, and campaign returns.",
)


@blp.route("/pipeline")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, PipelineSchema)
def pipeline(args):
    """Pipeline: per stage count, total and weighted value; forecast by month; win rate"""
    return reports.pipeline(session=current_session(), args=args)


@blp.route("/campaigns")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, CampaignReportSchema)
def campaign_report(args):
    """Campaigns: leads, conversions, opportunities, wins, revenue, cost per lead and ROI"""
    return reports.campaigns(session=current_session(), args=args)
