"""What a client's file is: its shown name, cleaned, and its type, sniffed from its bytes."""

from __future__ import annotations

import unicodedata
from typing import IO
from urllib.parse import quote

import magic

#: The longest shown file name (the column's width).
MAX_NAME = 255
#: How much of a file libmagic reads to tell its type (it needs more than the first bytes for
#: some formats, e.g. Office documents inside a zip).
SNIFF_BYTES = 64 * 1024
UNNAMED = "file"
# libmagic reads its database (about 9 MB) in on first use: do it as the process starts, for
# text and binary content alike, not during somebody's upload.
for _sample in (b"warm-up\n" * 64, bytes(range(256)) * 16):
    magic.from_buffer(_sample, mime=True)


def clean_file_name(name: str | None) -> str:
    """The client's name without path parts or control characters, at most 255 characters.

    `../../etc/passwd.png` becomes `passwd.png`; a name left empty (or `.`, `..`) is `file`.
    Format characters go too, so a right-to-left override cannot disguise an extension.
    """
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C")).strip()
    if text in {"", ".", ".."}:
        return UNNAMED
    if len(text) <= MAX_NAME:
        return text
    stem, dot, extension = text.rpartition(".")
    if dot and stem and len(extension) <= 20:
        return stem[: MAX_NAME - len(extension) - 1] + "." + extension
    return text[:MAX_NAME]


def sniff_mime_type(stream: IO[bytes]) -> str:
    """The MIME type libmagic reads in the file's first bytes; the stream is left at its start."""
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    return magic.from_buffer(head, mime=True) or "application/octet-stream"


def size_of(stream: IO[bytes]) -> int:
    """A seekable stream's length in bytes; the stream is left at its start."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def content_disposition(file_name: str) -> tuple[str, dict[str, str]]:
    """`attachment` with the name as an ASCII fallback and, if needed, RFC 5987 UTF-8.

    Returned as (value, options) for `Headers.set`, which quotes the options safely.
    """
    try:
        file_name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode()
        encoded = quote(file_name, safe="!#$&+-.^_`|~")
        return "attachment", {"filename": simple or UNNAMED, "filename*": f"UTF-8''{encoded}"}
    return "attachment", {"filename": file_name}
