"""The user directory asks the gateway about exactly one user, never about a collection."""

import pytest

from shared.testing.tokens import SignedCredentials
from shared.users import HttpUserDirectory


class Recording:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def get(self, url, **kwargs):
        self.urls.append(url)
        assert kwargs.get("allow_redirects") is False
        return type("Answer", (), {"status_code": 404})()


@pytest.mark.parametrize("user_id", ["", ".", ".."])
def test_a_dot_segment_is_no_user_and_is_never_asked_for(user_id):
    directory = HttpUserDirectory("http://127.0.0.1:1", SignedCredentials("contacts"))
    directory.http = Recording()
    assert directory.exists(user_id) is False
    assert directory.http.urls == []


def test_an_id_with_a_slash_or_a_question_mark_stays_one_path_segment():
    directory = HttpUserDirectory("http://127.0.0.1:1", SignedCredentials("contacts"))
    directory.http = Recording()
    assert directory.exists("a/../b?x=1") is False
    assert directory.http.urls == ["http://127.0.0.1:1/api/v1/users/a%2F..%2Fb%3Fx%3D1"]
