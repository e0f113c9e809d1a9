"""The deployment files stay deployable.

The kustomize overlays render to Kubernetes objects that validate against the 1.30
schemas and keep the properties operations relies on (probes, resources, non-root
pods, secrets by reference, network paths); docker-compose.yml, the Dockerfile and
gunicorn.conf.py hang together. The overlays are rendered by the real kustomize
(`kubectl kustomize`, kustomize v5), exactly what `kubectl apply -k` applies; no network.

Schemas: built-in kinds are validated strictly with kubernetes-validate, which ships the
Kubernetes schemas. The operators' custom resources (NO_OFFLINE_SCHEMA) have no schema that a
package registry ships: their CRDs' openAPIV3 schemas come only with the operators' release
manifests. Each such kind is listed by name and reported as skipped; a kind that is neither
built in nor listed fails until it is classified. The core Kubernetes types those resources
embed (resources, affinity, topology spread constraints, the RabbitMQ pod template override)
are validated with the core schemas all the same, and the fields this project relies on are
checked one by one below.
"""

from __future__ import annotations

import copy
import functools
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import kubernetes_validate
import pytest
import yaml

from gateway.clients import Clients
from gateway.proxy import DEFAULT_URLS as GATEWAY_UPSTREAMS
from gateway.tokens import SigningKeys
from shared.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.30"
OVERLAYS = ["dev", "prod"]
POD_OWNERS = {"Deployment", "StatefulSet", "Job"}
SECRET_NAME = "crm-secrets"

# Every service (a package under services/) with the port of its web process and of its
# worker's probe server; `test_the_service_list_is_complete` keeps this in step with the code.
SERVICES = {
    "contacts": (8001, 9001),
    "sales": (8002, 9002),
    "support": (8003, 9003),
    "billing": (8004, 9004),
    "notifications": (8005, 9005),
}
GATEWAY_PORT = 8080
WEB = {"gateway", *SERVICES}
WORKERS = {f"{service}-worker" for service in SERVICES}
DEPLOYMENTS = WEB | WORKERS
# The module each process runs, and so its database, Secret key and migration Job.
MODULES = {"gateway": "gateway", **{service: f"services.{service}" for service in SERVICES}}
DATABASES = {f"crm_{name}" for name in MODULES}
# Services that learn everything from events and look nobody up (no USERS_URL).
# Processes that hold Server-Sent Events streams run gunicorn's gevent worker class.
GEVENT = {"gateway", "notifications"}

# What each overlay may run: the project's image, and pinned PostgreSQL/RabbitMQ (in prod, the
# images the operators run, named in their custom resources).
EXPECTED_IMAGES = {
    "dev": {"crm:dev", "postgres:15", "rabbitmq:3.13-management"},
    "prod": {
        "registry.example.com/crm/crm:0.1.0",
        "ghcr.io/cloudnative-pg/postgresql:15.10",
        "rabbitmq:3.13.7-management",
    },
}
INFRASTRUCTURE_IMAGES = ("postgres:", "rabbitmq:", "ghcr.io/cloudnative-pg/postgresql:")
# Environment variables that carry credentials: always from crm-secrets, never inline.
SECRET_ENV = {
    "JWT_PRIVATE_KEY",
    "JWT_PREVIOUS_PUBLIC_KEYS",
    "SERVICE_CLIENT_SECRET",
    *(
        f"SERVICE_CLIENT_SECRET_{name.upper()}"
        for name in ("contacts", "sales", "support", "billing", "notifications")
    ),
    "DATABASE_URL",
    "AMQP_URL",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "RABBITMQ_DEFAULT_USER",
    "RABBITMQ_DEFAULT_PASS",
    "AMQP_USERNAME",
    "AMQP_PASSWORD",
    "CRM_ADMIN_PASSWORD",
}
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
# A URL whose user and password are references to earlier variables: `$(USER):$(PASSWORD)@`.
REFERENCED_CREDENTIALS = re.compile(r"://\$\((\w+)\):\$\((\w+)\)@")


# ---- the overlays as the real kustomize renders them ----

CLUSTER_SCOPED = {"Namespace"}
# Custom resources no package ships a schema for (see the module's docstring): kubernetes-validate
# knows only the built-in kinds; PyPI and npm ship no openAPIV3 schema of these CRDs (the
# nearest, @kubernetes-models/prometheus-operator and cloudcoil-models-prometheus-operator,
# ship compiled JavaScript validators and pydantic models, and only for the Prometheus
# Operator). test_observability.py and the tests below check the fields that matter.
NO_OFFLINE_SCHEMA = {
    ("monitoring.coreos.com/v1", "PodMonitor"): "Prometheus Operator",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "Prometheus Operator",
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "RabbitMQ Cluster Operator",
    ("rabbitmq.com/v1beta1", "User"): "RabbitMQ Messaging Topology Operator",
    ("rabbitmq.com/v1beta1", "Permission"): "RabbitMQ Messaging Topology Operator",
    ("postgresql.cnpg.io/v1", "Cluster"): "CloudNativePG",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "CloudNativePG",
}


def read_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def object_id(doc: dict) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def kustomize_command() -> list[str]:
    """`kubectl kustomize` (kustomize v5 inside kubectl), or a standalone `kustomize build`."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    pytest.fail("rendering the manifests needs kubectl (kustomize v5) or kustomize on PATH")


def split_image(image: str) -> tuple[str, str]:
    name, sep, tag = image.rpartition(":")
    return (name, tag) if sep and "/" not in tag else (image, "")


def render(directory: Path) -> list[dict]:
    """What `kubectl kustomize directory` prints: what `kubectl apply -k` would apply."""
    result = subprocess.run(
        [*kustomize_command(), str(directory)], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        pytest.fail(f"kustomize could not render {directory}: {result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]


def pod_spec(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]


def all_containers(docs: list[dict]) -> list[dict]:
    return [
        container
        for doc in docs
        if doc["kind"] in POD_OWNERS
        for container in pod_spec(doc).get("initContainers", []) + pod_spec(doc)["containers"]
    ]


@functools.cache
def _rendered(overlay: str) -> tuple[dict, ...]:
    return tuple(render(K8S / "overlays" / overlay))


def rendered(overlay: str) -> list[dict]:
    return copy.deepcopy(list(_rendered(overlay)))


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def of_type(docs: list[dict], api_version: str, kind: str) -> dict[str, dict]:
    return {
        doc["metadata"]["name"]: doc
        for doc in docs
        if (doc["apiVersion"], doc["kind"]) == (api_version, kind)
    }


def postgres_clusters(docs: list[dict]) -> dict[str, dict]:
    return of_type(docs, "postgresql.cnpg.io/v1", "Cluster")


def rabbitmq_clusters(docs: list[dict]) -> dict[str, dict]:
    return of_type(docs, "rabbitmq.com/v1beta1", "RabbitmqCluster")


def operator_pods(docs: list[dict]) -> dict[str, tuple[str, dict]]:
    """The pods the operators run for the custom resources, labelled as the operators label
    them: CloudNativePG `cnpg.io/cluster: <cluster>`, the RabbitMQ Cluster Operator
    `app.kubernetes.io/name: <cluster>` and `app.kubernetes.io/component: rabbitmq`."""
    pods = {}
    for name in postgres_clusters(docs):
        pods[name] = ("crm", {"cnpg.io/cluster": name, "cnpg.io/instanceRole": "primary"})
    for name in rabbitmq_clusters(docs):
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "rabbitmq"}
        pods[name] = ("crm", {**labels, "app.kubernetes.io/part-of": "rabbitmq"})
    return pods


def operator_images(docs: list[dict]) -> set[str]:
    """The images the operators run, as their custom resources name them."""
    return {c["spec"]["imageName"] for c in postgres_clusters(docs).values()} | {
        c["spec"]["image"] for c in rabbitmq_clusters(docs).values()
    }


def module_name(process: str) -> str:
    """The service (or gateway) a process belongs to: `contacts-worker` -> `contacts`."""
    return re.sub(r"-(worker|migrate|seed)$", "", process)


def project_workloads(docs: list[dict], overlay: str) -> list[tuple[dict, dict]]:
    project = {i for i in EXPECTED_IMAGES[overlay] if not i.startswith(INFRASTRUCTURE_IMAGES)}
    return [
        (doc, container)
        for doc in docs
        if doc["kind"] in POD_OWNERS
        for container in pod_spec(doc)["containers"]
        if container["image"] in project
    ]


def env_of(container: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def config_value(docs: list[dict], key: str) -> str:
    return of_kind(docs, "ConfigMap")["crm-config"]["data"][key]


def secret_key(doc: dict, variable: str) -> str:
    """The crm-secrets key a pod's first container reads `variable` from."""
    return env_of(pod_spec(doc)["containers"][0])[variable]["valueFrom"]["secretKeyRef"]["key"]


def secret_source(doc: dict, variable: str) -> tuple[str, str]:
    """The Secret and key a pod's first container reads `variable` from."""
    reference = env_of(pod_spec(doc)["containers"][0])[variable]["valueFrom"]["secretKeyRef"]
    return reference["name"], reference["key"]


def database_secret(overlay: str, module: str) -> tuple[str, str]:
    """Where a module's processes read DATABASE_URL: crm-secrets, or in prod the `uri` that
    CloudNativePG writes into its Cluster's `<cluster>-app` Secret."""
    if overlay == "prod":
        return f"{module}-db-app", "uri"
    return SECRET_NAME, f"{module.upper()}_DATABASE_URL"


def module_of(command: list[str]) -> str:
    """The package a command runs: `gateway` or `services.contacts`."""
    if command[0] == "python":
        return command[2]
    return command[-1].split(":")[0].removesuffix(".wsgi")


def host_and_port(url: str) -> tuple[str, int]:
    """A service-to-service URL: plain HTTP to a name in the same network, and its port."""
    match = re.fullmatch(r"http://([a-z][a-z0-9-]*):(\d+)", url)
    assert match, f"{url} is not http://<service>:<port>"
    return match[1], int(match[2])


# ---- the service list: the tests below cover every process there is ----


def test_the_service_list_is_complete():
    """SERVICES names every package under services/, and the gateway routes to each of them;
    the processes `make run` starts (Procfile) are the Deployments."""
    packages = {p.parent.name for p in (ROOT / "services").glob("*/__main__.py")}
    assert packages == set(SERVICES)
    assert set(GATEWAY_UPSTREAMS) == set(SERVICES)
    for service, (web_port, _) in SERVICES.items():
        assert GATEWAY_UPSTREAMS[service].endswith(f":{web_port}"), service
    procfile = (ROOT / "Procfile").read_text().splitlines()
    assert {line.split(":", 1)[0] for line in procfile if line.strip()} == DEPLOYMENTS


# ---- entry points: every command names a module and subcommand that exist ----


@functools.cache
def subcommands(module: str) -> str:
    """The module's own --help, which lists its subcommands (no database needed)."""
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def entry_point_problem(command: list[str]) -> str | None:
    if command[:3] == ["gunicorn", "-c", "gunicorn.conf.py"] and len(command) == 4:
        module, _, attribute = command[3].partition(":")
        path = ROOT / (module.replace(".", "/") + ".py")
        if not path.is_file():
            return f"{module} is not a module of this repo"
        if not re.search(rf"^{attribute} = ", path.read_text(), re.MULTILINE):
            return f"{module} defines no {attribute}"
        return None
    if command[:2] == ["python", "-m"] and len(command) == 4:
        module, subcommand = command[2], command[3]
        if not (ROOT / module.replace(".", "/") / "__main__.py").is_file():
            return f"python -m {module}: no such runnable module"
        if not re.search(rf"\b{re.escape(subcommand)}\b", subcommands(module)):
            return f"python -m {module} has no subcommand {subcommand}"
        return None
    return f"not a known entry point: {command}"


# ---- Kubernetes ----


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_renders_objects_that_validate_against_kubernetes_schemas(overlay):
    docs = rendered(overlay)
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "Job", "Service", "Ingress"} <= kinds
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    if overlay == "prod":
        assert {"Cluster", "ScheduledBackup", "RabbitmqCluster", "User", "Permission"} <= kinds
        assert "StatefulSet" not in kinds, "prod runs PostgreSQL and RabbitMQ on operators"
    else:
        assert "StatefulSet" in kinds
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) not in NO_OFFLINE_SCHEMA:
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                pytest.fail(
                    f"{overlay}: no schema for {doc['apiVersion']} {doc['kind']}: validate it, "
                    "or list it in NO_OFFLINE_SCHEMA if no package ships its schema"
                )
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{overlay}: {object_id(doc)} is invalid: {error}")
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"]["namespace"] == "crm", object_id(doc)


@pytest.mark.parametrize(("api_version", "kind"), sorted(NO_OFFLINE_SCHEMA))
def test_custom_resources_without_an_offline_schema_are_reported_by_name(api_version, kind):
    """One skipped case per custom resource kind that cannot be schema-validated offline; a
    kind no overlay renders any more fails, so the list stays exact."""
    rendered_types = {(d["apiVersion"], d["kind"]) for o in OVERLAYS for d in rendered(o)}
    assert (api_version, kind) in rendered_types, f"{kind} is rendered nowhere: unlist it"
    operator = NO_OFFLINE_SCHEMA[(api_version, kind)]
    pytest.skip(f"no offline schema for {kind} ({api_version}, {operator})")


def validate_pod_spec(spec: dict, what: str) -> None:
    """Core Kubernetes types inside a custom resource, checked as the PodSpec they end up in."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "embedded"}, "spec": spec}
    try:
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{what}: {error}")


def test_the_core_types_inside_the_operators_resources_validate():
    docs = rendered("prod")
    for name, cluster in postgres_clusters(docs).items():
        spec = cluster["spec"]
        validate_pod_spec(
            {
                "containers": [{"name": "postgres", "resources": spec["resources"]}],
                "topologySpreadConstraints": spec["topologySpreadConstraints"],
            },
            f"Cluster {name}",
        )
    for name, cluster in rabbitmq_clusters(docs).items():
        spec = cluster["spec"]
        template = copy.deepcopy(spec["override"]["statefulSet"]["spec"]["template"]["spec"])
        template["affinity"] = spec["affinity"]
        template["containers"][0]["resources"] = spec["resources"]
        validate_pod_spec(template, f"RabbitmqCluster {name}")


def test_the_manifests_are_rendered_by_the_real_kustomize():
    version = subprocess.run(
        [*kustomize_command()[:1], "version", "--client"]
        if kustomize_command()[0] == "kubectl"
        else ["kustomize", "version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Kustomize Version: v5" in version.stdout or version.stdout.startswith("v5"), (
        version.stdout
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_probes_resources_and_a_non_root_security_context(overlay):
    deployments = of_kind(rendered(overlay), "Deployment")
    assert set(deployments) == DEPLOYMENTS
    for name, deployment in deployments.items():
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                assert container[probe]["httpGet"]["path"] == path, (name, probe)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_runs_its_web_process_and_its_worker_on_its_ports(overlay):
    deployments = of_kind(rendered(overlay), "Deployment")
    for service, (web_port, health_port) in SERVICES.items():
        web = pod_spec(deployments[service])["containers"][0]
        assert web["command"][-1] == f"services.{service}.wsgi:app", service
        assert env_of(web)["PORT"]["value"] == str(web_port), service
        assert "HEALTH_PORT" not in env_of(web), service
        worker = pod_spec(deployments[f"{service}-worker"])["containers"][0]
        assert worker["command"] == ["python", "-m", f"services.{service}", "worker"], service
        assert env_of(worker)["HEALTH_PORT"]["value"] == str(health_port), service
        for name in (service, f"{service}-worker"):
            assert deployments[name]["metadata"]["labels"]["app.kubernetes.io/component"] == (
                "worker" if name.endswith("-worker") else "web"
            ), "docs/ops.md applies a release by these labels"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_restricted_and_sized(overlay):
    """The "restricted" Pod Security Standard the namespace enforces, plus requests/limits."""
    namespace = of_kind(rendered(overlay), "Namespace")["crm"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for doc in rendered(overlay):
        if doc["kind"] not in POD_OWNERS:
            continue
        spec, name = pod_spec(doc), object_id(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] > 0, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{name}: no writable /tmp"
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_only_the_project_image_or_pinned_postgres_and_rabbitmq(overlay):
    docs = rendered(overlay)
    images = {container["image"] for container in all_containers(docs)} | operator_images(docs)
    assert images == EXPECTED_IMAGES[overlay]
    if overlay == "prod":
        for image in images:
            assert split_image(image)[1] not in {"", "latest", "dev"}, image


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_project_container_runs_an_existing_entry_point(overlay):
    workloads = project_workloads(rendered(overlay), overlay)
    assert workloads
    for doc, container in workloads:
        assert entry_point_problem(container["command"]) is None, object_id(doc)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_services_use_the_port_the_process_listens_on(overlay):
    docs = rendered(overlay)
    for doc in of_kind(docs, "Deployment").values():
        container = pod_spec(doc)["containers"][0]
        env = env_of(container)
        listens = (env.get("HEALTH_PORT") or env["PORT"])["value"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        for probe in ("readinessProbe", "livenessProbe"):
            assert str(ports[container[probe]["httpGet"]["port"]]) == listens, object_id(doc)
    pods = [doc for doc in docs if doc["kind"] in POD_OWNERS]
    for service in of_kind(docs, "Service").values():
        selector = service["spec"]["selector"]
        backends = [
            pod
            for pod in pods
            if selector.items() <= pod["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert backends, f"Service {service['metadata']['name']} selects no pods"
        names = {p["name"] for c in pod_spec(backends[0])["containers"] for p in c["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names, service["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_autoscalers_and_disruption_budgets_point_at_existing_objects(overlay):
    docs = rendered(overlay)
    deployments, services = of_kind(docs, "Deployment"), of_kind(docs, "Service")
    ingresses = of_kind(docs, "Ingress")
    assert list(ingresses) == ["gateway"], "only the gateway is exposed"
    for rule in ingresses["gateway"]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "gateway"
            assert backend["port"]["name"] in {
                p["name"] for p in services["gateway"]["spec"]["ports"]
            }
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler")
    assert set(autoscalers) == WEB, "every web process autoscales, no worker does"
    for hpa in autoscalers.values():
        target = deployments[hpa["spec"]["scaleTargetRef"]["name"]]
        assert "replicas" not in target["spec"], "the HPA owns the replica count"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    labels += [pod_labels for _, pod_labels in operator_pods(docs).values()]
    budgets = of_kind(docs, "PodDisruptionBudget")
    # CloudNativePG makes its Clusters' budgets itself; the RabbitMQ Cluster Operator does not.
    assert set(budgets) == set(deployments) | set(rabbitmq_clusters(docs))
    for budget in budgets.values():
        wanted = budget["spec"]["selector"]["matchLabels"].items()
        assert any(wanted <= pod_labels.items() for pod_labels in labels), budget


def ingress_serves(ingress: dict, path: str) -> bool:
    """Whether one of the Ingress' paths matches `path` (Prefix: by whole path segments)."""
    segments = [s for s in path.split("/") if s]
    for rule in ingress["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            prefix = [s for s in entry["path"].split("/") if s]
            if entry["pathType"] == "Exact" and entry["path"] == path:
                return True
            if entry["pathType"] in {"Prefix", "ImplementationSpecific"} and (
                segments[: len(prefix)] == prefix
            ):
                return True
    return False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_serves_the_api_but_not_metrics_or_probes(overlay):
    ingress = of_kind(rendered(overlay), "Ingress")["gateway"]
    for path in ("/api/v1/contacts", "/api/docs", "/.well-known/jwks.json"):
        assert ingress_serves(ingress, path), path
    for path in ("/metrics", "/healthz", "/readyz"):
        assert not ingress_serves(ingress, path), f"{overlay}: {path} is reachable from outside"
    annotations = ingress["metadata"].get("annotations", {})
    assert not any(key.endswith("snippet") for key in annotations), "paths, not snippets"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_get_time_to_finish_the_message_in_hand(overlay):
    deployments = of_kind(rendered(overlay), "Deployment")
    for name in WORKERS:
        assert pod_spec(deployments[name])["terminationGracePeriodSeconds"] >= 40, name
    graceful_timeout = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]
    for name in WEB:
        assert pod_spec(deployments[name])["terminationGracePeriodSeconds"] > graceful_timeout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_as_jobs_for_each_service_database(overlay):
    docs = rendered(overlay)
    jobs = of_kind(docs, "Job")
    commands = {name: pod_spec(job)["containers"][0]["command"] for name, job in jobs.items()}
    for name, module in MODULES.items():
        job = f"{name}-migrate"
        assert commands[job] == ["python", "-m", module, "migrate"], job
        assert pod_spec(jobs[job])["restartPolicy"] == "Never"
        assert pod_spec(jobs[job]).get("initContainers") is None
        labels = jobs[job]["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "migration", "docs/ops.md waits on it"
        assert secret_source(jobs[job], "DATABASE_URL") == database_secret(overlay, name), job
    migrated = {command[2] for command in commands.values() if command[3:] == ["migrate"]}
    for name, deployment in of_kind(docs, "Deployment").items():
        command = pod_spec(deployment)["containers"][0]["command"]
        assert module_of(command) in migrated, f"no migration Job for {name}'s database"
    assert ("gateway-seed" in jobs) == (overlay == "dev"), "the admin seed is for development"


def allowed_secret_keys(docs: list[dict]) -> set[tuple[str, str]]:
    """The Secrets and keys pods may read: crm-secrets' documented keys and, in prod, the
    CloudNativePG `<cluster>-app` Secrets' `uri` and each broker user's own Secret."""
    template_keys = set(read_documents(K8S / "base" / "secret.yaml")[0]["stringData"])
    allowed = {(SECRET_NAME, key) for key in template_keys}
    allowed |= {(f"{name}-app", "uri") for name in postgres_clusters(docs)}
    for user in of_type(docs, "rabbitmq.com/v1beta1", "User").values():
        secret = user["spec"]["importCredentialsSecret"]["name"]
        allowed |= {(secret, "username"), (secret, "password")}
    return allowed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_credentials_come_from_secrets_by_reference_never_inline(overlay):
    docs = rendered(overlay)
    allowed = allowed_secret_keys(docs)
    for container in all_containers(docs):
        from_secrets: set[str] = set()
        for entry in container.get("env", []):
            name, value = entry["name"], entry.get("value", "")
            referenced = REFERENCED_CREDENTIALS.search(value)
            if referenced:  # composed from variables set earlier from Secrets
                assert set(referenced.groups()) <= from_secrets, (name, value)
            else:
                assert not CREDENTIALS_IN_URL.search(value), name
            reference = entry.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                from_secrets.add(name)
            if name not in SECRET_ENV:
                continue
            if reference:
                assert (reference["name"], reference["key"]) in allowed, (name, reference)
            else:  # a credential variable with a literal value: a URL without credentials
                assert name == "AMQP_URL" and (referenced or "@" not in value), (name, value)
    for configmap in of_kind(docs, "ConfigMap").values():
        for key, value in configmap["data"].items():
            assert not CREDENTIALS_IN_URL.search(value), key
            assert key not in SECRET_ENV, key
    deployments = of_kind(docs, "Deployment")
    for name in DEPLOYMENTS:
        wanted = database_secret(overlay, module_name(name))
        assert secret_source(deployments[name], "DATABASE_URL") == wanted, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_urls_in_the_config_name_services_and_their_ports(overlay):
    docs = rendered(overlay)
    data = of_kind(docs, "ConfigMap")["crm-config"]["data"]
    services = of_kind(docs, "Service")
    # The gateway forwards to every service; sales calls contacts; the services look users up.
    wanted = {"USERS_URL", "CONTACTS_URL"} | {f"{u.upper()}_URL" for u in GATEWAY_UPSTREAMS}
    assert wanted <= set(data)
    for variable in (key for key in data if key.endswith("_URL")):
        host, port = host_and_port(data[variable])
        assert host in services, f"{variable} names no Service"
        assert port in {p["port"] for p in services[host]["spec"]["ports"]}, variable
    assert data["SALES_URL"] == "http://sales:8002"
    assert data["USERS_URL"] == f"http://gateway:{GATEWAY_PORT}"


def test_prod_runs_in_production_mode_without_the_placeholder_secret():
    prod, dev = rendered("prod"), rendered("dev")
    assert config_value(prod, "CRM_ENV") == "production"
    assert config_value(dev, "CRM_ENV") == "development"
    assert of_kind(prod, "Secret") == {}, "prod must not overwrite the real crm-secrets"
    assert set(of_kind(dev, "Secret")) == {SECRET_NAME}
    for name in WORKERS:
        replicas = of_kind(prod, "Deployment")[name]["spec"]["replicas"]
        assert replicas > of_kind(dev, "Deployment")[name]["spec"]["replicas"], name
    for name, hpa in of_kind(prod, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["minReplicas"] > 2, name
    for name, hpa in of_kind(dev, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["minReplicas"] == 1, f"dev runs one {name} pod"


def test_production_mode_refuses_the_placeholder_secret_values():
    placeholders = read_documents(K8S / "base" / "secret.yaml")[0]["stringData"]
    with pytest.raises(ConfigError, match="JWT_PRIVATE_KEY"):
        SigningKeys.from_env({"JWT_PRIVATE_KEY": placeholders["JWT_PRIVATE_KEY"]}, production=True)
    with pytest.raises(ConfigError, match="SERVICE_CLIENT_SECRET"):
        Clients.from_env(placeholders, production=True)
    environ = {
        "CRM_ENV": "production",
        "DATABASE_URL": placeholders["CONTACTS_DATABASE_URL"],
        "SERVICE_CLIENT_SECRET": placeholders["SERVICE_CLIENT_SECRET_CONTACTS"],
        "AMQP_URL": placeholders["AMQP_URL"],
    }
    with pytest.raises(ConfigError, match="SERVICE_CLIENT_SECRET"):
        Settings.from_env("contacts", environ)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_holds_the_signing_key_and_each_service_its_own_secret(overlay):
    for name, deployment in of_kind(rendered(overlay), "Deployment").items():
        env = env_of(pod_spec(deployment)["containers"][0])
        if name == "gateway":
            assert secret_key(deployment, "JWT_PRIVATE_KEY") == "JWT_PRIVATE_KEY"
            assert "SERVICE_CLIENT_SECRET" not in env
            continue
        assert not {"JWT_PRIVATE_KEY", "JWT_PREVIOUS_PUBLIC_KEYS"} & set(env), name
        service = name.removesuffix("-worker")
        assert secret_key(deployment, "SERVICE_CLIENT_SECRET") == (
            f"SERVICE_CLIENT_SECRET_{service.upper()}"
        ), name
        others = {v for v in env if v.startswith("SERVICE_CLIENT_SECRET_")}
        assert not others, name


def test_postgres_creates_every_database_the_urls_name_in_compose_and_in_k8s():
    script = (ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
    configmap = of_kind(read_documents(K8S / "base" / "postgres.yaml"), "ConfigMap")
    assert configmap["postgres-init"]["data"]["init-databases.sh"] == script
    created = set(re.search(r"^for database in ([^;]+);", script, re.MULTILINE)[1].split())
    secret = read_documents(K8S / "base" / "secret.yaml")[0]["stringData"]
    keys = {key for key in secret if key.endswith("_DATABASE_URL")}
    assert keys == {f"{name.upper()}_DATABASE_URL" for name in MODULES}
    urls = [secret[key] for key in keys]
    urls += [
        s["environment"]["DATABASE_URL"] for s in compose_services().values() if "command" in s
    ]
    assert {url.rsplit("/", 1)[1] for url in urls} == created == DATABASES
    for key in keys:
        database = secret[key].rsplit("/", 1)[1]
        assert database == f"crm_{key.removesuffix('_DATABASE_URL').lower()}", key


# ---- production: PostgreSQL and RabbitMQ on their operators ----

ZONE = "topology.kubernetes.io/zone"


def zone_spread(constraints: list[dict]) -> dict:
    (zone,) = [c for c in constraints if c["topologyKey"] == ZONE]
    return zone


def test_prod_runs_one_postgresql_cluster_per_service_database_with_backups():
    docs = rendered("prod")
    clusters, pods = postgres_clusters(docs), operator_pods(docs)
    assert set(clusters) == {f"{name}-db" for name in MODULES}
    databases = {c["spec"]["bootstrap"]["initdb"]["database"] for c in clusters.values()}
    assert databases == DATABASES
    backups = {
        b["spec"]["cluster"]["name"]: b["spec"]
        for b in of_type(docs, "postgresql.cnpg.io/v1", "ScheduledBackup").values()
    }
    assert set(backups) == set(clusters)
    for module in MODULES:
        name = f"{module}-db"
        spec = clusters[name]["spec"]
        assert spec["instances"] == 3, name
        # One database and one owner role per service: the role the app Secret carries.
        assert spec["bootstrap"]["initdb"] == {"database": f"crm_{module}", "owner": module}
        assert spec["monitoring"]["enablePodMonitor"] is True, name
        # No committed transaction (so no outbox row) is lost when a replica is promoted.
        assert spec["postgresql"]["synchronous"]["number"] >= 1, name
        store = spec["backup"]["barmanObjectStore"]
        assert store["destinationPath"].startswith("s3://") and store["destinationPath"].endswith(
            f"/{name}"
        ), "one prefix per cluster in the bucket"
        assert {ref["name"] for ref in store["s3Credentials"].values()} == {"crm-backup-s3"}
        assert backups[name]["method"] == "barmanObjectStore", name
        assert len(backups[name]["schedule"].split()) == 6, "CloudNativePG's cron: seconds first"
        spread = zone_spread(spec["topologySpreadConstraints"])
        assert spread["whenUnsatisfiable"] == "DoNotSchedule", name
        assert selects(spread["labelSelector"], pods[name][1]), name
        assert spec["affinity"]["enablePodAntiAffinity"] is True, name


def test_prod_runs_a_three_node_rabbitmq_with_quorum_queues_spread_over_zones():
    docs = rendered("prod")
    ((name, cluster),) = rabbitmq_clusters(docs).items()
    # Its Service (the host of every AMQP_URL) and its pods' name label are the cluster's name,
    # which the base's `rabbitmq` and `rabbitmq-clients` NetworkPolicies select.
    assert name == "rabbitmq"
    spec, pod = cluster["spec"], operator_pods(docs)[name][1]
    assert spec["replicas"] == 3
    assert "default_queue_type = quorum" in spec["rabbitmq"]["additionalConfig"].splitlines()
    template = spec["override"]["statefulSet"]["spec"]["template"]["spec"]
    assert template["securityContext"]["runAsNonRoot"] is True
    assert template["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    # The operator's own container names: an override of another name would add a container.
    assert [c["name"] for c in template["containers"]] == ["rabbitmq"]
    assert [c["name"] for c in template["initContainers"]] == ["setup-container"]
    for container in template["containers"] + template["initContainers"]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    spread = zone_spread(template["topologySpreadConstraints"])
    assert spread["maxSkew"] == 1 and selects(spread["labelSelector"], pod)
    (apart,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert apart["topologyKey"] == "kubernetes.io/hostname"
    assert selects(apart["labelSelector"], pod)
    budget = of_kind(docs, "PodDisruptionBudget")[name]["spec"]
    assert budget["maxUnavailable"] == 1 and selects(budget["selector"], pod)


def sample_secret_value(secret: str, key: str) -> str:
    """Stand-ins for what the Secrets hold (hex passwords, as docs/ops.md asks)."""
    if key == "uri":
        module = secret.removesuffix("-db-app")
        return f"postgresql://{module}:{'ab' * 16}@{module}-db-rw.crm:5432/crm_{module}"
    return {"username": f"{secret}-user", "password": "cd" * 16}.get(key, "s" * 40)


def expanded_env(container: dict) -> dict[str, str]:
    """A container's environment as the kubelet builds it: Secret values, then `$(VAR)` from
    the entries before (an unknown or later variable stays as written)."""
    values: dict[str, str] = {}
    for entry in container.get("env", []):
        if "valueFrom" in entry:
            reference = entry["valueFrom"].get("secretKeyRef")
            values[entry["name"]] = sample_secret_value(reference["name"], reference["key"])
        else:
            values[entry["name"]] = re.sub(
                r"\$\((\w+)\)", lambda m: values.get(m[1], m[0]), entry.get("value", "")
            )
    return values


def test_prod_workers_reach_the_broker_as_their_own_users_and_nothing_else_holds_credentials():
    docs = rendered("prod")
    users = of_type(docs, "rabbitmq.com/v1beta1", "User")
    permissions = of_type(docs, "rabbitmq.com/v1beta1", "Permission")
    (broker,) = rabbitmq_clusters(docs)
    assert set(users) == set(SERVICES), "one user per service; the gateway never connects"
    assert {p["spec"]["userReference"]["name"] for p in permissions.values()} == set(users)
    for resource in (*users.values(), *permissions.values()):
        assert resource["spec"]["rabbitmqClusterReference"] == {"name": broker}
    for permission in permissions.values():
        assert permission["spec"]["vhost"] == "/"
    workloads = {**of_kind(docs, "Deployment"), **of_kind(docs, "Job")}
    for name, doc in workloads.items():
        module = module_name(name)
        env = expanded_env(pod_spec(doc)["containers"][0])
        url = urlparse(env["AMQP_URL"])
        assert (url.scheme, url.hostname, url.port, url.path) == ("amqp", broker, 5672, "/%2F")
        if name in WORKERS:
            secret = users[module]["spec"]["importCredentialsSecret"]["name"]
            assert secret == f"{module}-amqp"
            assert (url.username, url.password) == (f"{secret}-user", "cd" * 16), name
        else:
            assert url.username is None and url.password is None, f"{name} holds no broker user"
        database = urlparse(env["DATABASE_URL"])
        assert (database.hostname, database.path) == (f"{module}-db-rw.crm", f"/crm_{module}")
        settings = Settings.from_env(
            module, {**env, "CRM_ENV": "production", "USERS_URL": "http://gateway:8080"}
        )  # the production-mode start-up check accepts what the pod gets
        assert settings.amqp_url == env["AMQP_URL"]


def test_prod_reads_only_keys_and_client_secrets_from_crm_secrets():
    """What base/secret.yaml says production's crm-secrets must hold, and no more."""
    read = {
        entry["valueFrom"]["secretKeyRef"]["key"]
        for container in all_containers(rendered("prod"))
        for entry in container.get("env", [])
        if entry.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == SECRET_NAME
    }
    clients = {f"SERVICE_CLIENT_SECRET_{name.upper()}" for name in SERVICES}
    storage = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert read == {"JWT_PRIVATE_KEY", "JWT_PREVIOUS_PUBLIC_KEYS", *clients, *storage}


# ---- NetworkPolicies, evaluated: which connections they allow ----

INGRESS_CONTROLLER = ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
KUBE_DNS = ("kube-system", {"k8s-app": "kube-dns"})
STRANGER = ("default", {"app": "anything"})
KUBE_API = ("<the Kubernetes API server>", {})
CNPG_OPERATOR = ("cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"})
TOPOLOGY_OPERATOR = ("rabbitmq-system", {"app.kubernetes.io/name": "messaging-topology-operator"})


def selects(selector: dict, labels: dict) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In is evaluated"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def peer_admits(peer: dict, policy_namespace: str, other: tuple[str, dict]) -> bool:
    namespace, labels = other
    if "ipBlock" in peer:
        return True  # a CIDR may cover any address (CNIs differ on pod addresses)
    if "namespaceSelector" in peer:
        namespace_ok = selects(
            peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace}
        )
    else:
        namespace_ok = namespace == policy_namespace
    return namespace_ok and selects(peer.get("podSelector", {}), labels)


def direction_allows(policies, direction, pod, other, port, protocol) -> bool:
    namespace, labels = pod
    isolating = [
        p
        for p in policies
        if p["metadata"]["namespace"] == namespace
        and direction in p["spec"]["policyTypes"]
        and selects(p["spec"]["podSelector"], labels)
    ]
    if not isolating:
        return True
    peers_key = "from" if direction == "Ingress" else "to"
    for policy in isolating:
        for rule in policy["spec"].get(direction.lower(), []):
            peers = rule.get(peers_key)
            ports = rule.get("ports")
            port_ok = not ports or any(
                p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports
            )
            peer_ok = not peers or any(
                peer_admits(peer, policy["metadata"]["namespace"], other) for peer in peers
            )
            if port_ok and peer_ok:
                return True
    return False


def connects(policies, source, destination, port, protocol="TCP") -> bool:
    return direction_allows(
        policies, "Egress", source, destination, port, protocol
    ) and direction_allows(policies, "Ingress", destination, source, port, protocol)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_open_exactly_the_intended_paths(overlay):
    docs = rendered(overlay)
    policies = list(of_kind(docs, "NetworkPolicy").values())
    pods = {
        name: ("crm", doc["spec"]["template"]["metadata"]["labels"])
        for name, doc in ((d["metadata"]["name"], d) for d in docs if d["kind"] in POD_OWNERS)
    }
    pods |= operator_pods(docs)

    def database(process: str) -> tuple[str, dict]:
        return pods[f"{module_name(process)}-db" if overlay == "prod" else "postgres"]

    database_clients = DEPLOYMENTS | {name for name in pods if name.endswith(("-migrate", "-seed"))}
    assert {f"{name}-migrate" for name in MODULES} <= database_clients
    allowed = [
        (INGRESS_CONTROLLER, pods["gateway"], 8080),
        (pods["gateway"], pods["contacts"], 8001),
        (pods["gateway"], pods["sales"], 8002),
        (pods["gateway"], pods["notifications"], 8005),
        (pods["contacts"], pods["gateway"], 8080),
        (pods["contacts-worker"], pods["gateway"], 8080),
        (pods["sales"], pods["gateway"], 8080),
        # Service tokens, public keys and revocations come from the gateway.
        (pods["support"], pods["gateway"], 8080),
        (pods["billing"], pods["gateway"], 8080),
        (pods["notifications"], pods["gateway"], 8080),
        (pods["sales"], pods["contacts"], 8001),
        # A tagged record the contacts replica does not know yet (docs/tags.md).
        (pods["contacts"], pods["sales"], 8002),
        (pods["contacts"], pods["support"], 8003),
        (pods["contacts"], pods["billing"], 8004),
        *((pods[name], pods["rabbitmq"], 5672) for name in WORKERS),
        *((pods[name], database(name), 5432) for name in database_clients),
    ]
    for source, destination, port in allowed:
        assert connects(policies, source, destination, port), (source, destination, port)
    for pod in pods.values():
        assert connects(policies, pod, KUBE_DNS, 53, "UDP"), pod
    default_deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p]
    assert any(set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} for p in default_deny)
    denied = [
        *((INGRESS_CONTROLLER, pods[name], port) for name, (port, _) in SERVICES.items()),
        *((STRANGER, pods[name], port) for name, (port, _) in SERVICES.items()),
        *((STRANGER, pods[f"{name}-worker"], port) for name, (_, port) in SERVICES.items()),
        *((pods["gateway"], pods[f"{name}-worker"], port) for name, (_, port) in SERVICES.items()),
        *((pods[name], pods["rabbitmq"], 5672) for name in WEB),
        (INGRESS_CONTROLLER, pods["rabbitmq"], 15672),
        (STRANGER, pods["gateway"], 8080),
        (STRANGER, database("contacts"), 5432),
        (pods["rabbitmq"], database("contacts"), 5432),
        (pods["gateway"], database("gateway"), 8080),
        (pods["contacts-migrate"], pods["gateway"], 8080),
        (pods["sales-migrate"], pods["gateway"], 8080),
        (pods["sales-migrate"], pods["contacts"], 8001),
        # The contacts worker learns from events only; the sales worker needs only its database
        # and the broker.
        (pods["contacts-worker"], pods["sales"], 8002),
        (pods["contacts-worker"], pods["billing"], 8004),
        (pods["sales-worker"], pods["contacts"], 8001),
        (pods["sales-worker"], pods["gateway"], 8080),
        # Notifications learns everything from events: it calls no service but the gateway,
        # no service calls it.
        (pods["notifications-worker"], pods["gateway"], 8080),
        (pods["contacts"], pods["notifications"], 8005),
        (pods["sales"], pods["notifications"], 8005),
    ]
    if overlay == "dev":
        denied.append((pods["postgres"], STRANGER, 443))
    else:
        databases = [database(name) for name in MODULES]
        allowed += [
            *((CNPG_OPERATOR, db, 8000) for db in databases),
            *((db, db, port) for db in databases for port in (5432, 8000)),
            *((db, KUBE_API, 6443) for db in databases),
            (pods["rabbitmq"], pods["rabbitmq"], 25672),
            (pods["rabbitmq"], pods["rabbitmq"], 4369),
            (TOPOLOGY_OPERATOR, pods["rabbitmq"], 15672),
            (pods["rabbitmq"], KUBE_API, 443),
        ]
        denied += [
            # Each service's processes reach their own database only.
            (pods["contacts"], database("sales"), 5432),
            (pods["contacts-worker"], database("gateway"), 5432),
            (pods["billing-migrate"], database("support"), 5432),
            (pods["gateway"], database("notifications"), 5432),
            # No replication across clusters, no operator access for strangers.
            (database("contacts"), database("sales"), 5432),
            (STRANGER, database("billing"), 8000),
            (STRANGER, pods["rabbitmq"], 15672),
            (pods["contacts"], pods["rabbitmq"], 15672),
            (STRANGER, pods["rabbitmq"], 25672),
        ]
    for source, destination, port in allowed:
        assert connects(policies, source, destination, port), (source, destination, port)
    for source, destination, port in denied:
        assert not connects(policies, source, destination, port), (source, destination, port)


# ---- docker compose ----


@functools.cache
def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_services() -> dict[str, dict]:
    return copy.deepcopy(_compose()["services"])


def dependencies(service: dict) -> dict[str, str]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: rule["condition"] for name, rule in depends.items()}


def uses_project_image(service: dict) -> bool:
    return "build" in service or service.get("image", "").startswith("crm:")


def test_compose_dependencies_exist_and_can_be_met():
    services = compose_services()
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        for target, condition in dependencies(service).items():
            assert target in services, f"{name} depends on unknown {target}"
            assert condition in conditions, (name, target)
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
            if condition == "service_completed_successfully":
                assert services[target]["restart"] == "no", f"{target} must be a one-shot"


def test_compose_publishes_ports_on_loopback_only():
    services = compose_services()
    assert "127.0.0.1:8080:8080" in services["gateway"]["ports"]
    for name, service in services.items():
        for port in service.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond this machine"


def test_compose_project_services_run_existing_entry_points_in_development_mode():
    services = {n: s for n, s in compose_services().items() if uses_project_image(s)}
    assert DEPLOYMENTS | {f"{name}-migrate" for name in MODULES} <= set(services)
    databases = {module: f"crm_{name}" for name, module in MODULES.items()}
    for name, service in services.items():
        assert entry_point_problem(service["command"]) is None, name
        env = service["environment"]
        assert env["CRM_ENV"] == "development", name
        assert "JWT_PRIVATE_KEY" not in env and "SERVICE_CLIENT_SECRET" not in env, name
        assert env["JWKS_URL"] == f"http://gateway:{GATEWAY_PORT}/.well-known/jwks.json", name
        database = databases[module_of(service["command"])]
        assert env["DATABASE_URL"].endswith(f"@postgres:5432/{database}"), name
    for service, (web_port, health_port) in SERVICES.items():
        assert services[service]["environment"]["PORT"] == str(web_port), service
        assert services[f"{service}-worker"]["environment"]["HEALTH_PORT"] == str(health_port)
        # every service gets its service token and the revocations from the gateway
        assert services[service]["environment"]["USERS_URL"] == f"http://gateway:{GATEWAY_PORT}"
    assert services["sales"]["environment"]["CONTACTS_URL"] == "http://contacts:8001"


def test_compose_service_urls_name_services_on_the_ports_they_listen_on():
    services = compose_services()
    gateway = services["gateway"]
    for upstream in GATEWAY_UPSTREAMS:
        assert f"{upstream.upper()}_URL" in gateway["environment"], f"the gateway lacks {upstream}"
        # Not a hard dependency, only the start-up order.
        assert dependencies(gateway).get(upstream) == "service_started", upstream
    for name, service in services.items():
        for variable, url in service.get("environment", {}).items():
            if not variable.endswith("_URL") or variable in {"DATABASE_URL", "AMQP_URL"}:
                continue
            if variable == "JWKS_URL":
                url = url.removesuffix("/.well-known/jwks.json")
            host, port = host_and_port(url)
            assert host in services, f"{name}: {variable} names no compose service"
            assert services[host]["environment"]["PORT"] == str(port), f"{name}: {variable}"


def test_compose_processes_wait_for_their_migrations_and_report_health():
    services = compose_services()
    for name, service in services.items():
        if not uses_project_image(service) or service["restart"] == "no":
            continue
        env, module = service["environment"], module_of(service["command"])
        migrations = [
            target
            for target, condition in dependencies(service).items()
            if condition == "service_completed_successfully"
            and services[target]["command"] == ["python", "-m", module, "migrate"]
        ]
        assert migrations, f"{name} starts before its migrations ran"
        port = env.get("HEALTH_PORT") or env["PORT"]
        probe = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/readyz" in probe, name
    for name in ("postgres", "rabbitmq"):
        assert "healthcheck" in services[name], name


def test_compose_postgres_runs_the_database_init_script():
    volumes = compose_services()["postgres"]["volumes"]
    assert any(
        v.startswith("./deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/")
        for v in volumes
    )
    assert (ROOT / "deploy" / "postgres" / "init-databases.sh").is_file()


# ---- image and gunicorn ----


def test_gunicorn_config_comes_from_the_environment(monkeypatch):
    variables = ("HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "FORWARDED_ALLOW_IPS")
    for name in (*variables, "GUNICORN_WORKER_CLASS", "GUNICORN_WORKER_CONNECTIONS"):
        monkeypatch.delenv(name, raising=False)
    defaults = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert defaults["bind"] == "127.0.0.1:8000"
    assert (defaults["workers"], defaults["threads"]) == (2, 4)
    assert defaults["worker_class"] == "gthread"
    assert defaults["accesslog"] is None
    assert defaults["forwarded_allow_ips"] == "127.0.0.1"
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "8001")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "gevent")
    configured = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert configured["bind"] == "0.0.0.0:8001"
    assert (configured["workers"], configured["threads"]) == (3, 8)
    assert (configured["worker_class"], configured["worker_connections"]) == ("gevent", 1000)


def worker_class_of(environment: dict) -> str:
    return environment.get("GUNICORN_WORKER_CLASS", "gthread")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_processes_that_hold_event_streams_run_gevent_workers_everywhere(overlay):
    """The gateway and notifications run gevent in k8s, compose and `make run`; others gthread."""
    for name, doc in of_kind(rendered(overlay), "Deployment").items():
        container = pod_spec(doc)["containers"][0]
        if container["command"][0] != "gunicorn":
            continue
        env = {k: v["value"] for k, v in env_of(container).items() if "value" in v}
        assert worker_class_of(env) == ("gevent" if name in GEVENT else "gthread"), name
    for name, service in compose_services().items():
        if service.get("command", [""])[0] == "gunicorn":
            expected = "gevent" if name in GEVENT else "gthread"
            assert worker_class_of(service["environment"]) == expected, name
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    for name, command in procfile.items():
        if "exec gunicorn" in command:
            assert ("GUNICORN_WORKER_CLASS=gevent" in command) == (name in GEVENT), name


def test_the_image_runs_as_a_numeric_non_root_user_without_dev_dependencies():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)", dockerfile, re.MULTILINE)
    assert stages == [("python:3.11-slim", "build"), ("python:3.11-slim", "runtime")]
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert re.search(r"^USER 10001:10001$", runtime, re.MULTILINE)
    assert "PYTHONUNBUFFERED=1" in runtime
    assert "COPY gunicorn.conf.py" in runtime
    installs = re.findall(r"pip install [^\n]*", dockerfile)
    assert installs and not any("[" in line or " -e " in line for line in installs), installs
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git", "tests", "**/tests"} <= set(ignored)


def test_the_image_ships_the_event_schemas_its_consumers_check_events_against():
    runtime = (ROOT / "Dockerfile").read_text().split("AS runtime", 1)[1]
    assert "COPY docs/events ./docs/events" in runtime
    assert "ENV CRM_EVENT_SCHEMAS=/app/docs/events" in runtime
    assert re.search(r"^WORKDIR /app$", runtime, re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "docs" in ignored and "!docs/events" in ignored
    assert ignored.index("!docs/events") > ignored.index("docs")  # the exception comes after


def test_attachment_files_live_in_a_bucket_in_prod_and_on_a_shared_volume_in_dev():
    prod = of_kind(rendered("prod"), "ConfigMap")["crm-config"]["data"]
    assert (prod["CRM_ATTACHMENTS_STORAGE"], prod["CRM_ATTACHMENTS_S3_BUCKET"]) == (
        "s3",
        "crm-attachments",
    )
    policy = of_kind(rendered("prod"), "NetworkPolicy")["contacts-object-storage"]["spec"]
    assert policy["podSelector"]["matchExpressions"][0]["values"] == ["contacts", "contacts-worker"]
    assert policy["egress"][0]["ports"] == [{"protocol": "TCP", "port": 443}]

    dev = rendered("dev")
    config = of_kind(dev, "ConfigMap")["crm-config"]["data"]
    assert config["CRM_ATTACHMENTS_STORAGE"] == "local"
    assert "contacts-attachments" in of_kind(dev, "PersistentVolumeClaim")
    deployments = of_kind(dev, "Deployment")
    for name in ("contacts", "contacts-worker"):
        spec = pod_spec(deployments[name])
        claims = {v["name"]: v.get("persistentVolumeClaim", {}) for v in spec["volumes"]}
        assert claims["attachments"] == {"claimName": "contacts-attachments"}
        (container,) = spec["containers"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["attachments"] == config["CRM_ATTACHMENTS_DIR"]
