"""What browsers get from the gateway: security headers on every response, CORS for client apps."""

import base64
import hashlib
import io
import re

import pytest
import requests

ALLOWED, ALSO_ALLOWED = "https://app.example.test", "https://admin.example.test"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
}
EXPOSED = {"etag", "location", "x-request-id", "retry-after", "content-disposition"}


@pytest.fixture
def backend():
    return "sqlite"  # what is tested is the HTTP answer, not the database


@pytest.fixture
def cors_system(monkeypatch, request):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f"{ALLOWED}, {ALSO_ALLOWED}/")
    return request.getfixturevalue("system")


@pytest.fixture
def plain_system(monkeypatch, request):
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    return request.getfixturevalue("system")


def assert_secured(response, csp=API_CSP):
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert response.headers.get("Content-Security-Policy") == csp, response.request.url


def listed(value):
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def preflight(base, path, origin, method="POST", headers="Authorization, Content-Type"):
    return requests.options(
        f"{base}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
        timeout=10,
    )


def test_the_gateways_own_answers_proxied_ones_and_errors_all_carry_the_headers(
    plain_system, admin_headers
):
    base = plain_system["gateway"]
    me = requests.get(f"{base}/api/v1/auth/me", headers=admin_headers, timeout=10)
    proxied = requests.get(f"{base}/api/v1/contacts", headers=admin_headers, timeout=10)
    unauthenticated = requests.get(f"{base}/api/v1/contacts", timeout=10)
    unrouted = requests.get(f"{base}/api/v1/no-such-thing", headers=admin_headers, timeout=10)
    not_api = requests.get(f"{base}/no-such-page", timeout=10)
    health = requests.get(f"{base}/healthz", timeout=10)
    answers = (me, proxied, unauthenticated, unrouted, not_api, health)
    assert [r.status_code for r in answers] == [200, 200, 401, 404, 404, 200]
    for response in answers:
        assert_secured(response)
    login = requests.post(
        f"{base}/api/v1/auth/login", json={"email": "x@example.test", "password": "no"}, timeout=10
    )
    assert login.status_code == 401
    assert_secured(login)
    for response in (me, login):
        assert response.headers["Cache-Control"] == "no-store"
    assert proxied.headers.get("Cache-Control") != "no-store"


def test_a_header_the_service_sets_on_purpose_is_kept(plain_system, admin_headers):
    base = plain_system["gateway"]
    contact = requests.post(
        f"{base}/api/v1/contacts", json={"name": "Ada"}, headers=admin_headers, timeout=10
    ).json()
    attachment = requests.post(
        f"{base}/api/v1/attachments",
        headers=admin_headers,
        data={"record_type": "contact", "record_id": contact["id"]},
        files={"file": ("notes.txt", io.BytesIO(b"plain words"))},
        timeout=30,
    ).json()
    download = requests.get(
        f"{base}/api/v1/attachments/{attachment['id']}/content", headers=admin_headers, timeout=30
    )
    assert download.status_code == 200
    assert download.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["X-Frame-Options"] == "DENY"


def test_the_docs_page_may_run_its_own_script_and_stylesheet_only(plain_system):
    base = plain_system["gateway"]
    page = requests.get(f"{base}/api/docs", timeout=10)
    assert page.status_code == 200
    csp = dict(
        part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";")
    )
    assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert csp["connect-src"] == "'self'"  # it fetches /api/v1/openapi.json
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"].split()
    assert "'self'" in csp["script-src"].split() and "'self'" in csp["style-src"].split()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(asset.startswith("/api/docs/static/") for asset in assets)
    for asset in assets:
        assert requests.get(f"{base}{asset}", timeout=10).status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert page.headers[name] == value


def test_a_preflight_from_an_allowed_origin_is_answered_by_the_gateway(cors_system):
    base = cors_system["gateway"]
    for origin in (ALLOWED, ALSO_ALLOWED):
        response = preflight(
            base,
            "/api/v1/contacts",
            origin,
            headers="Authorization, Content-Type, If-Match, Idempotency-Key, X-Request-ID",
        )
        assert response.status_code in (200, 204), response.text
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert listed(response.headers["Access-Control-Allow-Headers"]) == {
            "authorization",
            "content-type",
            "if-match",
            "idempotency-key",
            "x-request-id",
        }
        assert {"get", "post", "patch", "put", "delete"} <= listed(
            response.headers["Access-Control-Allow-Methods"]
        )
        assert response.headers["Access-Control-Max-Age"] == "600"
        assert "Access-Control-Allow-Credentials" not in response.headers
        assert "origin" in listed(response.headers.get("Vary"))
        assert_secured(response)
    login = preflight(base, "/api/v1/auth/login", ALLOWED, headers="Content-Type")
    assert login.status_code in (200, 204)
    assert login.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_a_preflight_is_never_forwarded_to_the_service(cors_system, admin_headers):
    base = cors_system["gateway"]
    cors_system["contacts"].stop()
    down = requests.get(f"{base}/api/v1/contacts", headers=admin_headers, timeout=10)
    assert down.status_code in (503, 504)
    response = preflight(base, "/api/v1/contacts", ALLOWED, method="PATCH")
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_other_origins_get_no_cors_headers(cors_system, admin_headers):
    base = cors_system["gateway"]
    for origin in ("https://evil.example.test", f"{ALLOWED}.evil.example.test", "null"):
        response = preflight(base, "/api/v1/contacts", origin)
        assert "Access-Control-Allow-Origin" not in response.headers, origin
        assert "Access-Control-Allow-Headers" not in response.headers
        read = requests.get(
            f"{base}/api/v1/contacts", headers={**admin_headers, "Origin": origin}, timeout=10
        )
        assert read.status_code == 200 and "Access-Control-Allow-Origin" not in read.headers


def test_without_configured_origins_there_are_no_cors_headers(plain_system, admin_headers):
    base = plain_system["gateway"]
    response = preflight(base, "/api/v1/contacts", ALLOWED)
    assert response.status_code != 401
    read = requests.get(
        f"{base}/api/v1/contacts", headers={**admin_headers, "Origin": ALLOWED}, timeout=10
    )
    for answer in (response, read):
        assert not [name for name in answer.headers if name.lower().startswith("access-control-")]


def test_an_allowed_origin_may_read_answers_and_errors_and_their_headers(
    cors_system, admin_headers
):
    base = cors_system["gateway"]
    read = requests.get(
        f"{base}/api/v1/contacts", headers={**admin_headers, "Origin": ALLOWED}, timeout=10
    )
    refused = requests.get(f"{base}/api/v1/contacts", headers={"Origin": ALLOWED}, timeout=10)
    assert (read.status_code, refused.status_code) == (200, 401)
    for response in (read, refused):
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
        assert listed(response.headers["Access-Control-Expose-Headers"]) == EXPOSED
        assert "Access-Control-Allow-Credentials" not in response.headers
        assert "origin" in listed(response.headers.get("Vary"))
    plain = requests.get(f"{base}/api/v1/contacts", headers=admin_headers, timeout=10)
    assert "Access-Control-Allow-Origin" not in plain.headers
