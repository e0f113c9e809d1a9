"""The deployment files stay deployable.

The kustomize overlays render to Kubernetes objects that validate against the 1.30
schemas and keep the properties operations relies on (probes, resources, non-root
pods, secrets by reference, network paths); docker-compose.yml, the Dockerfile and
gunicorn.conf.py hang together. The overlays are rendered by the real kustomize
(`kubectl kustomize`, kustomize v5), exactly what `kubectl apply -k` applies; no network.
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

# What each overlay may run: the project's image, and pinned PostgreSQL/RabbitMQ.
EXPECTED_IMAGES = {
    "dev": {"crm:dev", "postgres:15", "rabbitmq:3.13-management"},
    "prod": {"registry.example.com/crm/crm:0.1.0", "postgres:15.10", "rabbitmq:3.13.7-management"},
}
INFRASTRUCTURE_IMAGES = ("postgres:", "rabbitmq:")
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
    "CRM_ADMIN_PASSWORD",
}
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


# ---- the overlays as the real kustomize renders them ----

CLUSTER_SCOPED = {"Namespace"}
# Prometheus Operator objects have no schema in kubernetes_validate; test_observability.py
# checks them instead.
CUSTOM_RESOURCES = {"PodMonitor", "PrometheusRule"}


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
    assert {"Deployment", "StatefulSet", "Job", "Service", "Ingress"} <= kinds
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    for doc in docs:
        try:
            if doc["kind"] not in CUSTOM_RESOURCES:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{overlay}: {object_id(doc)} is invalid: {error}")
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"]["namespace"] == "crm", object_id(doc)


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
    images = {container["image"] for container in all_containers(rendered(overlay))}
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
    budgets = of_kind(docs, "PodDisruptionBudget")
    assert set(budgets) == set(deployments)
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
        assert secret_key(jobs[job], "DATABASE_URL") == f"{name.upper()}_DATABASE_URL", job
    migrated = {command[2] for command in commands.values() if command[3:] == ["migrate"]}
    for name, deployment in of_kind(docs, "Deployment").items():
        command = pod_spec(deployment)["containers"][0]["command"]
        assert module_of(command) in migrated, f"no migration Job for {name}'s database"
    assert ("gateway-seed" in jobs) == (overlay == "dev"), "the admin seed is for development"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_credentials_come_from_the_secret_by_reference_never_inline(overlay):
    docs = rendered(overlay)
    template_keys = set(read_documents(K8S / "base" / "secret.yaml")[0]["stringData"])
    for container in all_containers(docs):
        for name, entry in env_of(container).items():
            assert not CREDENTIALS_IN_URL.search(entry.get("value", "")), name
            if name in SECRET_ENV:
                reference = entry["valueFrom"]["secretKeyRef"]
                assert reference["name"] == SECRET_NAME, name
                assert reference["key"] in template_keys, f"{reference['key']} is undocumented"
    for configmap in of_kind(docs, "ConfigMap").values():
        for key, value in configmap["data"].items():
            assert not CREDENTIALS_IN_URL.search(value), key
            assert key not in SECRET_ENV, key
    deployments = of_kind(docs, "Deployment")
    assert secret_key(deployments["gateway"], "DATABASE_URL") == "GATEWAY_DATABASE_URL"
    for service in SERVICES:
        key = f"{service.upper()}_DATABASE_URL"
        assert secret_key(deployments[service], "DATABASE_URL") == key, service
        assert secret_key(deployments[f"{service}-worker"], "DATABASE_URL") == key, service


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


# ---- NetworkPolicies, evaluated: which connections they allow ----

INGRESS_CONTROLLER = ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
KUBE_DNS = ("kube-system", {"k8s-app": "kube-dns"})
STRANGER = ("default", {"app": "anything"})


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
        *((pods[name], pods["postgres"], 5432) for name in database_clients),
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
        (STRANGER, pods["postgres"], 5432),
        (pods["rabbitmq"], pods["postgres"], 5432),
        (pods["gateway"], pods["postgres"], 8080),
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
        (pods["postgres"], STRANGER, 443),
    ]
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
