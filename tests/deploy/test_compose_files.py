"""The compose files are valid Compose files, checked offline.

Always: docker-compose.yml and the tracing override validate against the Compose
Specification's JSON schema. Its copy comes from a package, check-jsonschema (a dev
dependency; it vendors the compose-spec project's `compose-spec.json` with its licence), so
nothing is downloaded at test time and no copy is kept here. When a docker client with the
compose plugin is installed, `docker compose config` must also accept both files together
(it resolves what the schema cannot: merging, interpolation, references); without one that
case is skipped and says so.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
from importlib import resources

import jsonschema
import pytest
import yaml

from tests.deploy.test_manifests import ROOT
from tests.deploy.test_observability import TRACING_OVERRIDE

COMPOSE_FILES = [ROOT / "docker-compose.yml", TRACING_OVERRIDE]


@functools.cache
def compose_validator() -> jsonschema.protocols.Validator:
    source = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(source.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def problems(document: dict) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in compose_validator().iter_errors(document)
    ]


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_the_compose_files_validate_against_the_compose_spec_schema(path):
    assert problems(yaml.safe_load(path.read_text())) == []


def test_the_compose_schema_rejects_what_compose_would():
    compose = yaml.safe_load(COMPOSE_FILES[0].read_text())
    unknown_key = copy.deepcopy(compose)
    unknown_key["services"]["gateway"]["restart_policy"] = "always"  # a swarm-ish typo
    wrong_type = copy.deepcopy(compose)
    wrong_type["services"]["gateway"]["ports"] = "127.0.0.1:8080:8080"  # not a list
    assert problems(unknown_key) and problems(wrong_type)


def compose_plugin() -> bool:
    if not shutil.which("docker"):
        return False
    found = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60)
    return found.returncode == 0


def test_docker_compose_config_accepts_the_files_when_the_plugin_is_installed():
    if not compose_plugin():
        pytest.skip("no docker client with the compose plugin: the schema check above stands")
    arguments = [argument for path in COMPOSE_FILES for argument in ("-f", str(path))]
    result = subprocess.run(
        ["docker", "compose", *arguments, "--profile", "observability", "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
