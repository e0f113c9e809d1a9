"""/api/v1/cases"""

from flask.views import MethodView

from services.support.api import clock, contacts_port, sla_policy
from services.support.domain import cases
from services.support.schemas import CaseListArgs, CaseSchema, CaseUpdateSchema
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
    "cases",
    __name__,
    url_prefix="/api/v1/cases",
    description="Support cases: numbered, worked along a workflow, on an SLA clock.",
)


@blp.route("")
class Cases(MethodView):
    @blp.arguments(CaseListArgs, location="query")
    @blp.response(200, page_schema(CaseSchema))
    def get(self, args):
        """List cases (filters: status, priority, type, owner_id, contact_id; q searches)"""
        return cases.list_cases(session=current_session(), args=args)

    @blp.arguments(CaseSchema)
    @blp.response(201, CaseSchema)
    def post(self, data):
        """Open a case for a contact, owned by the caller (a manager may name another owner)"""
        case = cases.create_case(
            session=current_session(),
            actor=current_identity(),
            data=data,
            users=user_directory(),
            contacts=contacts_port(),
            sla=sla_policy(),
            clock=clock(),
        )
        return created(case, "cases")


@blp.route("/<case_id>")
class CaseById(MethodView):
    @blp.response(200, CaseSchema)
    def get(self, case_id):
        """Read one case"""
        case = cases.get_case(session=current_session(), case_id=case_id)
        return case, {"ETag": etag_of(case)}

    @blp.arguments(CaseUpdateSchema)
    @blp.response(200, CaseSchema)
    def patch(self, changes, case_id):
        """Change a case; `status` moves it along the workflow, a manager may reassign it"""
        case = cases.update_case(
            session=current_session(),
            actor=current_identity(),
            case_id=case_id,
            changes=changes,
            users=user_directory(),
            contacts=contacts_port(),
            sla=sla_policy(),
            expected_version=if_match_version(),
            clock=clock(),
        )
        return case, {"ETag": etag_of(case)}
