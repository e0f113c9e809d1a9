import pytest

from gateway.proxy import owner_of


@pytest.mark.parametrize(
    "path, service",
    [
        ("companies", "contacts"),
        ("contacts/123", "contacts"),
        ("interactions", "contacts"),
        ("campaigns/1", "sales"),
        ("leads/1/convert", "sales"),
        ("opportunities/1/products/2", "sales"),
        ("products", "sales"),
        ("reports/pipeline", "sales"),
        ("reports/campaigns", "sales"),
        ("notifications", "notifications"),
        ("notifications/stream", "notifications"),
        ("notifications/1", "notifications"),
        ("reports", None),
        ("reports/unknown", None),
        ("conversions", None),
        ("nothing", None),
    ],
)
def test_each_path_goes_to_the_service_that_owns_it(path, service):
    assert owner_of(path) == service
