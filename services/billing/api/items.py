"""/api/v1/invoices/{id}/items: a draft's items (only drafts change)"""

from flask.views import MethodView

from services.billing.api import sales_port
from services.billing.domain import items
from services.billing.schemas import ItemSchema, ItemsSchema, ItemUpdateSchema
from shared.api import Blueprint
from shared.web import API_PREFIX, current_identity, current_session, if_match_version

blp = Blueprint(
    "invoice-items",
    __name__,
    url_prefix="/api/v1/invoices",
    description="A draft invoice's items; the total follows them.",
)


@blp.route("/<invoice_id>/items")
class Items(MethodView):
    @blp.response(200, ItemsSchema)
    def get(self, invoice_id):
        """The invoice's items"""
        return {"items": items.list_items(session=current_session(), invoice_id=invoice_id)}

    @blp.arguments(ItemSchema)
    @blp.response(201, ItemSchema)
    def post(self, data, invoice_id):
        """Add an item to a draft (price defaults to the product's list price)"""
        item = items.add_item(
            session=current_session(),
            actor=current_identity(),
            invoice_id=invoice_id,
            data=data,
            sales=sales_port(),
            expected_version=if_match_version(),
        )
        return item, {"Location": f"{API_PREFIX}/invoices/{invoice_id}/items/{item.id}"}


@blp.route("/<invoice_id>/items/<item_id>")
class ItemById(MethodView):
    @blp.response(200, ItemSchema)
    def get(self, invoice_id, item_id):
        """Read one item"""
        return items.get_item(session=current_session(), invoice_id=invoice_id, item_id=item_id)

    @blp.arguments(ItemUpdateSchema)
    @blp.response(200, ItemSchema)
    def patch(self, changes, invoice_id, item_id):
        """Change a draft item's description, quantity or unit price"""
        return items.update_item(
            session=current_session(),
            actor=current_identity(),
            invoice_id=invoice_id,
            item_id=item_id,
            changes=changes,
            expected_version=if_match_version(),
        )

    @blp.response(204)
    def delete(self, invoice_id, item_id):
        """Remove an item from a draft"""
        items.remove_item(
            session=current_session(),
            actor=current_identity(),
            invoice_id=invoice_id,
            item_id=item_id,
            expected_version=if_match_version(),
        )
