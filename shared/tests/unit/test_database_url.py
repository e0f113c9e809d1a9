"""DATABASE_URL as CloudNativePG writes it (`uri` of the `<cluster>-app` Secret) drives psycopg."""

import pytest

from shared.db import make_engine

# The shape of CloudNativePG's `uri`: the plain libpq scheme, the cluster's rw Service.
CNPG_URI = "postgresql://contacts:p%40ss%2Fword@contacts-db-rw.crm:5432/crm_contacts"


def test_a_libpq_url_is_driven_by_psycopg_with_its_parts_intact():
    engine = make_engine(CNPG_URI)
    try:
        url = engine.url
        assert url.drivername == "postgresql+psycopg"
        assert (url.username, url.password) == ("contacts", "p@ss/word")
        assert (url.host, url.port, url.database) == ("contacts-db-rw.crm", 5432, "crm_contacts")
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "given", [CNPG_URI, CNPG_URI.replace("postgresql://", "postgresql+psycopg://", 1)]
)
def test_the_driver_is_named_once_whichever_form_is_given(given):
    engine = make_engine(given)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.url.render_as_string(hide_password=False).count("psycopg") == 1
    finally:
        engine.dispose()
