"""Text no database can keep (a NUL, a lone surrogate) is a 422 or a 404, never a 500."""

from sqlalchemy import func, select

from services.contacts.models import Company
from shared.testing.helpers import auth


def test_a_nul_in_a_body_field_is_a_422_naming_it_and_nothing_is_stored(client, contacts_db):
    response = client.post(
        "/api/v1/companies", json={"name": "Acme\x00Corp"}, headers=auth("sdr", "u-nul")
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"name": ["Must not contain NUL characters."]}
    with contacts_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Company)) == 0


def test_a_lone_surrogate_in_a_body_is_a_422(client):
    response = client.post(
        "/api/v1/contacts",
        data='{"name": "Ada \\ud800"}',
        content_type="application/json",
        headers=auth("sdr", "u-nul"),
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"name": ["Must be valid Unicode text."]}


def test_a_nul_in_a_nested_body_field_names_its_path(client):
    response = client.patch(
        "/api/v1/companies/none",
        json={"name": "ok", "city": "a\x00"},
        headers=auth("sdr", "u-nul"),
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"city": ["Must not contain NUL characters."]}


def test_a_nul_in_a_query_filter_is_a_422(client):
    response = client.get("/api/v1/contacts?email=%00x&q=a", headers=auth("sdr", "u-nul"))
    assert response.status_code == 422
    assert response.json["errors"] == {"email": ["Must not contain NUL characters."]}


def test_a_nul_in_a_path_is_a_404(client):
    response = client.get("/api/v1/companies/%00abc", headers=auth("sdr", "u-nul"))
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
