"""Config, tokens, money and cursors: the small rules everything else leans on."""

from datetime import UTC, datetime
from decimal import Decimal

import marshmallow as ma
import pytest

from shared.api import Money
from shared.auth import Identity, ensure_can_assign, ensure_can_change, require_role
from shared.config import DEV_JWT_PUBLIC_KEY, ConfigError, Settings
from shared.errors import Forbidden, ValidationFailed, flatten_messages
from shared.pagination import _decode, _encode


def test_production_refuses_default_secrets():
    with pytest.raises(ConfigError) as error:
        Settings.from_env(
            "contacts", {"CRM_ENV": "production", "JWT_PUBLIC_KEYS": DEV_JWT_PUBLIC_KEY}
        )
    message = str(error.value)
    assert "development signing key" in message and "DATABASE_URL" in message
    assert "SERVICE_CLIENT_SECRET" in message
    settings = Settings.from_env(
        "contacts",
        {
            "CRM_ENV": "production",
            "USERS_URL": "http://gateway:8080",
            "SERVICE_CLIENT_SECRET": "s" * 40,
            "DATABASE_URL": "postgresql://crm:pw@db/crm",
            "AMQP_URL": "amqp://crm:pw@mq:5672/%2F",
        },
    )
    assert settings.is_production
    assert settings.jwks_url == "http://gateway:8080/.well-known/jwks.json"


def test_development_runs_on_sqlite_by_default():
    settings = Settings.from_env("contacts", {"CRM_VAR_DIR": "/tmp/v"})
    assert settings.database_url == "sqlite:////tmp/v/contacts.db"


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
