"""/api/v1/products"""

from flask.views import MethodView

from services.sales.domain import products
from services.sales.schemas import ProductListArgs, ProductSchema, ProductUpdateSchema
from shared.api import Blueprint, page_schema
from shared.web import created, current_identity, current_session, etag_of, if_match_version

blp = Blueprint(
    "products",
    __name__,
    url_prefix="/api/v1/products",
    description="The product catalogue opportunities sell from; sales managers and admins write.",
)


@blp.route("")
class Products(MethodView):
    @blp.arguments(ProductListArgs, location="query")
    @blp.response(200, page_schema(ProductSchema))
    def get(self, args):
        """List products (filters: type, sku, is_active; q searches name and sku)"""
        return products.list_products(session=current_session(), args=args)

    @blp.arguments(ProductSchema)
    @blp.response(201, ProductSchema)
    def post(self, data):
        """Add a product; a repeated sku is a 409 (sales_manager or admin)"""
        product = products.create_product(
            session=current_session(), actor=current_identity(), data=data
        )
        return created(product, "products")


@blp.route("/<product_id>")
class ProductById(MethodView):
    @blp.response(200, ProductSchema)
    def get(self, product_id):
        """Read one product"""
        product = products.get_product(session=current_session(), product_id=product_id)
        return product, {"ETag": etag_of(product)}

    @blp.arguments(ProductUpdateSchema)
    @blp.response(200, ProductSchema)
    def patch(self, changes, product_id):
        """Change a product (sales_manager or admin; If-Match honoured)"""
        product = products.update_product(
            session=current_session(),
            actor=current_identity(),
            product_id=product_id,
            changes=changes,
            expected_version=if_match_version(),
        )
        return product, {"ETag": etag_of(product)}

    @blp.response(204)
    def delete(self, product_id):
        """Delete a product no opportunity uses (sales_manager or admin)"""
        products.delete_product(
            session=current_session(),
            actor=current_identity(),
            product_id=product_id,
            expected_version=if_match_version(),
        )
