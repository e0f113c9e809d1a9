"""A Python client generated from the merged OpenAPI document drives the running system."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

from shared.testing.helpers import unique
from tests.e2e.conftest import ADMIN

pytestmark = pytest.mark.e2e
PACKAGE = "crm_generated_client"


@pytest.fixture(scope="module")
def spec(system) -> dict:
    return requests.get(f"{system.gateway}/api/v1/openapi.json", timeout=30).json()


@pytest.fixture(scope="module")
def client_package(spec, tmp_path_factory):
    """The client openapi-python-client generates from the system's own document, imported."""
    tmp = tmp_path_factory.mktemp("client")
    (tmp / "openapi.json").write_text(json.dumps(spec))
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(tmp / "openapi.json"),
            "--output-path",
            str(tmp / PACKAGE),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp))


def _module(package, name: str):
    return importlib.import_module(f"{package.__name__}.{name}")


def test_the_system_serves_a_document_that_validates(spec):
    validate(spec)
    assert "x-unavailable-services" not in spec


def test_a_generated_client_logs_in_creates_lists_and_reads_back_exact_money(
    system, client_package
):
    client_mod = _module(client_package, "client")
    models = _module(client_package, "models")
    post_login = _module(client_package, "api.auth.post_login")
    post_companies = _module(client_package, "api.companies.post_companies")
    get_company = _module(client_package, "api.companies.get_company_by_id")
    get_companies = _module(client_package, "api.companies.get_companies")
    post_contacts = _module(client_package, "api.contacts.post_contacts")
    get_contacts = _module(client_package, "api.contacts.get_contacts")

    anonymous = client_mod.Client(base_url=system.gateway, timeout=30)
    token = post_login.sync(client=anonymous, body=models.Login(**ADMIN))
    assert isinstance(token, models.Token), token
    client = client_mod.AuthenticatedClient(
        base_url=system.gateway, token=token.access_token, timeout=30
    )

    name = unique("Generated Client Co")
    company = post_companies.sync(
        client=client,
        body=models.Company(
            name=name,
            street="1 Analytical Way",
            city="London",
            state="Greater London",
            postal_code="N1 9GU",
            country="UK",
            phone_number="+44 20 7946 0000",
            industry="Engines",
            website="https://engines.example",
            annual_revenue="1250000.50",
        ),
    )
    assert isinstance(company, models.Company), company
    assert company.annual_revenue == "1250000.50"
    contact = post_contacts.sync(
        client=client,
        body=models.Contact(
            name="Ada Lovelace", email=f"{unique('ada')}@example.com", company_id=company.id
        ),
    )
    assert isinstance(contact, models.Contact), contact
    assert contact.company_id == company.id

    read = get_company.sync(client=client, company_id=company.id)
    assert read.annual_revenue == "1250000.50" and isinstance(read.annual_revenue, str)
    assert (read.street, read.state, read.postal_code, read.phone_number) == (
        "1 Analytical Way",
        "Greater London",
        "N1 9GU",
        "+44 20 7946 0000",
    )
    page = get_companies.sync(client=client, q=name)
    assert [item.id for item in page.items] == [company.id]
    assert page.items[0].annual_revenue == "1250000.50"
    contacts = get_contacts.sync(client=client, company_id=company.id)
    assert [(item.id, item.name) for item in contacts.items] == [(contact.id, "Ada Lovelace")]


def test_the_generated_model_types_money_as_a_string(client_package):
    models = _module(client_package, "models")
    for model, field in ((models.Company, "annual_revenue"), (models.Product, "price")):
        annotation = str(model.__annotations__[field])
        assert "str" in annotation and "float" not in annotation, (model, annotation)
