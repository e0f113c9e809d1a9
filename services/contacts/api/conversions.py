"""/api/v1/conversions: the contacts side of lead conversion, for the sales service only."""

from flask.views import MethodView

from services.contacts.domain import conversions
from services.contacts.schemas import ContactsConversionCreateSchema, ContactsConversionSchema
from shared.api import Blueprint
from shared.web import API_PREFIX, current_identity, current_session

blp = Blueprint(
    "conversions",
    __name__,
    url_prefix="/api/v1/conversions",
    description="Lead conversions: the company and contact a lead became. Service tokens only.",
)


@blp.route("")
class Conversions(MethodView):
    @blp.arguments(ContactsConversionCreateSchema())
    @blp.response(201, ContactsConversionSchema)
    @blp.alt_response(
        200, schema=ContactsConversionSchema, description="Already converted: the result"
    )
    def post(self, data):
        """Convert a lead: create or attach its company and contact, once per lead_id"""
        conversion, converted_now = conversions.convert_lead(
            session=current_session(), actor=current_identity(), data=data
        )
        location = {"Location": f"{API_PREFIX}/conversions/{conversion.lead_id}"}
        return conversion, 201 if converted_now else 200, location


@blp.route("/<lead_id>")
class ConversionByLead(MethodView):
    @blp.response(200, ContactsConversionSchema)
    def get(self, lead_id):
        """Read the result of converting a lead"""
        return conversions.get_conversion(
            session=current_session(), actor=current_identity(), lead_id=lead_id
        )

    @blp.response(204)
    def delete(self, lead_id):
        """Undo a conversion: delete the company and contact it created, unless in use"""
        conversions.cancel_conversion(
            session=current_session(), actor=current_identity(), lead_id=lead_id
        )
