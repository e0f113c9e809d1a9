"""A client's file name and type: cleaned and sniffed, never trusted."""

import io

import pytest
from werkzeug.datastructures import Headers

from services.contacts.domain.files import (
    clean_file_name,
    content_disposition,
    size_of,
    sniff_mime_type,
)


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\ada\\report.png", "report.png"),
        ("dir/", "file"),
        ("", "file"),
        (None, "file"),
        (".", "file"),
        ("..", "file"),
        ("a\x00b\x1f\x7fc.txt", "abc.txt"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("  spaced.txt  ", "spaced.txt"),
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),
        ("x" * 300 + ".png", "x" * 251 + ".png"),
        ("y" * 300, "y" * 255),
        ("z" * 280 + "." + "e" * 30, ("z" * 280 + "." + "e" * 30)[:255]),
    ],
)
def test_names_lose_paths_and_control_characters_and_are_bounded(sent, shown):
    assert clean_file_name(sent) == shown


def test_ascii_names_are_sent_plain_and_others_with_an_utf8_fallback():
    assert content_disposition("a.pdf") == ("attachment", {"filename": "a.pdf"})
    value, options = content_disposition("Überblick.pdf")
    assert value == "attachment"
    assert options == {"filename": "Uberblick.pdf", "filename*": "UTF-8''%C3%9Cberblick.pdf"}
    assert content_disposition("日本.pdf")[1]["filename"] == ".pdf"


def test_quotes_in_a_name_are_escaped_in_the_header():
    headers = Headers()
    value, options = content_disposition('a "quoted"; name.pdf')
    headers.set("Content-Disposition", value, **options)
    assert headers["Content-Disposition"] == 'attachment; filename="a \\"quoted\\"; name.pdf"'


def test_the_type_comes_from_the_bytes_and_the_stream_is_rewound():
    stream = io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    assert sniff_mime_type(stream) == "application/pdf"
    assert stream.tell() == 0
    assert size_of(stream) == 15 and stream.tell() == 0
