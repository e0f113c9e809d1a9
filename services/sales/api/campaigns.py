"""/api/v1/campaigns"""

from flask.views import MethodView

from services.sales.domain import campaigns
from services.sales.schemas import CampaignListArgs, CampaignSchema, CampaignUpdateSchema
from shared.api import Blueprint, page_schema
from shared.web import (
    created,
    current_identity,
    current_session,
    etag_of,
    if_match_version,
    user_directory,
)

blp = Blueprint(
    "campaigns",
    __name__,
    url_prefix="/api/v1/campaigns",
    description="Marketing campaigns: budgets and dates; marketing managers and admins write.",
)


@blp.route("")
class Campaigns(MethodView):
    @blp.arguments(CampaignListArgs, location="query")
    @blp.response(200, page_schema(CampaignSchema))
    def get(self, args):
        """List campaigns (filters: status, type, owner_id; q searches the name)"""
        return campaigns.list_campaigns(session=current_session(), args=args)

    @blp.arguments(CampaignSchema)
    @blp.response(201, CampaignSchema)
    def post(self, data):
        """Create a campaign (marketing_manager or admin)"""
        campaign = campaigns.create_campaign(
            session=current_session(), actor=current_identity(), data=data, users=user_directory()
        )
        return created(campaign, "campaigns")


@blp.route("/<campaign_id>")
class CampaignById(MethodView):
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id):
        """Read one campaign"""
        campaign = campaigns.get_campaign(session=current_session(), campaign_id=campaign_id)
        return campaign, {"ETag": etag_of(campaign)}

    @blp.arguments(CampaignUpdateSchema)
    @blp.response(200, CampaignSchema)
    def patch(self, changes, campaign_id):
        """Change some fields of a campaign (marketing_manager or admin; If-Match honoured)"""
        campaign = campaigns.update_campaign(
            session=current_session(),
            actor=current_identity(),
            campaign_id=campaign_id,
            changes=changes,
            users=user_directory(),
            expected_version=if_match_version(),
        )
        return campaign, {"ETag": etag_of(campaign)}

    @blp.response(204)
    def delete(self, campaign_id):
        """Delete a campaign that has no leads or opportunities (marketing_manager or admin)"""
        campaigns.delete_campaign(
            session=current_session(),
            actor=current_identity(),
            campaign_id=campaign_id,
            expected_version=if_match_version(),
        )
