"""One OpenAPI document for the whole API, merged from the services', and a page to browse it."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator

import requests
from flask import Flask, Response, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

API_PREFIX = "/api/v1"

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CRM API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui",
persistAuthorization: true});</script></body></html>"""


class MergedSpec:
    """The gateway's own spec plus each service's paths and components, cached briefly.

    Only what a client may call through the gateway is listed: a service's paths that the
    routing table sends to that service (service-only endpoints such as /conversions are
    left out), and only the components those paths use. Two services' components of the
    same name and different content are told apart by the service's name.
    """

    def __init__(
        self,
        own: dict,
        urls: dict[str, str],
        http: requests.Session,
        *,
        owner_of: Callable[[str], str | None],
        ttl_seconds: float = 60,
    ) -> None:
        self.own = own
        self.urls = urls
        self.http = http
        self.ttl = ttl_seconds
        self.owner_of = owner_of
        self.cached: tuple[float, dict] | None = None
        self.lock = threading.Lock()

    def build(self) -> dict:
        spec = copy.deepcopy(self.own)
        spec["info"]["title"] = "CRM API"
        spec.setdefault("components", {})
        missing = []
        for service, url in self.urls.items():
            try:
                response = self.http.get(f"{url}/api/v1/openapi.json", timeout=(1, 3))
                response.raise_for_status()
                document = response.json()
            except (requests.RequestException, ValueError):
                missing.append(service)
                continue
            self.merge(spec, service, document)
        prune_components(spec)
        if missing:
            spec["x-unavailable-services"] = missing
        return spec

    def merge(self, spec: dict, service: str, document: dict) -> None:
        """Add the routable paths of one service's document, and its components."""
        document = {
            **document,
            "paths": {
                path: item
                for path, item in document.get("paths", {}).items()
                if path.startswith(API_PREFIX + "/")
                and self.owner_of(path.removeprefix(API_PREFIX + "/")) == service
            },
        }
        for section, entries in document.get("components", {}).items():
            merged = spec["components"].setdefault(section, {})
            for name, entry in entries.items():
                if name in merged and merged[name] != entry:
                    document = rename_component(document, section, name, _prefixed(service, name))
        spec["paths"].update(document["paths"])
        for section, entries in document.get("components", {}).items():
            spec["components"].setdefault(section, {}).update(entries)
        known = {tag["name"] for tag in spec.get("tags", [])}
        spec.setdefault("tags", []).extend(
            t for t in document.get("tags", []) if t["name"] not in known
        )

    def get(self) -> dict:
        with self.lock:
            if self.cached and time.monotonic() - self.cached[0] < self.ttl:
                return self.cached[1]
            spec = self.build()
            if "x-unavailable-services" not in spec:
                self.cached = (time.monotonic(), spec)
            return spec


def _prefixed(service: str, name: str) -> str:
    return service[:1].upper() + service[1:] + name


def rename_component(document: dict, section: str, old: str, new: str) -> dict:
    """The document with one component renamed and every reference to it rewritten."""
    before, after = f"#/components/{section}/{old}", f"#/components/{section}/{new}"

    def rewrite(value):
        if isinstance(value, dict):
            return {
                k: (after if k == "$ref" and v == before else rewrite(v)) for k, v in value.items()
            }
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    renamed = rewrite(document)
    entries = renamed["components"][section]
    entries[new] = entries.pop(old)
    return renamed


def _refs(value) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "$ref" and isinstance(inner, str):
                yield inner
            else:
                yield from _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _refs(inner)


def prune_components(spec: dict) -> None:
    """Drop the components no listed path uses (directly or through other components)."""
    components = spec.get("components", {})
    used: set[str] = set()
    pending = list(_refs(spec.get("paths", {})))
    while pending:
        ref = pending.pop()
        if ref in used or not ref.startswith("#/components/"):
            continue
        used.add(ref)
        section, name = ref.removeprefix("#/components/").split("/", 1)
        pending.extend(_refs(components.get(section, {}).get(name, {})))
    for section in ("schemas", "responses", "parameters", "headers"):
        entries = components.get(section, {})
        for name in list(entries):
            if f"#/components/{section}/{name}" not in used:
                del entries[name]


def register_docs(app: Flask, merged: MergedSpec) -> None:
    @app.get("/api/v1/openapi.json")
    def openapi_json():
        return jsonify(merged.get())

    @app.get("/api/docs")
    @app.get("/api/docs/")
    def docs_page():
        return Response(DOCS_PAGE, mimetype="text/html")

    @app.get("/api/docs/static/<path:filename>")
    def docs_static(filename: str):
        return send_from_directory(swagger_ui_path, filename)
