"""Every log line is one JSON object of the same shape, whoever logged it, and holds no secret."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from flask.views import MethodView

from shared.api import Blueprint
from shared.auth import Identity
from shared.config import Settings
from shared.logs import configure_logging, get_logger, request_id_var
from shared.redact import MASK
from shared.testing.helpers import auth, eventually
from shared.testing.postgres import free_port
from shared.testing.tokens import issue_token
from shared.web import create_base_app

ROOT = Path(__file__).resolve().parents[3]
LIBRARIES = ("sqlalchemy.engine", "pika", "werkzeug", "alembic.runtime.migration", "crm.anything")


@pytest.fixture
def lines():
    """Configure logging as a process does and read back what the root handler wrote."""
    configure_logging("svc", "INFO")
    stream = io.StringIO()
    (handler,) = logging.getLogger().handlers
    handler.setStream(stream)  # type: ignore[attr-defined]

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    configure_logging("svc", "INFO")


def test_library_records_are_json_lines_with_the_project_keys(lines):
    for name in LIBRARIES:
        logging.getLogger(name).warning("from %s: %d", name, 42)
    request_id_var.set("req-1")
    try:
        logging.getLogger("sqlalchemy.pool").error("with the request id")
    finally:
        request_id_var.set(None)
    logged = lines()
    assert [entry["event"] for entry in logged[:-1]] == [f"from {n}: 42" for n in LIBRARIES]
    for entry, name in zip(logged, LIBRARIES, strict=False):
        assert entry["level"] == "warning" and entry["logger"] == name
        assert entry["service"] == "svc" and entry["timestamp"].endswith("Z")
    assert logged[-1]["request_id"] == "req-1" and logged[-1]["level"] == "error"


def test_structlog_events_go_through_the_same_handler_with_the_same_shape(lines):
    get_logger("http").info("request", status=200)
    get_logger("http").debug("hidden at INFO")
    (entry,) = lines()
    assert {"event", "level", "timestamp", "service", "logger"} <= set(entry)
    assert (entry["level"], entry["status"], entry["logger"]) == ("info", 200, "http")


def test_an_exception_is_one_line_with_its_traceback(lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("pika").exception("failed")
        get_logger("x").exception("failed too")
    logged = lines()
    assert len(logged) == 2
    for entry in logged:
        assert entry["level"] == "error"
        assert "ValueError: boom" in entry["exception"]


def test_passwords_tokens_and_secrets_are_redacted(lines):
    jwt = issue_token(Identity("u-1", "admin", "a@example.test", "A"))
    get_logger("x").info(
        f"got {jwt} from the client",
        password="hunter2",
        new_password="hunter3",
        headers={"Authorization": "Bearer opaque-value", "Accept": "text/html"},
        body={"refresh_token": "r-1", "nested": [{"client_secret": "s-1"}]},
        note="Authorization: Bearer opaque-value-2",
        url="/api/v1/notifications/stream?ticket=tk-1&x=1",
        database="postgresql://crm:pg-password@db:5432/crm",
    )
    logging.getLogger("werkzeug").info('"GET /stream?ticket=%s HTTP/1.1" 200', "tk-2")
    logging.getLogger("gunicorn.error").warning("token %s", jwt)
    text = "\n".join(json.dumps(entry) for entry in lines())
    for secret in ("hunter2", "hunter3", "opaque-value", "r-1", "s-1", "tk-1", "tk-2"):
        assert secret not in text
    assert jwt not in text and "pg-password" not in text
    first = lines()[0]
    assert first["password"] == MASK and first["headers"]["Accept"] == "text/html"
    assert first["event"] == f"got {MASK} from the client"
    assert first["url"].endswith(f"ticket={MASK}&x=1")


def test_log_format_console_is_for_people(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "console")
    configure_logging("svc", "INFO")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    logging.getLogger("sqlalchemy.engine").warning("readable")
    get_logger("x").info("also readable", password="hunter2")
    output = stream.getvalue()
    assert "readable" in output and "also readable" in output and "hunter2" not in output
    assert not output.lstrip().startswith("{")
    monkeypatch.delenv("LOG_FORMAT")
    configure_logging("svc", "INFO")


# ---- the request line ----

blp = Blueprint("things", __name__, url_prefix="/api/v1/things")


@blp.route("/<thing_id>")
class Thing(MethodView):
    def get(self, thing_id):
        return {"id": thing_id}


def test_the_request_line_names_route_status_duration_ids_user_and_client(lines):
    app = create_base_app(
        __name__, Settings(service="svc", env="test"), title="t", blueprints=(blp,)
    )
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    client = app.test_client()
    headers = {**auth("admin", "user-7"), "X-Request-ID": "req-42"}
    assert client.get("/api/v1/things/t-1?ticket=tk-3", headers=headers).status_code == 200
    assert client.get("/nowhere").status_code == 404
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    requests_logged = [entry for entry in logged if entry["event"] == "request"]
    first, missing = requests_logged
    assert first["route"] == "/api/v1/things/<thing_id>"
    assert (first["method"], first["path"], first["status"]) == ("GET", "/api/v1/things/t-1", 200)
    assert first["duration_ms"] == first["ms"] >= 0
    assert (first["request_id"], first["user_id"]) == ("req-42", "user-7")
    assert first["address"] == "127.0.0.1" and first["service"] == "svc"
    assert (missing["route"], missing["status"], missing["user_id"]) == (None, 404, None)
    assert "tk-3" not in stream.getvalue()


# ---- gunicorn's own messages ----

HELLO = """
import logging

logging.getLogger("sqlalchemy.engine").warning("hello imported")


def app(environ, start_response):
    logging.getLogger("pika").warning("hello called")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hi"]
"""


def test_gunicorn_master_and_worker_lines_are_json(tmp_path):
    (tmp_path / "hello.py").write_text(HELLO)
    port = free_port()
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    environ.pop("LOG_FORMAT", None)
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "hello:app"],
            cwd=tmp_path,
            env=environ,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            eventually(lambda: answers(f"http://127.0.0.1:{port}/"), timeout=60, interval=0.2)
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    raw = out.read_text().splitlines() + err.read_text().splitlines()
    logged = [json.loads(line) for line in raw if line.strip()]
    for entry in logged:
        assert {"event", "level", "timestamp", "service"} <= set(entry), entry
        assert entry["service"] == "hello"
    events = [entry["event"] for entry in logged]
    assert any(event.startswith("Booting worker with pid") for event in events), events
    assert {"hello imported", "hello called"} <= set(events)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
