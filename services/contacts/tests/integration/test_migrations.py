"""The data-model rename migration moves every stored value to its new name, on both backends."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import bindparam, inspect, select, text
from sqlalchemy.exc import IntegrityError

from services.contacts.app import create_app
from services.contacts.models import Base, Company, Contact, Interaction
from shared.config import Settings
from shared.db import MONEY, Database, UTCDateTime, make_engine
from shared.migrations import downgrade, upgrade
from shared.testing.helpers import auth
from shared.users import FakeUserDirectory

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
PREVIOUS = "d05b3a909186"  # the last revision with first_name/last_name, phone, address, ...

CREATED = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
UPDATED = datetime(2026, 2, 3, 4, 5, 6, 654321, tzinfo=UTC)
OCCURRED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
LONG_FIRST, LONG_LAST = "F" * 100, "L" * 100  # the longest name the old columns could hold

OLD_COMPANIES = [
    {
        "id": "co-full",
        "name": "Acme Freight",
        "industry": "logistics",
        "website": "https://acme.example",
        "phone": "+47 22 00 00 00",
        "email": "ops@acme.example",
        "address": "Karl Johans gate 1",
        "city": "Oslo",
        "country": "NO",
        "annual_revenue": Decimal("1250000.50"),
        "employee_count": 120,
        "owner_id": "am-1",
        "version": 3,
    },
    {
        "id": "co-bare",
        "name": "Bare",
        "industry": None,
        "website": None,
        "phone": None,
        "email": None,
        "address": None,
        "city": None,
        "country": None,
        "annual_revenue": None,
        "employee_count": None,
        "owner_id": "am-2",
        "version": 1,
    },
]
# (old first_name, old last_name) -> the name the migration must make
OLD_CONTACTS = [
    ("ct-both", "Grace", "Hopper", "Grace Hopper"),
    ("ct-last-only", None, "Solo", "Solo"),
    ("ct-empty-first", "", "Empty", "Empty"),
    ("ct-padded", "  Ada ", "Lovelace ", "Ada Lovelace"),
    ("ct-longest", LONG_FIRST, LONG_LAST, f"{LONG_FIRST} {LONG_LAST}"),
]
OLD_INTERACTIONS = [
    {
        "id": "in-call",
        "type": "call",
        "subject": "Discovery call",
        "notes": "Talked about pallets",
        "contact_id": "ct-both",
        "company_id": "co-full",
        "user_id": "sdr-1",
        "version": 2,
    },
    {
        "id": "in-note",
        "type": "note",
        "subject": "About the company",
        "notes": None,
        "contact_id": None,
        "company_id": "co-bare",
        "user_id": "sa-1",
        "version": 1,
    },
]
TYPED = {name: UTCDateTime() for name in ("created_at", "updated_at", "occurred_at")} | {
    "annual_revenue": MONEY
}


def _insert(connection, table: str, row: dict) -> None:
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    statement = text(f"INSERT INTO {table} ({columns}) VALUES ({values})").bindparams(
        *(bindparam(name, type_=TYPED[name]) for name in row if name in TYPED)
    )
    connection.execute(statement, row)


def seed_old_rows(url: str) -> None:
    """Rows as the previous revision stored them, written with plain SQL."""
    stamps = {"created_at": CREATED, "updated_at": UPDATED}
    engine = make_engine(url)
    with engine.begin() as connection:
        for company in OLD_COMPANIES:
            _insert(connection, "companies", {**company, **stamps})
        for record_id, first, last, _ in OLD_CONTACTS:
            contact = {
                "id": record_id,
                "first_name": first,
                "last_name": last,
                "email": f"{record_id}@example.com",
                "phone": f"+1 555 {record_id}",
                "job_title": "CTO" if record_id == "ct-both" else None,
                "company_id": "co-full" if record_id == "ct-both" else None,
                "owner_id": f"owner-{record_id}",
                "version": 4,
            }
            _insert(connection, "contacts", {**contact, **stamps})
        for interaction in OLD_INTERACTIONS:
            _insert(connection, "interactions", {**interaction, **stamps, "occurred_at": OCCURRED})
    engine.dispose()


@pytest.fixture
def migrated_with_old_rows(database_url):
    upgrade(MIGRATIONS, database_url, PREVIOUS)
    seed_old_rows(database_url)
    upgrade(MIGRATIONS, database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def columns(database, table: str) -> set[str]:
    return {column["name"] for column in inspect(database.engine).get_columns(table)}


def test_companies_keep_every_value_under_the_new_names(migrated_with_old_rows):
    with migrated_with_old_rows.sessions() as session:
        companies = {c.id: c for c in session.scalars(select(Company))}
    assert set(companies) == {"co-full", "co-bare"}
    for old in OLD_COMPANIES:
        company = companies[old["id"]]
        renamed = {"phone": "phone_number", "address": "street"}
        for field, value in old.items():
            assert getattr(company, renamed.get(field, field)) == value, field
        assert (company.state, company.postal_code) == (None, None)
        assert (company.created_at, company.updated_at) == (CREATED, UPDATED)
    assert isinstance(companies["co-full"].annual_revenue, Decimal)
    table = columns(migrated_with_old_rows, "companies")
    assert {"street", "state", "postal_code", "phone_number"} <= table
    assert not {"address", "phone"} & table


def test_contacts_get_one_name_and_keep_everything_else(migrated_with_old_rows):
    with migrated_with_old_rows.sessions() as session:
        contacts = {c.id: c for c in session.scalars(select(Contact))}
    assert set(contacts) == {record_id for record_id, *_ in OLD_CONTACTS}
    for record_id, _first, _last, name in OLD_CONTACTS:
        contact = contacts[record_id]
        assert contact.name == name
        assert contact.email == f"{record_id}@example.com"
        assert contact.phone_number == f"+1 555 {record_id}"
        assert contact.owner_id == f"owner-{record_id}"
        assert (contact.created_at, contact.updated_at, contact.version) == (CREATED, UPDATED, 4)
    assert (contacts["ct-both"].job_title, contacts["ct-both"].company_id) == ("CTO", "co-full")
    assert len(contacts["ct-longest"].name) == 201
    table = columns(migrated_with_old_rows, "contacts")
    assert {"name", "phone_number"} <= table
    assert not {"first_name", "last_name", "phone"} & table


def test_interactions_keep_their_date_subject_and_links(migrated_with_old_rows):
    with migrated_with_old_rows.sessions() as session:
        interactions = {i.id: i for i in session.scalars(select(Interaction))}
    assert set(interactions) == {"in-call", "in-note"}
    for old in OLD_INTERACTIONS:
        interaction = interactions[old["id"]]
        for field, value in old.items():
            assert getattr(interaction, field) == value, field
        assert interaction.interaction_date == OCCURRED
        assert (interaction.created_at, interaction.updated_at) == (CREATED, UPDATED)
        assert (interaction.case_id, interaction.outcome) == (None, None)
    table = columns(migrated_with_old_rows, "interactions")
    assert {"interaction_date", "case_id", "outcome"} <= table and "occurred_at" not in table
    indexes = {
        i["name"] for i in inspect(migrated_with_old_rows.engine).get_indexes("interactions")
    }
    assert {"ix_interactions_interaction_date", "ix_interactions_case"} <= indexes
    assert "ix_interactions_occurred" not in indexes


def test_the_foreign_keys_survive_the_migration(migrated_with_old_rows):
    """SQLite copies each altered table: the references (and the cascade) must come along."""
    with migrated_with_old_rows.transaction() as session:
        session.execute(text("DELETE FROM contacts WHERE id = 'ct-both'"))
    with migrated_with_old_rows.sessions() as session:
        assert session.get(Interaction, "in-call") is None  # ON DELETE CASCADE still there
        assert session.get(Interaction, "in-note") is not None
    with (
        pytest.raises(IntegrityError, match=r"(?i)foreign key"),
        migrated_with_old_rows.transaction() as session,
    ):
        session.execute(text("DELETE FROM companies WHERE id = 'co-bare'"))


def test_the_api_serves_migrated_records_under_the_new_names(migrated_with_old_rows):
    settings = Settings(service="contacts", env="test", database_url=migrated_with_old_rows.url)
    client = create_app(
        settings, database=migrated_with_old_rows, users=FakeUserDirectory()
    ).test_client()
    headers = auth("admin")
    contact = client.get("/api/v1/contacts/ct-both", headers=headers).json
    assert (contact["name"], contact["phone_number"]) == ("Grace Hopper", "+1 555 ct-both")
    company = client.get("/api/v1/companies/co-full", headers=headers).json
    assert (company["street"], company["phone_number"]) == ("Karl Johans gate 1", "+47 22 00 00 00")
    assert company["annual_revenue"] == "1250000.50"
    call = client.get("/api/v1/interactions/in-call", headers=headers).json
    assert call["interaction_date"] == "2026-03-01T08:00:00+00:00"
    assert call["subject"] == "Discovery call"
    found = client.get("/api/v1/contacts?q=hopper&sort=name", headers=headers).json["items"]
    assert [c["id"] for c in found] == ["ct-both"]


def test_the_migrated_schema_is_the_models_schema(migrated_with_old_rows):
    with migrated_with_old_rows.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrading_puts_the_values_back_in_the_old_columns(database_url):
    upgrade(MIGRATIONS, database_url, PREVIOUS)
    seed_old_rows(database_url)
    upgrade(MIGRATIONS, database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE interactions SET subject = NULL, outcome = 'meeting scheduled',"
                " case_id = 'case-1' WHERE id = 'in-call'"
            )
        )
        connection.execute(text("UPDATE companies SET state = 'Oslo' WHERE id = 'co-full'"))
    downgrade(MIGRATIONS, database_url, PREVIOUS)
    with engine.connect() as connection:
        company = connection.execute(
            text("SELECT address, phone FROM companies WHERE id = 'co-full'")
        ).one()
        contact = connection.execute(
            text("SELECT first_name, last_name, phone FROM contacts WHERE id = 'ct-both'")
        ).one()
        longest = connection.scalar(text("SELECT last_name FROM contacts WHERE id = 'ct-longest'"))
        call = connection.execute(
            text("SELECT subject, occurred_at FROM interactions WHERE id = 'in-call'")
        ).one()
    assert tuple(company) == ("Karl Johans gate 1", "+47 22 00 00 00")
    assert tuple(contact) == (None, "Grace Hopper", "+1 555 ct-both")
    assert longest == f"{LONG_FIRST} {LONG_LAST}"[:100]
    assert call.subject == "meeting scheduled" and call.occurred_at is not None
    upgrade(MIGRATIONS, database_url)  # and up again
    with engine.connect() as connection:
        name = connection.scalar(text("SELECT name FROM contacts WHERE id = 'ct-both'"))
        assert name == "Grace Hopper"
    engine.dispose()
