"""/api/v1/companies"""

from flask.views import MethodView

from services.contacts.domain import companies
from services.contacts.schemas import (
    CompanyListArgs,
    CompanySchema,
    CompanyUpdateSchema,
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
    "companies",
    __name__,
    url_prefix="/api/v1/companies",
    description="Companies: the organisations you sell to and serve.",
)


@blp.route("")
class Companies(MethodView):
    @blp.arguments(CompanyListArgs(), location="query")
    @blp.response(200, page_schema(CompanySchema))
    def get(self, args):
        """List companies (filters: owner_id, industry, country; q searches name, email, website)"""
        return companies.list_companies(session=current_session(), args=args)

    @blp.arguments(CompanySchema())
    @blp.response(201, CompanySchema)
    def post(self, data):
        """Create a company owned by the caller"""
        company = companies.create_company(
            session=current_session(), actor=current_identity(), data=data, users=user_directory()
        )
        return created(company, "companies")


@blp.route("/<company_id>")
class CompanyById(MethodView):
    @blp.response(200, CompanySchema)
    def get(self, company_id):
        """Read one company"""
        company = companies.get_company(session=current_session(), company_id=company_id)
        return company, {"ETag": etag_of(company)}

    @blp.arguments(CompanyUpdateSchema())
    @blp.response(200, CompanySchema)
    def patch(self, changes, company_id):
        """Change some fields of a company (owner or manager; If-Match honoured)"""
        company = companies.update_company(
            session=current_session(),
            actor=current_identity(),
            company_id=company_id,
            changes=changes,
            users=user_directory(),
            expected_version=if_match_version(),
        )
        return company, {"ETag": etag_of(company)}

    @blp.response(204)
    def delete(self, company_id):
        """Delete a company that has no contacts or interactions"""
        companies.delete_company(
            session=current_session(),
            actor=current_identity(),
            company_id=company_id,
            expected_version=if_match_version(),
        )
