"""Config, tokens, money and cursors: the small rules everything else leans on."""

from datetime import UTC, datetime
from decimal import Decimal

import marshmallow as ma
import pytest

from shared.api import Money
from shared.auth import (
    ROLES,
    Identity,
    bearer_token,
    ensure_can_assign,
    ensure_can_change,
    issue_token,
    require_role,
    require_service,
    service_token,
    verify_token,
)
from shared.config import ConfigError, Settings
from shared.errors import Forbidden, Unauthorized, ValidationFailed, flatten_messages
from shared.pagination import _decode, _encode

STRONG = "x" * 40


def test_production_refuses_default_secrets():
    with pytest.raises(ConfigError) as error:
        Settings.from_env("contacts", {"CRM_ENV": "production"})
    assert "JWT_SECRET" in str(error.value) and "DATABASE_URL" in str(error.value)
    settings = Settings.from_env(
        "contacts",
        {
            "CRM_ENV": "production",
            "JWT_SECRET": STRONG,
            "DATABASE_URL": "postgresql://crm:pw@db/crm",
            "AMQP_URL": "amqp://crm:pw@mq:5672/%2F",
        },
    )
    assert settings.is_production


def test_development_runs_on_sqlite_by_default():
    settings = Settings.from_env("contacts", {"CRM_VAR_DIR": "/tmp/v"})
    assert settings.database_url == "sqlite:////tmp/v/contacts.db"


def test_tokens_round_trip_and_reject_other_secrets():
    token = issue_token(Identity("u1", "sdr", "a@b.c", "A"), STRONG, 60)
    assert verify_token(token, STRONG) == Identity("u1", "sdr", "a@b.c", "A")
    with pytest.raises(Unauthorized):
        verify_token(token, "y" * 40)
    with pytest.raises(Unauthorized):
        verify_token(issue_token(Identity("u1", "sdr"), STRONG, -1), STRONG)
    with pytest.raises(Unauthorized):
        verify_token(issue_token(Identity("u1", "pirate"), STRONG, 60), STRONG)
    with pytest.raises(Unauthorized):
        bearer_token("Basic abc")


def test_owners_and_managers_change_records_and_only_managers_assign():
    sdr, manager = Identity("s", "sdr"), Identity("m", "sales_manager")
    ensure_can_change(sdr, "s")
    ensure_can_change(manager, "someone")
    with pytest.raises(Forbidden):
        ensure_can_change(sdr, "someone")
    ensure_can_assign(manager, "someone")
    with pytest.raises(Forbidden):
        ensure_can_assign(sdr, "someone")
    require_role(Identity("a", "admin"), "marketing_manager")
    with pytest.raises(Forbidden):
        require_role(sdr, "marketing_manager")


def test_service_only_calls_refuse_every_user_even_an_admin():
    require_service(verify_token(service_token("sales", STRONG), STRONG))
    for role in ROLES:
        with pytest.raises(Forbidden):
            require_service(Identity("u", role))


@pytest.mark.parametrize(
    "value, expected",
    [("1250000.50", Decimal("1250000.50")), (Decimal("3"), Decimal("3.00")), (7, Decimal("7.00"))],
)
def test_money_is_exact(value, expected):
    assert Money().deserialize(value) == expected
    assert Money().serialize("v", {"v": expected}) == str(expected)


@pytest.mark.parametrize(
    "value", ["1.234", "NaN", "Infinity", "1e400", "abc", 0.1, "1000000000000.00"]
)
def test_money_refuses_what_it_cannot_keep_exactly(value):
    with pytest.raises(ma.ValidationError):
        Money().deserialize(value)


def test_cursors_round_trip_and_refuse_tampering():
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    cursor = _encode("-created_at", moment, "id-1")
    assert _decode(cursor, "-created_at") == (moment, "id-1")
    with pytest.raises(ValidationFailed):
        _decode(cursor, "name")
    with pytest.raises(ValidationFailed):
        _decode("%%%", "-created_at")


def test_webargs_errors_are_flattened_to_field_names():
    assert flatten_messages(
        {
            "json": {"name": ["Missing."], "address": {"city": ["Bad."]}},
            "query": {"limit": ["Too big."]},
        }
    ) == {"name": ["Missing."], "address.city": ["Bad."], "limit": ["Too big."]}
