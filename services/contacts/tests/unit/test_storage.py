"""Attachment files kept in a local folder, and the settings that pick a store."""

import io
import os
import uuid

import pytest

from services.contacts.storage import (
    LocalStorage,
    MissingFile,
    S3Storage,
    check_key,
    storage_from_settings,
)

MiB = 1024 * 1024


def new_key() -> str:
    return str(uuid.uuid4())


class BrokenStream:
    """Gives `good` bytes, then fails as a dropped upload would."""

    def __init__(self, good: bytes) -> None:
        self.good = io.BytesIO(good)

    def read(self, size: int = -1) -> bytes:
        chunk = self.good.read(size)
        if not chunk:
            raise ConnectionResetError("client went away")
        return chunk


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path)


def test_a_saved_file_reads_back_byte_for_byte(storage):
    key = new_key()
    storage.save(key, io.BytesIO(b"hello, attachments"))
    assert b"".join(storage.open(key)) == b"hello, attachments"


def test_save_answers_the_number_of_bytes_stored(storage):
    assert storage.save(new_key(), io.BytesIO(b"x" * 1234)) == 1234
    assert storage.save(new_key(), io.BytesIO(b"")) == 0


def test_a_3_mib_file_reads_back_equal_in_chunks_of_at_most_64_kib(storage):
    key = new_key()
    body = os.urandom(3 * MiB)
    assert storage.save(key, io.BytesIO(body)) == len(body)
    chunks = list(storage.open(key))
    assert len(chunks) > 1
    assert max(len(chunk) for chunk in chunks) <= 64 * 1024
    assert b"".join(chunks) == body


def test_the_file_lands_in_a_subfolder_named_by_the_end_of_its_key(storage, tmp_path):
    key = new_key()
    storage.save(key, io.BytesIO(b"abc"))
    assert (tmp_path / key[-2:] / key).read_bytes() == b"abc"
    storage.save("2025/report.pdf", io.BytesIO(b"pdf"))
    assert (tmp_path / "df" / "2025" / "report.pdf").read_bytes() == b"pdf"


def test_saving_again_under_a_key_replaces_the_file(storage):
    key = new_key()
    storage.save(key, io.BytesIO(b"first version, longer"))
    storage.save(key, io.BytesIO(b"second"))
    assert b"".join(storage.open(key)) == b"second"


def test_opening_a_key_with_no_file_fails_at_once(storage):
    with pytest.raises(MissingFile):
        storage.open(new_key())  # not iterated: the check is eager


def test_exists_tells_whether_a_file_is_stored(storage):
    key = new_key()
    assert storage.exists(key) is False
    storage.save(key, io.BytesIO(b"abc"))
    assert storage.exists(key) is True


def test_delete_removes_the_file_from_disk_and_a_second_delete_is_fine(storage):
    key = new_key()
    storage.save(key, io.BytesIO(b"abc"))
    path = storage.path(key)
    assert path.is_file()
    storage.delete(key)
    assert not path.exists()
    assert storage.exists(key) is False
    storage.delete(key)


def test_an_upload_that_fails_midway_leaves_no_file_and_no_temp_file(storage):
    key = new_key()
    with pytest.raises(ConnectionResetError):
        storage.save(key, BrokenStream(b"y" * (2 * MiB + 10)))
    assert storage.exists(key) is False
    assert list(storage.path(key).parent.iterdir()) == []


def test_an_upload_that_fails_midway_keeps_the_previous_file(storage):
    key = new_key()
    storage.save(key, io.BytesIO(b"the good one"))
    with pytest.raises(ConnectionResetError):
        storage.save(key, BrokenStream(b"z" * MiB))
    assert b"".join(storage.open(key)) == b"the good one"
    assert [path.name for path in storage.path(key).parent.iterdir()] == [key]


BAD_KEYS = {
    "empty": "",
    "too long": "a" * 201,
    "absolute": "/etc/passwd",
    "dot-dot segment": "a/../b",
    "dot-dot alone": "..",
    "leading dot segment": "./a",
    "trailing dot segment": "a/.",
    "empty segment": "a//b",
    "trailing slash": "a/",
    "backslash": "a\\b",
    "space": "a b",
    "non-ascii": "café",
    "colon": "c:file",
    "percent": "a%2fb",
    "nul": "a\x00b",
    "trailing newline": "abc\n",
}


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_a_bad_key_is_refused(key):
    with pytest.raises(ValueError):
        check_key(key)


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_the_local_store_refuses_a_bad_key_before_touching_disk(storage, tmp_path, key):
    with pytest.raises(ValueError):
        storage.save(key, io.BytesIO(b"abc"))
    with pytest.raises(ValueError):
        storage.open(key)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "key", ["0190f3c2-1c3e-7b4d-9a1e-3f5c2d8e9b10", "a", "contacts/2025/Report_v1.2.pdf", "a" * 200]
)
def test_a_good_key_is_accepted(key):
    assert check_key(key) == key


def test_the_default_store_is_a_folder_under_the_var_dir(tmp_path):
    storage = storage_from_settings({}, str(tmp_path))
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "attachments"


def test_the_local_folder_can_be_set(tmp_path):
    settings = {"CRM_ATTACHMENTS_STORAGE": "local", "CRM_ATTACHMENTS_DIR": str(tmp_path / "files")}
    storage = storage_from_settings(settings, "var")
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "files"


def test_s3_settings_build_a_bucket_store_with_its_prefix():
    settings = {
        "CRM_ATTACHMENTS_STORAGE": "s3",
        "CRM_ATTACHMENTS_S3_BUCKET": "crm-files",
        "CRM_ATTACHMENTS_S3_PREFIX": "attachments/",
        "CRM_ATTACHMENTS_S3_REGION": "eu-west-1",
    }
    storage = storage_from_settings(settings, "var")
    assert isinstance(storage, S3Storage)
    assert storage.bucket == "crm-files"
    assert storage.object_key("abc") == "attachments/abc"
    assert storage.client.meta.region_name == "eu-west-1"


def test_s3_without_a_bucket_is_refused():
    with pytest.raises(ValueError, match="CRM_ATTACHMENTS_S3_BUCKET"):
        storage_from_settings({"CRM_ATTACHMENTS_STORAGE": "s3"}, "var")


def test_an_unknown_backend_is_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="local, s3"):
        storage_from_settings({"CRM_ATTACHMENTS_STORAGE": "ftp"}, "var")
