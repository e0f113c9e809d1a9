"""Files on a contact and a deal through the gateway: streamed both ways, sniffed, safe, gone
with their record."""

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
import requests

from shared.testing.helpers import eventually, unique

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0\0\0\0")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


PNG = png_bytes()


class Pattern(io.RawIOBase):
    """`size` bytes made on the fly, so neither side of the test holds the body whole."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0
        self.digest = hashlib.sha256()

    def __len__(self) -> int:
        return self.size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.sent if n is None or n < 0 else min(n, self.size - self.sent)
        chunk = (b"0123456789abcdef" * (n // 16 + 1))[:n]
        self.sent += n
        self.digest.update(chunk)
        return chunk


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def upload(system, headers, record_type, record_id, content, name="file.bin", sent_as=None):
    files = {"file": (name, content, sent_as) if sent_as else (name, content)}
    form = {"record_type": record_type, "record_id": record_id}
    return system.api("POST", "/attachments", headers, data=form, files=files)


def stored_files(system) -> list[Path]:
    root = Path(system.env["CRM_VAR_DIR"]) / "attachments"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def peak_memory(system, process: str) -> int:
    """The largest peak resident size (VmHWM, bytes) among the gunicorn processes (master and
    workers) serving `process` (gateway, contacts) in this system: those listening on its port."""
    port = f"PORT={system.ports[process]}".encode()
    peaks = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"gunicorn" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            if port not in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        peaks += [int(line.split()[1]) * 1024 for line in status.splitlines() if "VmHWM" in line]
    assert peaks, f"no gunicorn process of {process} found"
    return max(peaks)


def test_files_on_a_contact_and_a_deal_are_sniffed_named_safely_and_go_with_the_contact(
    system, admin
):
    _, rep = system.new_user(admin, "account_manager")
    contact = created(system.api("POST", "/contacts", rep, json={"name": unique("Ada")}))
    deal = created(system.api("POST", "/opportunities", rep, json={"name": unique("Deal")}))
    tag = created(system.api("POST", "/tags", rep, json={"name": unique("Contract")}))
    for record_type, record in (("contact", contact), ("opportunity", deal)):
        body = {"tag_id": tag["id"], "record_type": record_type, "record_id": record["id"]}
        created(system.api("POST", "/taggings", rep, json=body))

    missing = upload(system, rep, "opportunity", unique("no-deal"), PNG, "x.png")
    assert missing.status_code == 422
    # Created a moment ago in sales: contacts asks sales while its replica catches up.
    on_deal = created(upload(system, rep, "opportunity", deal["id"], b"%PDF-1.4\n", "terms.pdf"))
    assert on_deal["mime_type"] == "application/pdf"
    photo = created(
        upload(system, rep, "contact", contact["id"], PNG, "../../etc/passwd.png", "text/plain")
    )
    assert (photo["file_name"], photo["mime_type"]) == ("passwd.png", "image/png")
    assert ".." not in photo["file_path"] and "passwd" not in photo["file_path"]

    served = system.api("GET", f"/attachments/{photo['id']}/content", rep)
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"] == "attachment; filename=passwd.png"
    listed = system.api("GET", f"/attachments?record_type=opportunity&record_id={deal['id']}", rep)
    assert [a["id"] for a in listed.json()["items"]] == [on_deal["id"]]

    paths = {photo["file_path"], on_deal["file_path"]}
    assert paths <= {path.name for path in stored_files(system)}
    assert system.api("DELETE", f"/contacts/{contact['id']}", rep).status_code == 204
    assert system.api("GET", f"/attachments/{photo['id']}", rep).status_code == 404
    tagged = system.api("GET", f"/taggings?record_type=contact&record_id={contact['id']}", rep)
    assert tagged.json()["items"] == []
    eventually(
        lambda: photo["file_path"] not in {path.name for path in stored_files(system)},
        timeout=60,
        interval=0.5,
    )

    # Deleted in sales: the contacts worker hears opportunity.deleted and removes the file.
    assert system.api("DELETE", f"/opportunities/{deal['id']}", rep).status_code == 204
    eventually(
        lambda: (
            system.api("GET", f"/attachments/{on_deal['id']}", rep).status_code == 404
            and on_deal["file_path"] not in {path.name for path in stored_files(system)}
        ),
        timeout=60,
        interval=0.5,
    )


def test_a_large_upload_streams_through_and_an_oversize_one_is_a_413_without_buffering(
    system, admin
):
    _, rep = system.new_user(admin, "account_manager")
    contact = created(system.api("POST", "/contacts", rep, json={"name": unique("Big")}))
    gateway_before = peak_memory(system, "gateway")
    contacts_before = peak_memory(system, "contacts")

    body = Pattern(20 * MiB)
    big = created(
        requests.post(
            f"{system.gateway}/api/v1/attachments",
            headers=rep,
            data={"record_type": "contact", "record_id": contact["id"]},
            files={"file": ("big.bin", body)},
            timeout=120,
        )
    )
    assert big["size"] == 20 * MiB
    received = hashlib.sha256()
    with requests.get(
        f"{system.gateway}/api/v1/attachments/{big['id']}/content",
        headers=rep,
        stream=True,
        timeout=120,
    ) as download:
        assert download.status_code == 200
        for chunk in download.iter_content(MiB):
            received.update(chunk)
    assert received.hexdigest() == body.digest.hexdigest()

    oversize = requests.post(
        f"{system.gateway}/api/v1/attachments",
        headers={**rep, "Content-Type": "multipart/form-data; boundary=x"},
        data=Pattern(60 * MiB),
        timeout=120,
    )
    assert oversize.status_code == 413
    assert oversize.headers["Content-Type"] == "application/problem+json"
    endless = Pattern(60 * MiB)
    chunked = requests.post(
        f"{system.gateway}/api/v1/attachments",
        headers={**rep, "Content-Type": "multipart/form-data; boundary=x"},
        data=iter(lambda: endless.read(MiB), b""),  # no length: Transfer-Encoding: chunked
        timeout=120,
    )
    assert chunked.status_code == 413

    # Neither process held a body whole: their peak memory grew by far less than 20 MiB.
    assert peak_memory(system, "gateway") - gateway_before < 10 * MiB
    assert peak_memory(system, "contacts") - contacts_before < 10 * MiB
    listed = system.api("GET", f"/attachments?record_type=contact&record_id={contact['id']}", rep)
    assert [a["id"] for a in listed.json()["items"]] == [big["id"]]
