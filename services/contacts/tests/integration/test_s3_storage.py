"""Attachment files kept in an S3 bucket, against moto's real S3-compatible HTTP server."""

import io
import os
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from services.contacts.storage import MissingFile, S3Storage, storage_from_settings

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3_url():
    """The URL of an S3 server running in this process for the module's tests."""
    # Port 0 lets the OS pick a free port as the server binds it, so no other process can
    # take it in between (a taken port would leave start() waiting forever).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3_client(s3_url):
    return boto3.client(
        "s3",
        endpoint_url=s3_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def bucket(s3_client):
    name = f"crm-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def storage(s3_client, bucket):
    return S3Storage(bucket, client=s3_client)


def new_key() -> str:
    return str(uuid.uuid4())


def object_keys(s3_client, bucket: str) -> list[str]:
    return [item["Key"] for item in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_a_small_file_reads_back_byte_for_byte(storage):
    key = new_key()
    assert storage.save(key, io.BytesIO(b"hello, bucket")) == len(b"hello, bucket")
    assert b"".join(storage.open(key)) == b"hello, bucket"


def test_a_12_mib_file_goes_up_in_parts_and_reads_back_equal(storage, s3_client, bucket):
    key = new_key()
    body = os.urandom(12 * MiB)
    assert storage.save(key, io.BytesIO(body)) == len(body)
    head = s3_client.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(body)
    assert "-" in head["ETag"]  # a multipart upload's ETag is "<md5 of parts>-<part count>"
    chunks = list(storage.open(key))
    assert max(len(chunk) for chunk in chunks) <= 64 * 1024
    assert b"".join(chunks) == body


class TrickleStream:
    """Answers each read with at most 64 KiB, as a request body arriving over a socket does."""

    def __init__(self, body: bytes) -> None:
        self.body = io.BytesIO(body)

    def read(self, size: int = -1) -> bytes:
        return self.body.read(min(size, 64 * 1024) if size >= 0 else 64 * 1024)


def test_a_stream_of_short_reads_still_goes_up_in_full_sized_parts(storage, s3_client, bucket):
    key = new_key()
    body = os.urandom(12 * MiB)
    assert storage.save(key, TrickleStream(body)) == len(body)
    head = s3_client.head_object(Bucket=bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-2")  # two parts: 8 MiB and 4 MiB
    assert b"".join(storage.open(key)) == body


def test_the_prefix_goes_in_front_of_the_key_in_the_bucket(s3_client, bucket):
    storage = S3Storage(bucket, prefix="attachments/", client=s3_client)
    key = new_key()
    storage.save(key, io.BytesIO(b"abc"))
    assert object_keys(s3_client, bucket) == [f"attachments/{key}"]
    assert b"".join(storage.open(key)) == b"abc"


def test_opening_a_key_with_no_object_fails_at_once(storage):
    with pytest.raises(MissingFile):
        storage.open(new_key())  # not iterated: the check is eager


def test_exists_tells_whether_an_object_is_stored(storage):
    key = new_key()
    assert storage.exists(key) is False
    storage.save(key, io.BytesIO(b"abc"))
    assert storage.exists(key) is True


def test_delete_removes_the_object_and_a_second_delete_is_fine(storage, s3_client, bucket):
    key = new_key()
    storage.save(key, io.BytesIO(b"abc"))
    storage.delete(key)
    assert object_keys(s3_client, bucket) == []
    assert storage.exists(key) is False
    storage.delete(key)


def test_a_bad_key_is_refused_before_anything_is_sent(storage, s3_client, bucket):
    with pytest.raises(ValueError):
        storage.save("../escape", io.BytesIO(b"abc"))
    assert object_keys(s3_client, bucket) == []


def test_settings_with_an_endpoint_url_reach_an_s3_compatible_store(
    s3_url, s3_client, bucket, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings = {
        "CRM_ATTACHMENTS_STORAGE": "s3",
        "CRM_ATTACHMENTS_S3_BUCKET": bucket,
        "CRM_ATTACHMENTS_S3_PREFIX": "crm/",
        "CRM_ATTACHMENTS_S3_ENDPOINT_URL": s3_url,
    }
    storage = storage_from_settings(settings, "var")
    key = new_key()
    assert storage.save(key, io.BytesIO(b"via settings")) == len(b"via settings")
    assert b"".join(storage.open(key)) == b"via settings"
    assert object_keys(s3_client, bucket) == [f"crm/{key}"]
