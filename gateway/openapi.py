"""One OpenAPI document for the whole API, merged from the services', and a page to browse it."""

from __future__ import annotations

import copy
import threading
import time

import requests
from flask import Flask, Response, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CRM API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui",
persistAuthorization: true});</script></body></html>"""


class MergedSpec:
    """The gateway's own spec plus each service's paths and components, cached briefly."""

    def __init__(
        self, own: dict, urls: dict[str, str], http: requests.Session, ttl_seconds: float = 60
    ) -> None:
        self.own = own
        self.urls = urls
        self.http = http
        self.ttl = ttl_seconds
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
            spec["paths"].update(document.get("paths", {}))
            for section, entries in document.get("components", {}).items():
                spec["components"].setdefault(section, {}).update(entries)
            known = {tag["name"] for tag in spec.get("tags", [])}
            spec.setdefault("tags", []).extend(
                t for t in document.get("tags", []) if t["name"] not in known
            )
        if missing:
            spec["x-unavailable-services"] = missing
        return spec

    def get(self) -> dict:
        with self.lock:
            if self.cached and time.monotonic() - self.cached[0] < self.ttl:
                return self.cached[1]
            spec = self.build()
            if "x-unavailable-services" not in spec:
                self.cached = (time.monotonic(), spec)
            return spec


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
