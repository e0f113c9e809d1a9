"""/api/v1/leads and POST /api/v1/leads/{id}/convert"""

from flask import current_app
from flask.views import MethodView

from services.sales.api import contacts_port
from services.sales.domain import conversion, leads
from services.sales.schemas import (
    ConvertSchema,
    LeadConversionSchema,
    LeadListArgs,
    LeadSchema,
    LeadUpdateSchema,
)
from shared.api import Blueprint, page_schema
from shared.web import (
    after_failed_commit,
    created,
    current_identity,
    current_session,
    etag_of,
    if_match_version,
    user_directory,
)

blp = Blueprint(
    "leads",
    __name__,
    url_prefix="/api/v1/leads",
    description="Leads: prospects worked by SDRs, assigned by managers, converted into customers.",
)


@blp.route("")
class Leads(MethodView):
    @blp.arguments(LeadListArgs, location="query")
    @blp.response(200, page_schema(LeadSchema))
    def get(self, args):
        """List leads (filters: status, owner_id, campaign_id, lead_source, email; q searches)"""
        return leads.list_leads(session=current_session(), args=args)

    @blp.arguments(LeadSchema)
    @blp.response(201, LeadSchema)
    def post(self, data):
        """Create a lead owned by the caller (a manager may name another owner)"""
        lead = leads.create_lead(
            session=current_session(), actor=current_identity(), data=data, users=user_directory()
        )
        return created(lead, "leads")


@blp.route("/<lead_id>")
class LeadById(MethodView):
    @blp.response(200, LeadSchema)
    def get(self, lead_id):
        """Read one lead"""
        lead = leads.get_lead(session=current_session(), lead_id=lead_id)
        return lead, {"ETag": etag_of(lead)}

    @blp.arguments(LeadUpdateSchema)
    @blp.response(200, LeadSchema)
    def patch(self, changes, lead_id):
        """Change a lead; a manager changing owner_id assigns it (lead.assigned)"""
        lead = leads.update_lead(
            session=current_session(),
            actor=current_identity(),
            lead_id=lead_id,
            changes=changes,
            users=user_directory(),
            expected_version=if_match_version(),
        )
        return lead, {"ETag": etag_of(lead)}

    @blp.response(204)
    def delete(self, lead_id):
        """Delete an unconverted lead"""
        leads.delete_lead(
            session=current_session(),
            actor=current_identity(),
            lead_id=lead_id,
            expected_version=if_match_version(),
        )


@blp.route("/<lead_id>/convert", methods=["POST"])
@blp.arguments(ConvertSchema)
@blp.response(201, LeadConversionSchema)
def convert(body, lead_id):
    """Convert a lead into a contact (and company) and an opportunity, all or nothing"""
    contacts = contacts_port()
    done = conversion.convert_lead(
        session=current_session(),
        actor=current_identity(),
        lead_id=lead_id,
        body=body,
        contacts=contacts,
    )
    database = current_app.extensions["database"]
    after_failed_commit(
        lambda _exc: conversion.compensate_unless_converted(database, contacts, lead_id)
    )
    return done.result
