"""Sales revision 2849d9033bf4 moves every value to the data model's names and loses none.

On both backends: a database at the previous revision gets rows written with raw SQL, as the
old code stored them; after the upgrade every value is under its new name (in the tables and
through the API), the check constraints, foreign keys and the partial unique index still hold,
and the models agree with the migrated schema. The downgrade brings the old names back.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Date, Numeric, bindparam, inspect, text
from sqlalchemy.exc import IntegrityError

import shared.migrations
from services.sales.app import create_app
from services.sales.contacts import FakeContacts
from services.sales.models import Base
from services.sales.tests.integration.helpers import SDR
from shared.config import Settings
from shared.db import Database, UTCDateTime, make_engine
from shared.migrations import alembic_config, upgrade
from shared.users import FakeUserDirectory

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
PREVIOUS, HEAD = "c7071dfc61c2", "2849d9033bf4"
CREATED = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
CONVERTED = datetime(2026, 3, 9, 17, 0, 0, 654321, tzinfo=UTC)
LONGEST_FIRST, LONGEST_LAST = "A" * 100, "B" * 100

#: Leads as the old code stored them, and the `name` each must get.
OLD_LEADS = {
    "lead-full": (
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "phone": "+44 20 7946 0000",
            "company_name": "Analytical Engines",
            "job_title": "Countess",
            "lead_source": "web",
            "status": "qualified",
            "lead_score": 70,
            "notes": "Met at the fair.\nWants a demo.",
            "campaign_id": "camp-1",
            "owner_id": "sdr-1",
        },
        "Ada Lovelace",
    ),
    "lead-last-only": (
        {
            "first_name": None,
            "last_name": "Hopper",
            "email": "grace@example.com",
            "lead_source": "referral",
            "status": "new",
            "lead_score": 0,
            "owner_id": "sdr-1",
        },
        "Hopper",
    ),
    "lead-blank-first": (
        {
            "first_name": "  ",
            "last_name": " Turing ",
            "status": "contacted",
            "lead_score": 10,
            "owner_id": "sdr-2",
        },
        "Turing",
    ),
    "lead-padded": (
        {
            "first_name": " Grace ",
            "last_name": "Hopper ",
            "status": "new",
            "lead_score": 0,
            "owner_id": "sdr-2",
        },
        "Grace Hopper",
    ),
    "lead-converted": (
        {
            "first_name": "Alan",
            "last_name": "Turing",
            "email": "ada@example.com",  # converted: it does not block the open lead's email
            "phone": "+44 1908 640404",
            "lead_source": "event",
            "status": "converted",
            "lead_score": 90,
            "owner_id": "sdr-1",
            "campaign_id": "camp-1",
            "converted_at": CONVERTED,
            "converted_contact_id": "ct-1",
            "converted_company_id": "co-1",
            "converted_opportunity_id": "opp-1",
        },
        "Alan Turing",
    ),
    "lead-longest": (
        {
            "first_name": LONGEST_FIRST,
            "last_name": LONGEST_LAST,
            "status": "new",
            "lead_score": 0,
            "owner_id": "u",
        },
        f"{LONGEST_FIRST} {LONGEST_LAST}",  # 201 characters: kept whole
    ),
}
LEAD_INDEXES = {
    "ix_leads_created",
    "ix_leads_owner",
    "ix_leads_status",
    "ix_leads_campaign",
    "ix_leads_email",
    "uq_leads_open_email",
}
TABLES = (
    "campaigns",
    "leads",
    "products",
    "opportunities",
    "opportunity_products",
    "opportunity_stage_history",
)


def _type(value):
    if isinstance(value, datetime):
        return UTCDateTime()
    if isinstance(value, Decimal):
        return Numeric(14, 3)
    if isinstance(value, date):
        return Date()
    return None


def insert(connection, table: str, **values) -> None:
    """INSERT one row with plain SQL, values bound with the types the old columns had."""
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    statement = text(f"INSERT INTO {table} ({columns}) VALUES ({marks})").bindparams(
        *(bindparam(name, value, type_=_type(value)) for name, value in values.items())
    )
    connection.execute(statement)


def stamped(**values) -> dict:
    return {"created_at": CREATED, "updated_at": CREATED, "version": 1, **values}


def seed_previous_revision(url: str) -> None:
    """The rows an installation at c7071dfc61c2 has: what must survive the upgrade."""
    upgrade(MIGRATIONS, url, PREVIOUS)
    engine = make_engine(url)
    with engine.begin() as connection:
        insert(
            connection,
            "campaigns",
            **stamped(
                id="camp-1",
                name="Spring fair",
                type="event",
                status="active",
                budget=Decimal("1250000.50"),
                start_date=date(2026, 3, 1),
                end_date=date(2026, 3, 31),
                description="Our stand in hall 4",
                owner_id="mm-1",
            ),
        )
        for lead_id, (columns, _name) in OLD_LEADS.items():
            insert(connection, "leads", **stamped(id=lead_id, **columns))
        for product_id, kind in (("prod-good", "product"), ("prod-service", "service")):
            insert(
                connection,
                "products",
                **stamped(
                    id=product_id,
                    name=f"Pallet tracking ({kind})",
                    sku=f"PT-{kind}",
                    price=Decimal("625000.25"),
                    type=kind,
                    description="Per pallet, per month",
                    is_active=True,
                ),
            )
        insert(
            connection,
            "opportunities",
            **stamped(
                id="opp-1",
                name="Analytical Engines freight",
                stage="proposal",
                probability=Decimal("0.500"),
                deal_value=Decimal("1250000.50"),
                expected_close_date=date(2026, 6, 30),
                description="Two lanes",
                contact_id="ct-1",
                company_id="co-1",
                campaign_id="camp-1",
                lead_id="lead-converted",
                owner_id="sdr-1",
            ),
        )
        insert(
            connection,
            "opportunities",
            **stamped(
                id="opp-lost",
                name="Lost deal",
                stage="closed_lost",
                probability=Decimal("0.000"),
                deal_value=Decimal("99.90"),
                lost_reason="Price",
                owner_id="sdr-2",
                closed_at=CONVERTED,
            ),
        )
        insert(
            connection,
            "opportunity_products",
            **stamped(
                id="line-1",
                opportunity_id="opp-1",
                product_id="prod-good",
                quantity=2,
                unit_price=Decimal("625000.25"),
            ),
        )
        for seq, (before, after) in enumerate(((None, "prospecting"), ("prospecting", "proposal"))):
            insert(
                connection,
                "opportunity_stage_history",
                seq=seq + 1,
                opportunity_id="opp-1",
                from_stage=before,
                to_stage=after,
                changed_by="sdr-1",
                changed_at=CREATED,
            )
    engine.dispose()


def counts(connection) -> dict[str, int]:
    return {
        table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
        for table in TABLES
    }


EXPECTED_COUNTS = {
    "campaigns": 1,
    "leads": len(OLD_LEADS),
    "products": 2,
    "opportunities": 2,
    "opportunity_products": 1,
    "opportunity_stage_history": 2,
}


@pytest.fixture
def migrated_url(database_url) -> str:
    seed_previous_revision(database_url)
    upgrade(MIGRATIONS, database_url)
    return database_url


@pytest.fixture
def engine(migrated_url):
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def client(migrated_url):
    database = Database(migrated_url)
    settings = Settings(service="sales", env="test", database_url=migrated_url)
    app = create_app(
        settings, database=database, users=FakeUserDirectory(), contacts=FakeContacts()
    )
    yield app.test_client()
    database.dispose()


def read(client, path: str):
    response = client.get(f"/api/v1{path}", headers=SDR)
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.get_data())


def test_the_upgrade_moves_every_value_to_its_new_column_and_loses_nothing(engine):
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        assert counts(connection) == EXPECTED_COUNTS
        columns = {c["name"] for c in inspect(connection).get_columns("leads")}
        assert {"name", "phone_number", "lead_source"} <= columns
        assert not {"first_name", "last_name", "phone"} & columns
        rows = connection.execute(
            text(
                "SELECT id, name, email, phone_number, company_name, job_title, lead_source,"
                " status, lead_score, notes, campaign_id, owner_id, converted_contact_id,"
                " converted_company_id, converted_opportunity_id FROM leads"
            )
        ).mappings()
        leads = {row["id"]: dict(row) for row in rows}
        products = dict(connection.execute(text("SELECT id, type FROM products")).all())
        sources = dict(connection.execute(text("SELECT id, source FROM opportunities")).all())

    for lead_id, (old, name) in OLD_LEADS.items():
        lead = leads[lead_id]
        assert lead["name"] == name, lead_id
        assert lead["phone_number"] == old.get("phone"), lead_id
        for column in ("email", "company_name", "job_title", "lead_source", "status", "notes"):
            assert lead[column] == old.get(column), (lead_id, column)
        for column in ("lead_score", "campaign_id", "owner_id", "converted_contact_id"):
            assert lead[column] == old.get(column), (lead_id, column)
    assert products == {"prod-good": "good", "prod-service": "service"}
    assert sources == {"opp-1": None, "opp-lost": None}


def test_the_api_reads_the_migrated_rows_under_the_new_names_with_values_exact(client):
    lead = read(client, "/leads/lead-full")
    assert {k: lead[k] for k in ("name", "email", "phone_number", "lead_source")} == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone_number": "+44 20 7946 0000",
        "lead_source": "web",  # a value of the old closed list is kept as it was
    }
    assert (lead["status"], lead["lead_score"], lead["owner_id"]) == ("qualified", 70, "sdr-1")
    assert (lead["campaign_id"], lead["company_name"], lead["job_title"]) == (
        "camp-1",
        "Analytical Engines",
        "Countess",
    )
    assert lead["notes"] == "Met at the fair.\nWants a demo."
    assert lead["created_at"] == lead["updated_at"] == CREATED.isoformat()
    assert not {"first_name", "last_name", "phone"} & set(lead)

    converted = read(client, "/leads/lead-converted")
    assert converted["converted_at"] == CONVERTED.isoformat()
    assert (
        converted["converted_contact_id"],
        converted["converted_company_id"],
        converted["converted_opportunity_id"],
    ) == ("ct-1", "co-1", "opp-1")
    assert read(client, "/leads/lead-longest")["name"] == f"{LONGEST_FIRST} {LONGEST_LAST}"
    listed = read(client, "/leads?limit=200&sort=name")["items"]
    assert {item["id"]: item["name"] for item in listed} == {
        lead_id: name for lead_id, (_old, name) in OLD_LEADS.items()
    }

    campaign = read(client, "/campaigns/camp-1")
    assert (campaign["budget"], campaign["start_date"], campaign["end_date"]) == (
        "1250000.50",
        "2026-03-01",
        "2026-03-31",
    )
    product = read(client, "/products/prod-good")
    assert (product["type"], product["price"], product["sku"]) == (
        "good",
        "625000.25",
        "PT-product",
    )
    assert [p["id"] for p in read(client, "/products?type=good")["items"]] == ["prod-good"]

    opportunity = read(client, "/opportunities/opp-1")
    assert opportunity["source"] is None
    assert (opportunity["deal_value"], opportunity["probability"]) == ("1250000.50", 0.5)
    assert (opportunity["lead_id"], opportunity["campaign_id"]) == ("lead-converted", "camp-1")
    assert (opportunity["contact_id"], opportunity["company_id"]) == ("ct-1", "co-1")
    assert opportunity["expected_close_date"] == "2026-06-30"
    line = read(client, "/opportunities/opp-1/products/prod-good")
    assert (line["quantity"], line["unit_price"], line["line_total"]) == (
        2,
        "625000.25",
        "1250000.50",
    )
    history = read(client, "/opportunities/opp-1/history")["items"]
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [
        (None, "prospecting"),
        ("prospecting", "proposal"),
    ]
    lost = read(client, "/opportunities/opp-lost")
    assert (lost["lost_reason"], lost["closed_at"]) == ("Price", CONVERTED.isoformat())


def test_constraints_and_the_one_open_lead_per_email_index_hold_after_the_upgrade(engine):
    lead = stamped(name="Twin", owner_id="u", status="new", lead_score=0)
    with engine.begin() as connection:
        # Converted and unqualified leads may share an open lead's email...
        insert(
            connection,
            "leads",
            **{**lead, "id": "ok-1", "email": "ada@example.com", "status": "unqualified"},
        )
        insert(
            connection,
            "leads",
            **{**lead, "id": "ok-2", "email": "ada@example.com", "status": "converted"},
        )
    # ...a second open one may not, whatever its status among the open ones.
    for status in ("new", "contacted", "qualified"):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            insert(
                connection,
                "leads",
                **{**lead, "id": "twin", "email": "ada@example.com", "status": status},
            )
    bad_rows = [
        {**lead, "id": "bad-score", "lead_score": 101},
        {**lead, "id": "bad-campaign", "campaign_id": "ghost"},
        {**{k: v for k, v in lead.items() if k != "name"}, "id": "no-name"},
    ]
    for row in bad_rows:
        with pytest.raises(IntegrityError), engine.begin() as connection:
            insert(connection, "leads", **row)

    with engine.connect() as connection:
        inspector = inspect(connection)
        indexes = {index["name"]: index for index in inspector.get_indexes("leads")}
        assert set(indexes) == LEAD_INDEXES
        assert indexes["uq_leads_open_email"]["unique"]
        assert {c["name"] for c in inspector.get_check_constraints("leads")} == {"ck_leads_score"}
        assert {fk["referred_table"] for fk in inspector.get_foreign_keys("leads")} == {"campaigns"}
        assert {fk["referred_table"] for fk in inspector.get_foreign_keys("opportunities")} == {
            "campaigns",
            "leads",
        }
        if connection.dialect.name == "sqlite":
            definition = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'uq_leads_open_email'"
            ).scalar()
        else:
            definition = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_leads_open_email'"
            ).scalar()
        assert "WHERE" in definition.upper() and "qualified" in definition, definition


def test_the_models_agree_with_the_migrated_schema(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_downgrade_brings_the_old_names_back(migrated_url):
    command.downgrade(alembic_config(MIGRATIONS, migrated_url), PREVIOUS)
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as connection:
            assert counts(connection) == EXPECTED_COUNTS  # lines and history too (SQLite rebuild)
            rows = connection.execute(
                text("SELECT id, first_name, last_name, phone, lead_source FROM leads")
            ).mappings()
            leads = {row["id"]: dict(row) for row in rows}
            products = dict(connection.execute(text("SELECT id, type FROM products")).all())
            columns = {c["name"] for c in inspect(connection).get_columns("opportunities")}
            indexes = {index["name"] for index in inspect(connection).get_indexes("leads")}
    finally:
        engine.dispose()
    assert {lead_id: (row["first_name"], row["last_name"]) for lead_id, row in leads.items()} == {
        "lead-full": ("Ada", "Lovelace"),
        "lead-last-only": (None, "Hopper"),
        "lead-blank-first": (None, "Turing"),
        "lead-padded": ("Grace", "Hopper"),
        "lead-converted": ("Alan", "Turing"),
        "lead-longest": (LONGEST_FIRST, LONGEST_LAST),
    }
    for lead_id, (old, _name) in OLD_LEADS.items():
        assert leads[lead_id]["phone"] == old.get("phone"), lead_id
        assert leads[lead_id]["lead_source"] == old.get("lead_source"), lead_id
    assert products == {"prod-good": "product", "prod-service": "service"}
    assert "source" not in columns
    assert indexes == LEAD_INDEXES
    upgrade(MIGRATIONS, migrated_url)  # and up again


def _run_with_foreign_keys_enforced(target_metadata) -> None:
    """run_migrations as a runner that leaves SQLite's foreign keys on would do it."""
    from alembic import context

    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_on_sqlite_with_foreign_keys_enforced_the_rebuild_still_loses_nothing(
    database_url, monkeypatch
):
    seed_previous_revision(database_url)
    monkeypatch.setattr(shared.migrations, "run_migrations", _run_with_foreign_keys_enforced)
    upgrade(MIGRATIONS, database_url)
    command.downgrade(alembic_config(MIGRATIONS, database_url), PREVIOUS)
    upgrade(MIGRATIONS, database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert counts(connection) == EXPECTED_COUNTS
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
