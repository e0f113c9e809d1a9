"""/api/v1/contacts"""

from flask.views import MethodView

from services.contacts.domain import contacts
from services.contacts.schemas import (
    ContactListArgs,
    ContactSchema,
    ContactUpdateSchema,
)
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
    "contacts",
    __name__,
    url_prefix="/api/v1/contacts",
    description="Contacts: the people you deal with, optionally at a company.",
)


@blp.route("")
class Contacts(MethodView):
    @blp.arguments(ContactListArgs(), location="query")
    @blp.response(200, page_schema(ContactSchema))
    def get(self, args):
        """List contacts (filters: company_id, owner_id, email; q searches names and email)"""
        return contacts.list_contacts(session=current_session(), args=args)

    @blp.arguments(ContactSchema())
    @blp.response(201, ContactSchema)
    def post(self, data):
        """Create a contact owned by the caller"""
        contact = contacts.create_contact(
            session=current_session(), actor=current_identity(), data=data, users=user_directory()
        )
        return created(contact, "contacts")


@blp.route("/<contact_id>")
class ContactById(MethodView):
    @blp.response(200, ContactSchema)
    def get(self, contact_id):
        """Read one contact"""
        contact = contacts.get_contact(session=current_session(), contact_id=contact_id)
        return contact, {"ETag": etag_of(contact)}

    @blp.arguments(ContactUpdateSchema())
    @blp.response(200, ContactSchema)
    def patch(self, changes, contact_id):
        """Change some fields of a contact (owner or manager; If-Match honoured)"""
        contact = contacts.update_contact(
            session=current_session(),
            actor=current_identity(),
            contact_id=contact_id,
            changes=changes,
            users=user_directory(),
            expected_version=if_match_version(),
        )
        return contact, {"ETag": etag_of(contact)}

    @blp.response(204)
    def delete(self, contact_id):
        """Delete a contact and their interactions"""
        contacts.delete_contact(
            session=current_session(),
            actor=current_identity(),
            contact_id=contact_id,
            expected_version=if_match_version(),
        )
