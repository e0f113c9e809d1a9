"""A call whose caller has given up takes no effect, however late the callee gets to it."""

import time

import pytest
from flask.views import MethodView
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.api import Blueprint
from shared.config import Settings
from shared.db import Database
from shared.deadline import HEADER, deadline_header
from shared.testing.helpers import auth
from shared.web import create_base_app, current_session


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)


blp = Blueprint("notes", __name__, url_prefix="/api/v1/notes")


@blp.route("/<note_id>")
class Notes(MethodView):
    @blp.response(201)
    def put(self, note_id):
        current_session().add(Note(id=note_id))
        time.sleep(float(note_id.split("-")[1]) / 1000)  # "n-300": take 300 ms
        return {"id": note_id}


@pytest.fixture
def app_and_db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/d.db")
    Base.metadata.create_all(database.engine)
    app = create_base_app(
        __name__, Settings(service="t", env="test"), database, title="t", blueprints=(blp,)
    )
    yield app.test_client(), database
    database.dispose()


def stored(database) -> list[str]:
    with database.sessions() as session:
        return list(session.scalars(select(Note.id)))


def test_a_request_within_its_deadline_takes_effect(app_and_db):
    client, database = app_and_db
    response = client.put("/api/v1/notes/n-0", headers={**auth("admin"), **deadline_header(5)})
    assert response.status_code == 201
    assert stored(database) == ["n-0"]


def test_a_request_arriving_after_its_deadline_is_refused(app_and_db):
    client, database = app_and_db
    late = {HEADER: f"{time.time() - 1:.3f}"}
    response = client.put("/api/v1/notes/n-0", headers={**auth("admin"), **late})
    assert response.status_code == 504
    assert response.content_type == "application/problem+json"
    assert stored(database) == []


def test_a_change_finished_after_the_deadline_is_rolled_back(app_and_db):
    client, database = app_and_db
    response = client.put("/api/v1/notes/n-300", headers={**auth("admin"), **deadline_header(0.1)})
    assert response.status_code == 504
    assert stored(database) == []


def test_no_deadline_means_no_limit(app_and_db):
    client, database = app_and_db
    assert client.put("/api/v1/notes/n-150", headers=auth("admin")).status_code == 201
    assert stored(database) == ["n-150"]
