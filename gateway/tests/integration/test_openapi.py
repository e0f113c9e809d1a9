"""The merged OpenAPI document, built from every service's own, is one a client can trust."""

from __future__ import annotations

import importlib
import json
from collections import Counter

import pytest
from openapi_spec_validator import validate

from gateway.app import create_app as create_gateway
from gateway.openapi import MergedSpec, rename_component
from gateway.proxy import DEFAULT_URLS, owner_of
from shared.config import Settings
from shared.db import Database

MONEY_FIELDS = {
    "annual_revenue",
    "budget",
    "deal_value",
    "price",
    "unit_price",
    "line_total",
    "total_value",
    "weighted_value",
    "won_revenue",
    "cost_per_lead",
}


class ServiceDocuments:
    """Stands in for the gateway's HTTP session: each service's document from its own app."""

    def __init__(self, tmp_path) -> None:
        self.documents = {}
        for service in DEFAULT_URLS:
            module = importlib.import_module(f"services.{service}.app")
            database = Database(f"sqlite:///{tmp_path}/{service}.db")
            settings = Settings(service=service, env="test", database_url=database.url)
            client = module.create_app(settings, database=database).test_client()
            self.documents[DEFAULT_URLS[service]] = json.loads(
                client.get("/api/v1/openapi.json").data
            )

    def get(self, url: str, timeout):
        base = url.removesuffix("/api/v1/openapi.json")
        return _Answer(self.documents[base])


class _Answer:
    def __init__(self, document: dict) -> None:
        self.document = document

    def raise_for_status(self) -> None:
        return None

    def json(self) -> dict:
        return self.document


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> dict:
    tmp_path = tmp_path_factory.mktemp("openapi")
    gateway_db = Database(f"sqlite:///{tmp_path}/gateway.db")
    gateway = create_gateway(
        Settings(service="gateway", env="test", database_url=gateway_db.url),
        database=gateway_db,
        urls=dict(DEFAULT_URLS),
    )
    own = gateway.extensions["api"].spec.to_dict()
    return MergedSpec(
        own, dict(DEFAULT_URLS), ServiceDocuments(tmp_path), owner_of=owner_of
    ).build()


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def _properties(spec: dict):
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            yield name, field, prop


def test_the_merged_document_validates(merged):
    validate(merged)
    assert "x-unavailable-services" not in merged


def test_every_operation_has_a_unique_operation_id(merged):
    ids = [operation.get("operationId") for _, _, operation in _operations(merged)]
    assert None not in ids
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert {"postLogin", "getCompanies", "patchContactById", "postConvert"} <= set(ids)


def test_money_is_a_decimal_string_never_a_number(merged):
    money = [(s, f, p) for s, f, p in _properties(merged) if f in MONEY_FIELDS]
    assert {f for _, f, _ in money} >= {"annual_revenue", "budget", "deal_value", "price"}
    for schema, field, prop in money:
        assert prop["type"] == "string", (schema, field)
        assert prop["format"] == "decimal", (schema, field)
        assert "pattern" in prop and "minimum" not in prop, (schema, field)
    assert not [
        (s, f)
        for s, f, p in _properties(merged)
        if p.get("format") == "decimal" and p["type"] != "string"
    ]


def test_only_paths_a_client_may_call_through_the_gateway_are_listed(merged):
    paths = set(merged["paths"])
    assert not [p for p in paths if p.startswith("/api/v1/conversions")]
    assert {
        "/api/v1/companies",
        "/api/v1/leads/{lead_id}/convert",
        "/api/v1/notifications",
    } <= paths
    for path in paths:
        rest = path.removeprefix("/api/v1/")
        assert rest.startswith(("auth/", "users")) or owner_of(rest) is not None, path


def test_no_component_is_left_unused_or_defined_twice(merged):
    schemas = merged["components"]["schemas"]
    assert "ContactsConversion" not in schemas and "ContactsConversionCreate" not in schemas
    errors = merged["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(errors) == ["application/problem+json"]


def test_a_component_of_the_same_name_from_two_services_is_told_apart():
    document = {
        "paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/schemas/Thing"}}}}},
        "components": {"schemas": {"Thing": {"type": "object"}}},
    }
    renamed = rename_component(document, "schemas", "Thing", "SalesThing")
    assert renamed["components"]["schemas"] == {"SalesThing": {"type": "object"}}
    assert renamed["paths"]["/x"]["get"]["responses"]["200"]["$ref"] == (
        "#/components/schemas/SalesThing"
    )
    assert document["components"]["schemas"] == {"Thing": {"type": "object"}}  # untouched
