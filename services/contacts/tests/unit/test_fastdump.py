"""FastDump gives exactly what marshmallow's own dump gives, only faster."""

from datetime import UTC, datetime
from decimal import Decimal

import marshmallow as ma
import pytest

from services.contacts.events import CATALOG
from services.contacts.fastdump import FastDump
from services.contacts.models import Company, Contact, Interaction
from services.contacts.schemas import (
    CompanySchema,
    ContactSchema,
    InteractionSchema,
    TagSchema,
)
from shared.api import page_schema

NOW = datetime(2026, 12, 3, 6, 40, 1, 123456, tzinfo=UTC)


def marshmallows_dump(schema: ma.Schema, obj, many=None):
    return ma.Schema.dump(schema, obj, many=many)


def same(left, right) -> bool:
    """Equal and in the same key order, so the JSON text is the same too."""
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    return left == right and list(left) == list(right)


def contact(**changes) -> Contact:
    fields = {
        "id": "c-1",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone_number": None,
        "job_title": "Engineer",
        "company_id": None,
        "owner_id": "u-1",
        "created_at": NOW,
        "updated_at": NOW,
        "version": 3,
    }
    return Contact(**{**fields, **changes})


def test_a_contact_dumps_as_marshmallow_dumps_it():
    schema = ContactSchema()
    record = contact()
    assert same(schema.dump(record), marshmallows_dump(ContactSchema(), record))


def test_a_page_of_contacts_dumps_as_marshmallow_dumps_it():
    page = {"items": [contact(id=f"c-{i}", email=None) for i in range(3)], "next_cursor": "x"}
    fast = page_schema(ContactSchema)().dump(page)
    slow = {
        "items": marshmallows_dump(ContactSchema(), page["items"], many=True),
        "next_cursor": "x",
    }
    assert same(fast["items"], slow["items"]) and fast == slow


def test_money_and_other_fields_keep_their_own_serialisation():
    company = Company(
        id="co-1",
        name="Acme",
        annual_revenue=Decimal("1250.50"),
        employee_count=12,
        owner_id="u-1",
        created_at=NOW,
        updated_at=NOW,
        version=1,
    )
    dumped = CompanySchema().dump(company)
    assert dumped["annual_revenue"] == "1250.50"
    assert same(dumped, marshmallows_dump(CompanySchema(), company))


def test_aware_datetimes_and_event_schemas_dump_the_same():
    interaction = Interaction(
        id="i-1", type="call", interaction_date=NOW, user_id="u-1", created_at=NOW, updated_at=NOW
    )
    assert same(
        InteractionSchema().dump(interaction), marshmallows_dump(InteractionSchema(), interaction)
    )
    event_schema = CATALOG["contact.created"].data()
    record = contact()
    record.actor_id = "u-1"
    assert same(event_schema.dump(record), marshmallows_dump(event_schema, record))


def test_a_mapping_with_a_key_missing_leaves_the_key_out():
    partial = {"id": "t-1", "name": "vip", "created_at": NOW}
    assert same(TagSchema().dump(partial), marshmallows_dump(TagSchema(), partial))
    assert "usage_count" not in TagSchema().dump(partial)


def test_a_schema_with_dump_hooks_takes_marshmallows_path():
    class Shouting(FastDump):
        name = ma.fields.String()

        @ma.post_dump
        def shout(self, data, **_kwargs):
            return {**data, "name": data["name"].upper()}

    assert Shouting().dump({"name": "ada"}) == {"name": "ADA"}


@pytest.mark.parametrize("many", [True, False])
def test_many_follows_the_argument_or_the_schema(many):
    records = [contact(id="c-1"), contact(id="c-2")]
    schema = ContactSchema(many=True)
    obj = records if many else records[0]
    assert same(schema.dump(obj, many=many), marshmallows_dump(schema, obj, many=many))
