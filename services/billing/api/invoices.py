"""/api/v1/invoices: drafts, the status flow (send, pay, void) and the PDF"""

from flask import Response
from flask.views import MethodView

from services.billing.api import clock, sales_port, seller, terms_days
from services.billing.domain import invoices, pdf, status
from services.billing.schemas import EmptySchema, InvoiceListArgs, InvoiceSchema, PaySchema
from shared.api import Blueprint, page_schema
from shared.web import created, current_identity, current_session, etag_of, if_match_version

blp = Blueprint(
    "invoices",
    __name__,
    url_prefix="/api/v1/invoices",
    description="Invoices: drafts from won opportunities, numbering at send, payment, PDFs.",
)


def _with_etag(invoice):
    return invoice, {"ETag": etag_of(invoice)}


@blp.route("")
class Invoices(MethodView):
    @blp.arguments(InvoiceListArgs, location="query")
    @blp.response(200, page_schema(InvoiceSchema))
    def get(self, args):
        """List invoices (filters: status, opportunity_id, owner_id, company_id, number)"""
        return invoices.list_invoices(session=current_session(), args=args)

    @blp.arguments(InvoiceSchema)
    @blp.response(201, InvoiceSchema)
    def post(self, data):
        """Make a draft invoice by hand for an opportunity (items checked against sales)"""
        invoice = invoices.create_invoice(
            session=current_session(),
            actor=current_identity(),
            data=data,
            sales=sales_port(),
            today=clock().today(),
            terms_days=terms_days(),
        )
        return created(invoice, "invoices")


@blp.route("/<invoice_id>")
class InvoiceById(MethodView):
    @blp.response(200, InvoiceSchema)
    def get(self, invoice_id):
        """Read one invoice with its items"""
        return _with_etag(invoices.get_invoice(session=current_session(), invoice_id=invoice_id))


@blp.route("/<invoice_id>/send", methods=["POST"])
@blp.arguments(EmptySchema)
@blp.response(200, InvoiceSchema)
def send(_body, invoice_id):
    """Send a draft: it gets its number (INV-<year>-<6 digits>) and sent_at"""
    invoice = status.send_invoice(
        session=current_session(),
        actor=current_identity(),
        invoice_id=invoice_id,
        now=clock().now(),
        expected_version=if_match_version(),
    )
    return _with_etag(invoice)


@blp.route("/<invoice_id>/pay", methods=["POST"])
@blp.arguments(PaySchema)
@blp.response(200, InvoiceSchema)
def pay(body, invoice_id):
    """Record the payment of a sent or overdue invoice (payment_method required)"""
    invoice = status.pay_invoice(
        session=current_session(),
        actor=current_identity(),
        invoice_id=invoice_id,
        payment_method=body["payment_method"],
        now=clock().now(),
        expected_version=if_match_version(),
    )
    return _with_etag(invoice)


@blp.route("/<invoice_id>/void", methods=["POST"])
@blp.arguments(EmptySchema)
@blp.response(200, InvoiceSchema)
def void(_body, invoice_id):
    """Void a draft or a sent invoice"""
    invoice = status.void_invoice(
        session=current_session(),
        actor=current_identity(),
        invoice_id=invoice_id,
        now=clock().now(),
        expected_version=if_match_version(),
    )
    return _with_etag(invoice)


@blp.route("/<invoice_id>/pdf")
@blp.response(200, content_type="application/pdf")
def invoice_pdf(invoice_id):
    """The invoice as a PDF download"""
    body, name = pdf.render_invoice(
        session=current_session(), invoice_id=invoice_id, seller=seller()
    )
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
