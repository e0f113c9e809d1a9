"""Where attachment files live: a local folder or an S3-compatible bucket, behind one interface.

Keys are made by the caller and checked by `check_key` before either backend touches them.

Local layout: key `k` is stored at `<root>/<last two characters of k's last segment>/<k>`, so
`0190f3c2-…-9b10` lands in `<root>/10/0190f3c2-…-9b10` and `2025/report.pdf` in
`<root>/df/2025/report.pdf`. A save writes a hidden `.upload-*` temp file beside the final one
and renames it into place, so a file is either there whole or not at all.

In a bucket the object key is `prefix + key`.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO, Protocol

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

SAVE_CHUNK = 1024 * 1024
READ_CHUNK = 64 * 1024
MULTIPART_SIZE = 8 * 1024 * 1024
MAX_KEY_LENGTH = 200
BACKENDS = ("local", "s3")

_KEY_CHARS = re.compile(r"[A-Za-z0-9._/-]+")
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class MissingFile(Exception):
    """No file is stored under the key."""


class Storage(Protocol):
    """Attachment files by key; every method refuses a bad key with ValueError (`check_key`)."""

    def save(self, key: str, stream: IO[bytes]) -> int:
        """Store all of `stream` under `key`, whole or not at all; the number of bytes stored."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """The stored bytes, lazily, in chunks of at most 64 KiB; MissingFile at once if none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file under `key`; nothing to remove is not an error."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        ...


def check_key(key: str) -> str:
    """The key itself, or ValueError if it could escape the store or name a folder."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a storage key has 1 to {MAX_KEY_LENGTH} characters")
    if not _KEY_CHARS.fullmatch(key):
        raise ValueError("a storage key uses only A-Z a-z 0-9 . _ / -")
    if key.startswith("/"):
        raise ValueError("a storage key is relative: it cannot start with /")
    # An empty segment ("a//b", "a/") would name a folder, or another key's file on disk.
    if any(segment in {"", ".", ".."} for segment in key.split("/")):
        raise ValueError("a storage key has no empty, . or .. path segments")
    return key


class _Chunks:
    """An iterator over `chunks` that calls `close` once, when exhausted, failed or closed."""

    def __init__(self, chunks: Iterator[bytes], close: Callable[[], object]) -> None:
        self._chunks = chunks
        self._close = close
        self._closed = False

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> bytes:
        if self._closed:
            raise StopIteration
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()


class LocalStorage:
    """Files under one folder on this machine's disk (see the module docstring for the layout)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Where the file for `key` is (or would be) on disk."""
        check_key(key)
        # The end of a key varies most (uuid7 keys start with a timestamp), so it spreads best.
        shard = key.rsplit("/", 1)[-1][-2:]
        return self.root / shard / key

    def save(self, key: str, stream: IO[bytes]) -> int:
        """Store all of `stream` under `key`, replacing any file there; the bytes written."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=".upload-") as temp:
            try:
                size = 0
                for chunk in iter(partial(stream.read, SAVE_CHUNK), b""):
                    temp.write(chunk)
                    size += len(chunk)
                temp.flush()
                os.fsync(temp.fileno())
                os.replace(temp.name, path)  # POSIX renames an open file; the service runs on POSIX
            except BaseException:
                Path(temp.name).unlink(missing_ok=True)
                raise
        return size

    def open(self, key: str) -> Iterator[bytes]:
        """The file's bytes in chunks of at most 64 KiB; MissingFile if there is none."""
        try:
            file = self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise MissingFile(key) from exc
        return _Chunks(iter(partial(file.read, READ_CHUNK), b""), file.close)

    def delete(self, key: str) -> None:
        """Remove the file, if there is one."""
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


class _CountingReader:
    """Reads `stream` for s3transfer, counting the bytes, and fills each read unless at the end.

    Short reads would make multipart parts smaller than S3's 5 MiB minimum.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size if size is not None and size >= 0 else None
        got = 0
        while wanted is None or got < wanted:
            chunk = self.stream.read(SAVE_CHUNK if wanted is None else wanted - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        self.count += got
        return b"".join(parts)


class S3Storage:
    """Objects in an S3 bucket (or MinIO, or any S3-compatible store via `endpoint_url`)."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        client=None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        # Credentials come from boto3's usual chain: AWS_* variables, profile, instance role.
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region_name
        )
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_SIZE,
            multipart_chunksize=MULTIPART_SIZE,
            use_threads=False,
        )

    def object_key(self, key: str) -> str:
        """The object's key in the bucket."""
        return self.prefix + check_key(key)

    def save(self, key: str, stream: IO[bytes]) -> int:
        """Upload all of `stream` under `key`, replacing any object there; the bytes sent."""
        reader = _CountingReader(stream)
        self.client.upload_fileobj(reader, self.bucket, self.object_key(key), Config=self.transfer)
        return reader.count

    def open(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks of at most 64 KiB; MissingFile if there is none."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                raise MissingFile(key) from exc
            raise
        body = response["Body"]
        return _Chunks(body.iter_chunks(READ_CHUNK), body.close)

    def delete(self, key: str) -> None:
        """Remove the object; S3 answers the same whether or not there was one."""
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                return False
            raise
        return True


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def storage_from_settings(extra: dict[str, str], var_dir: str) -> Storage:
    """The store the CRM_ATTACHMENTS_* settings name; a local folder under `var_dir` by default."""
    backend = extra.get("CRM_ATTACHMENTS_STORAGE") or "local"
    if backend == "local":
        return LocalStorage(extra.get("CRM_ATTACHMENTS_DIR") or f"{var_dir}/attachments")
    if backend == "s3":
        bucket = extra.get("CRM_ATTACHMENTS_S3_BUCKET")
        if not bucket:
            raise ValueError("CRM_ATTACHMENTS_STORAGE=s3 needs CRM_ATTACHMENTS_S3_BUCKET")
        return S3Storage(
            bucket,
            prefix=extra.get("CRM_ATTACHMENTS_S3_PREFIX", ""),
            endpoint_url=extra.get("CRM_ATTACHMENTS_S3_ENDPOINT_URL") or None,
            region_name=extra.get("CRM_ATTACHMENTS_S3_REGION") or None,
        )
    allowed = ", ".join(BACKENDS)
    raise ValueError(f"CRM_ATTACHMENTS_STORAGE is {backend!r}; it must be one of: {allowed}")
