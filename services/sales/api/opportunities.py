"""/api/v1/opportunities, their line items (/products) and stage history"""

from flask.views import MethodView

from services.sales.api import contacts_port
from services.sales.domain import lines, opportunities
from services.sales.schemas import (
    HistorySchema,
    LineSchema,
    LinesSchema,
    LineUpdateSchema,
    OpportunityListArgs,
    OpportunitySchema,
    OpportunityUpdateSchema,
)
from shared.api import Blueprint, page_schema
from shared.web import (
    API_PREFIX,
    created,
    current_identity,
    current_session,
    etag_of,
    if_match_version,
    user_directory,
)

blp = Blueprint(
    "opportunities",
    __name__,
    url_prefix="/api/v1/opportunities",
    description="Opportunities: the pipeline, their products and their stage history.",
)


@blp.route("")
class Opportunities(MethodView):
    @blp.arguments(OpportunityListArgs, location="query")
    @blp.response(200, page_schema(OpportunitySchema))
    def get(self, args):
        """List opportunities (filters: stage, source, owner_id, contact_id, company_id, …)"""
        return opportunities.list_opportunities(session=current_session(), args=args)

    @blp.arguments(OpportunitySchema)
    @blp.response(201, OpportunitySchema)
    def post(self, data):
        """Open an opportunity owned by the caller"""
        opportunity = opportunities.create_opportunity(
            session=current_session(),
            actor=current_identity(),
            data=data,
            users=user_directory(),
            contacts=contacts_port(),
        )
        return created(opportunity, "opportunities")


@blp.route("/<opportunity_id>")
class OpportunityById(MethodView):
    @blp.response(200, OpportunitySchema)
    def get(self, opportunity_id):
        """Read one opportunity"""
        opportunity = opportunities.get_opportunity(
            session=current_session(), opportunity_id=opportunity_id
        )
        return opportunity, {"ETag": etag_of(opportunity)}

    @blp.arguments(OpportunityUpdateSchema)
    @blp.response(200, OpportunitySchema)
    def patch(self, changes, opportunity_id):
        """Change fields or move the stage (closed_lost needs lost_reason; won is final)"""
        opportunity = opportunities.update_opportunity(
            session=current_session(),
            actor=current_identity(),
            opportunity_id=opportunity_id,
            changes=changes,
            users=user_directory(),
            contacts=contacts_port(),
            expected_version=if_match_version(),
        )
        return opportunity, {"ETag": etag_of(opportunity)}

    @blp.response(204)
    def delete(self, opportunity_id):
        """Delete an opportunity that is neither won nor made by a lead conversion"""
        opportunities.delete_opportunity(
            session=current_session(),
            actor=current_identity(),
            opportunity_id=opportunity_id,
            expected_version=if_match_version(),
        )


@blp.route("/<opportunity_id>/history")
@blp.response(200, HistorySchema)
def history(opportunity_id):
    """Every stage the opportunity entered, oldest first (creation has from_stage null)"""
    return {
        "items": opportunities.history(session=current_session(), opportunity_id=opportunity_id)
    }


@blp.route("/<opportunity_id>/products")
class Lines(MethodView):
    @blp.response(200, LinesSchema)
    def get(self, opportunity_id):
        """The opportunity's line items"""
        return {"items": lines.list_lines(session=current_session(), opportunity_id=opportunity_id)}

    @blp.arguments(LineSchema)
    @blp.response(201, LineSchema)
    def post(self, data, opportunity_id):
        """Add a product line (one per product; unit_price defaults to the list price)"""
        line = lines.add_line(
            session=current_session(),
            actor=current_identity(),
            opportunity_id=opportunity_id,
            data=data,
            expected_version=if_match_version(),
        )
        location = f"{API_PREFIX}/opportunities/{opportunity_id}/products/{line.product_id}"
        return line, {"Location": location}


@blp.route("/<opportunity_id>/products/<product_id>")
class LineByProduct(MethodView):
    @blp.response(200, LineSchema)
    def get(self, opportunity_id, product_id):
        """Read one line item (the one for this product)"""
        return lines.get_line(
            session=current_session(), opportunity_id=opportunity_id, product_id=product_id
        )

    @blp.arguments(LineUpdateSchema)
    @blp.response(200, LineSchema)
    def patch(self, changes, opportunity_id, product_id):
        """Change a line's quantity or unit price"""
        return lines.update_line(
            session=current_session(),
            actor=current_identity(),
            opportunity_id=opportunity_id,
            product_id=product_id,
            changes=changes,
            expected_version=if_match_version(),
        )

    @blp.response(204)
    def delete(self, opportunity_id, product_id):
        """Remove a line"""
        lines.remove_line(
            session=current_session(),
            actor=current_identity(),
            opportunity_id=opportunity_id,
            product_id=product_id,
            expected_version=if_match_version(),
        )
