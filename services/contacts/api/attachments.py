"""/api/v1/attachments"""

from flask import Response, current_app
from flask.views import MethodView

from services.contacts.domain import attachments
from services.contacts.domain.files import content_disposition
from services.contacts.schemas import AttachmentListArgs, AttachmentSchema, AttachmentUploadSchema
from services.contacts.storage import MissingFile
from shared.api import Blueprint, page_schema
from shared.errors import NotFound
from shared.web import (
    API_PREFIX,
    after_failed_commit,
    current_identity,
    current_session,
)

blp = Blueprint(
    "attachments",
    __name__,
    url_prefix="/api/v1/attachments",
    description="Attachments: files on a company, contact, lead, opportunity, case, invoice, ….",
)


def storage():
    """The attachment storage this app was built with."""
    return current_app.extensions["storage"]


@blp.route("")
class Attachments(MethodView):
    @blp.arguments(AttachmentListArgs(), location="query")
    @blp.response(200, page_schema(AttachmentSchema))
    def get(self, args):
        """List attachments, e.g. a record's (record_type and record_id)"""
        return attachments.list_attachments(session=current_session(), args=args)

    @blp.arguments(AttachmentUploadSchema(), location="multipart")
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(413, description="The file is over the size limit (25 MiB by default)")
    def post(self, data):
        """Upload a file onto a record that exists (multipart/form-data); its type is sniffed"""
        attachment = attachments.attach_file(
            session=current_session(),
            actor=current_identity(),
            data=data,
            records=current_app.extensions["records"],
            storage=storage(),
            max_bytes=current_app.extensions["settings"].attachment_max_bytes,
        )
        after_failed_commit(lambda _exc: storage().delete(attachment.file_path))
        return attachment, 201, {"Location": f"{API_PREFIX}/attachments/{attachment.id}"}


@blp.route("/<attachment_id>")
class AttachmentById(MethodView):
    @blp.response(200, AttachmentSchema)
    def get(self, attachment_id):
        """Read one attachment's details"""
        return attachments.get_attachment(session=current_session(), attachment_id=attachment_id)

    @blp.response(204)
    def delete(self, attachment_id):
        """Take the file off its record; the stored file is deleted"""
        attachments.remove_attachment(
            session=current_session(), actor=current_identity(), attachment_id=attachment_id
        )


@blp.route("/<attachment_id>/content")
class AttachmentContent(MethodView):
    @blp.response(200, description="The file's bytes, with its sniffed Content-Type")
    def get(self, attachment_id):
        """Download the file, streamed, as an attachment (never rendered inline)"""
        attachment = attachments.get_attachment(
            session=current_session(), attachment_id=attachment_id
        )
        try:
            chunks = storage().open(attachment.file_path)
        except MissingFile:
            raise NotFound("The attachment's file is gone.") from None
        # content_type, not mimetype: no charset is added to a text file that may not be UTF-8
        response = Response(chunks, content_type=attachment.mime_type, direct_passthrough=True)
        response.content_length = attachment.size
        value, options = content_disposition(attachment.file_name)
        response.headers.set("Content-Disposition", value, **options)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Cache-Control"] = "private, no-cache"
        return response
