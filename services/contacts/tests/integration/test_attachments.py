"""Attachments: files on an existing record, stored safely, sniffed, streamed, gone with it."""

import io
import json
import struct
import zlib

import pytest
from sqlalchemy import func, select

from services.contacts.app import create_app
from services.contacts.domain import attachments as attachments_domain
from services.contacts.handlers import consumers
from services.contacts.jobs import sweep_files
from services.contacts.models import Attachment, DiscardedFile, OutboxEvent, Tagging
from services.contacts.storage import LocalStorage
from shared.config import Settings
from shared.consumer import ACK
from shared.ids import new_id
from shared.testing.events import event_body
from shared.testing.helpers import auth, unique

AM = auth("account_manager", "am-files")


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\0\0\0"))
        + chunk(b"IEND", b"")
    )


PNG = png_bytes()


def made(response) -> dict:
    assert response.status_code == 201, response.json
    return response.json


def upload(
    client,
    record_type,
    record_id,
    content=PNG,
    name="photo.png",
    sent_as="image/png",
    headers=AM,
    **extra,
):
    form = {"record_type": record_type, "record_id": record_id, **extra}
    if content is not None:
        form["file"] = (io.BytesIO(content), name, sent_as)
    return client.post(
        "/api/v1/attachments", data=form, content_type="multipart/form-data", headers=headers
    )


def new_contact(client, headers=AM) -> dict:
    return made(client.post("/api/v1/contacts", json={"name": "Ada"}, headers=headers))


def count(database, model) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def stored_files(storage: LocalStorage) -> list:
    if not storage.root.exists():
        return []
    return sorted(p for p in storage.root.rglob("*") if p.is_file())


def test_an_upload_answers_every_model_field_and_streams_back_safely(client, storage):
    contact = new_contact(client)
    attachment = made(upload(client, "contact", contact["id"], name="Quarterly review.png"))
    assert set(attachment) >= {
        "id",
        "file_name",
        "file_path",
        "mime_type",
        "record_id",
        "record_type",
        "created_at",
        "updated_at",
    }
    assert (attachment["record_type"], attachment["record_id"]) == ("contact", contact["id"])
    assert (attachment["file_name"], attachment["mime_type"]) == (
        "Quarterly review.png",
        "image/png",
    )
    assert (attachment["size"], attachment["uploaded_by"]) == (len(PNG), "am-files")
    assert storage.exists(attachment["file_path"])

    content = client.get(f"/api/v1/attachments/{attachment['id']}/content", headers=AM)
    assert content.status_code == 200 and content.data == PNG
    assert content.headers["Content-Type"] == "image/png"
    assert content.headers["Content-Length"] == str(len(PNG))
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["Content-Disposition"] == 'attachment; filename="Quarterly review.png"'
    assert "sandbox" in content.headers["Content-Security-Policy"]
    assert client.get(f"/api/v1/attachments/{attachment['id']}", headers=AM).json == attachment


def test_a_path_in_the_name_is_dropped_and_the_file_is_stored_under_a_generated_key(
    client, storage, tmp_path
):
    contact = new_contact(client)
    attachment = made(upload(client, "contact", contact["id"], name="../../etc/passwd.png"))
    assert attachment["file_name"] == "passwd.png"
    assert "/" not in attachment["file_path"] and "passwd" not in attachment["file_path"]
    files = stored_files(storage)
    assert files == [storage.path(attachment["file_path"])]
    everything = list(tmp_path.parent.rglob("*"))
    assert not [path for path in everything if "passwd" in path.name or path.name == "etc"]


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("/home/ada/report.png", "report.png"),
        ("evil\x00name\x1b[31m.png", "evilname[31m.png"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("..", "file"),
        ("x" * 300 + ".png", "x" * 251 + ".png"),
    ],
)
def test_shown_names_have_no_path_parts_control_characters_or_excess(client, sent, shown):
    contact = new_contact(client)
    assert made(upload(client, "contact", contact["id"], name=sent))["file_name"] == shown


def test_the_type_is_sniffed_from_the_content_not_the_header_or_the_name(client):
    contact = new_contact(client)
    png = made(upload(client, "contact", contact["id"], name="notes.txt", sent_as="text/plain"))
    assert png["mime_type"] == "image/png"
    text = made(
        upload(
            client, "contact", contact["id"], content=b"hello\n", name="x.png", sent_as="image/png"
        )
    )
    assert text["mime_type"] == "text/plain"
    html = made(
        upload(
            client,
            "contact",
            contact["id"],
            content=b"<html><script>alert(1)</script>",
            name="a.png",
        )
    )
    served = client.get(f"/api/v1/attachments/{html['id']}/content", headers=AM)
    assert served.headers["Content-Type"] == "text/html"
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_a_name_outside_ascii_downloads_with_an_rfc_5987_name(client):
    contact = new_contact(client)
    attachment = made(upload(client, "contact", contact["id"], name="Überblick Q3.png"))
    served = client.get(f"/api/v1/attachments/{attachment['id']}/content", headers=AM)
    disposition = served.headers["Content-Disposition"]
    assert "filename*=UTF-8''%C3%9Cberblick%20Q3.png" in disposition
    assert 'filename="Uberblick Q3.png"' in disposition


def test_attaching_to_a_missing_opportunity_is_a_422_and_to_a_new_one_a_201(
    client, contacts_db, records, storage
):
    missing = upload(client, "opportunity", unique("no-opp"))
    assert missing.status_code == 422 and "record_id" in missing.json["errors"]
    assert count(contacts_db, Attachment) == 0 and stored_files(storage) == []
    opportunity_id = unique("opp")
    records.records.add(("opportunity", opportunity_id))
    assert made(upload(client, "opportunity", opportunity_id))["record_id"] == opportunity_id


def test_bad_uploads_are_4xx_and_store_nothing(client, contacts_db, storage):
    contact = new_contact(client)
    for response in (
        upload(client, "spaceship", contact["id"]),
        upload(client, "contact", unique("nobody")),
        upload(client, "contact", contact["id"], content=None),
        upload(client, "contact", contact["id"], content=b""),
        upload(client, "contact", contact["id"], colour="red"),
        upload(client, "contact", contact["id"], id="mine"),
        client.post(
            "/api/v1/attachments",
            json={"record_type": "contact", "record_id": contact["id"]},
            headers=AM,
        ),
    ):
        assert response.status_code == 422, response.json
        assert response.headers["Content-Type"] == "application/problem+json"
    assert count(contacts_db, Attachment) == 0 and stored_files(storage) == []


@pytest.fixture
def small_client(contacts_db, records, storage):
    """A contacts app that takes files of at most 1,000 bytes."""
    settings = Settings(
        service="contacts",
        env="test",
        database_url=contacts_db.url,
        extra={"CRM_ATTACHMENT_MAX_BYTES": "1000"},
    )
    app = create_app(settings, database=contacts_db, records=records, storage=storage)
    return app.test_client()


def test_a_file_over_the_limit_is_a_413_and_nothing_is_stored(
    client, small_client, contacts_db, storage
):
    contact = new_contact(client)
    over_the_file_limit = upload(small_client, "contact", contact["id"], content=b"a" * 1001)
    assert over_the_file_limit.status_code == 413
    assert over_the_file_limit.headers["Content-Type"] == "application/problem+json"
    over_the_body_limit = upload(small_client, "contact", contact["id"], content=b"a" * 200_000)
    assert over_the_body_limit.status_code == 413
    assert count(contacts_db, Attachment) == 0 and stored_files(storage) == []
    assert made(upload(small_client, "contact", contact["id"], content=b"a" * 1000))["size"] == 1000


def test_other_bodies_keep_the_usual_limit(client):
    response = client.post(
        "/api/v1/contacts",
        data=json.dumps({"name": "x" * 2_000_000}),
        content_type="application/json",
        headers=AM,
    )
    assert response.status_code == 413


def test_a_failure_after_storing_deletes_the_file(client, contacts_db, storage, monkeypatch):
    contact = new_contact(client)

    def broken(*_args, **_kwargs):
        raise RuntimeError("the outbox is gone")

    monkeypatch.setattr(attachments_domain, "record_event", broken)
    assert upload(client, "contact", contact["id"]).status_code == 500
    assert count(contacts_db, Attachment) == 0 and stored_files(storage) == []


def test_a_record_lists_its_attachments_in_pages(client):
    contact, other = new_contact(client), new_contact(client)
    mine = [made(upload(client, "contact", contact["id"]))["id"] for _ in range(3)]
    made(upload(client, "contact", other["id"]))
    url = f"/api/v1/attachments?record_type=contact&record_id={contact['id']}&limit=2"
    first = client.get(f"{url}&sort=created_at", headers=AM).json
    second = client.get(f"{url}&sort=created_at&cursor={first['next_cursor']}", headers=AM).json
    assert [a["id"] for a in first["items"] + second["items"]] == mine
    assert second["next_cursor"] is None


def test_removing_an_attachment_deletes_its_file_and_tells_subscribers(
    client, contacts_db, storage
):
    contact = new_contact(client)
    attachment = made(upload(client, "contact", contact["id"]))
    url = f"/api/v1/attachments/{attachment['id']}"
    assert client.delete(url, headers=AM).status_code == 204
    assert client.get(url, headers=AM).status_code == 404
    assert client.get(f"{url}/content", headers=AM).status_code == 404
    assert count(contacts_db, DiscardedFile) == 1
    assert sweep_files(contacts_db, storage) == 1
    assert stored_files(storage) == [] and count(contacts_db, DiscardedFile) == 0
    with contacts_db.sessions() as session:
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.subject == attachment["id"])
        ).all()
    assert [row.event_type for row in rows] == ["attachment.added", "attachment.removed"]
    data = json.loads(rows[1].body)["data"]
    assert (data["file_path"], data["actor_id"]) == (attachment["file_path"], "am-files")


def test_a_deleted_contact_takes_its_attachments_and_taggings_files_included(
    client, contacts_db, storage
):
    contact = new_contact(client)
    for _ in range(2):
        made(upload(client, "contact", contact["id"]))
    tag = made(client.post("/api/v1/tags", json={"name": unique("tag")}, headers=AM))
    tagging = {"tag_id": tag["id"], "record_type": "contact", "record_id": contact["id"]}
    made(client.post("/api/v1/taggings", json=tagging, headers=AM))
    assert len(stored_files(storage)) == 2

    assert client.delete(f"/api/v1/contacts/{contact['id']}", headers=AM).status_code == 204
    assert count(contacts_db, Attachment) == 0 and count(contacts_db, Tagging) == 0
    assert sweep_files(contacts_db, storage) == 2
    assert stored_files(storage) == []


def test_an_opportunity_deleted_in_sales_takes_its_attachments(client, contacts_db, storage):
    opportunity_id = unique("opp")
    consumer = consumers(Settings(service="contacts", database_url=contacts_db.url), contacts_db)[0]

    def deliver(event_type: str) -> None:
        body = event_body(
            event_type=event_type,
            source="/crm/sales",
            subject=opportunity_id,
            data={"id": opportunity_id},
            event_id=new_id(),
        )
        assert consumer.handle(body).kind == ACK

    deliver("opportunity.created")
    made(upload(client, "opportunity", opportunity_id))
    deliver("opportunity.deleted")
    assert count(contacts_db, Attachment) == 0
    sweep_files(contacts_db, storage)
    assert stored_files(storage) == []


def test_a_repeated_upload_with_one_idempotency_key_stores_one_file(client, contacts_db, storage):
    contact = new_contact(client)
    headers = {**AM, "Idempotency-Key": unique("key")}
    first = made(upload(client, "contact", contact["id"], headers=headers))
    again = upload(client, "contact", contact["id"], headers=headers)
    assert again.status_code == 201 and again.json == first
    assert again.headers["Idempotent-Replayed"] == "true"
    different = upload(client, "contact", contact["id"], content=b"other", headers=headers)
    assert different.status_code == 422
    assert count(contacts_db, Attachment) == 1 and len(stored_files(storage)) == 1
