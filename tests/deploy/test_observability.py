"""What ops loads to watch the CRM: the dashboard, the alerts, the scrapes, compose and k8s.

Every query names only metrics the processes export; the alerts are valid Prometheus rules
(`promtool check rules` when promtool is installed) and the same in compose and Kubernetes;
the PodMonitors select real pods by their labels and scrape ports those pods name.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.deploy.test_manifests import (
    DEPLOYMENTS,
    GATEWAY_PORT,
    ROOT,
    SERVICES,
    STRANGER,
    WEB,
    WORKERS,
    compose_services,
    connects,
    of_kind,
    operator_pods,
    pod_spec,
    postgres_clusters,
    rendered,
    selects,
    uses_project_image,
)

OBSERVABILITY = ROOT / "deploy" / "observability"
ALERTS = OBSERVABILITY / "prometheus" / "alerts.yaml"
DASHBOARD = OBSERVABILITY / "grafana" / "crm-dashboard.json"
PROMETHEUS_CONFIG = OBSERVABILITY / "prometheus" / "prometheus.yml"
TRACING_OVERRIDE = OBSERVABILITY / "docker-compose.tracing.yml"
MONITORING = ("monitoring", {"app.kubernetes.io/name": "prometheus"})

# What shared/metrics.py exports (docs/ops.md, "Metrics"); `up` is Prometheus' own.
METRICS = {
    "crm_http_requests_total",
    "crm_http_request_duration_seconds",
    "crm_http_requests_in_flight",
    "crm_gateway_upstream_request_duration_seconds",
    "crm_gateway_upstream_errors_total",
    "crm_gateway_bulkhead_rejections_total",
    "crm_outbox_unpublished_rows",
    "crm_outbox_oldest_unpublished_age_seconds",
    "crm_outbox_published_total",
    "crm_outbox_confirm_duration_seconds",
    "crm_consumer_events_total",
    "crm_consumer_handler_duration_seconds",
    "crm_dead_letter_queue_messages",
    "crm_job_runs_total",
    "crm_sla_escalations_total",
    "crm_invoices_overdue_total",
    "crm_sse_streams_open",
    "crm_db_pool_connections_in_use",
    "crm_worker_ready",
}
HISTOGRAMS = {name for name in METRICS if name.endswith("_seconds") and "age" not in name}
ALERT_NAMES = {
    "CRMOutboxLagHigh",
    "CRMDeadLetterQueueNotEmpty",
    "CRMHigh5xxRatio",
    "CRMWorkerNotReady",
    "CRMConsumerRetriesHigh",
}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
PROMQL_WORDS |= {"and", "or", "unless", "offset"}


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (without histogram suffixes)."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        name, call = match[1], match[2]
        if call or name in PROMQL_WORDS:
            continue
        for suffix in ("_bucket", "_sum", "_count"):
            if name.removesuffix(suffix) in HISTOGRAMS:
                name = name.removesuffix(suffix)
        names.add(name)
    return names


def test_metric_names_are_read_out_of_promql():
    expr = (
        "histogram_quantile(0.95, sum by (service, le) (rate(crm_http_request_duration_seconds_"
        'bucket{service=~"$service"}[$__rate_interval]))) / on (service) up or crm_worker_ready'
    )
    assert metrics_in(expr) == {"crm_http_request_duration_seconds", "up", "crm_worker_ready"}


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors for a page's headings."""
    headings = re.findall(r"^#+ (.+)$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


# ---- alerts ----


def test_the_alert_rules_are_valid_for_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian/Ubuntu: apt-get install prometheus)")
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_severity_summary_description_and_a_runbook_in_the_ops_docs():
    ops = anchors((ROOT / "docs" / "ops.md").read_text())
    assert {rule["alert"] for rule in rules()} == ALERT_NAMES
    for rule in rules():
        name = rule["alert"]
        assert rule["expr"].strip() and re.fullmatch(r"\d+[smh]", rule["for"]), name
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/ops.md" and anchor in ops, f"{name}: no heading #{anchor}"
        assert metrics_in(rule["expr"]) <= METRICS | {"up"}, name


def test_the_prometheus_rule_in_prod_wraps_the_same_alerts():
    (rule,) = of_kind(rendered("prod"), "PrometheusRule").values()
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == "crm"
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"]
    assert of_kind(rendered("dev"), "PrometheusRule") == {}


# ---- the dashboard ----


def panels() -> list[dict]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def test_the_dashboard_has_a_datasource_and_a_service_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 36 and dashboard["uid"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert (variables["datasource"]["type"], variables["datasource"]["query"]) == (
        "datasource",
        "prometheus",
    )
    assert variables["service"]["type"] == "query"
    assert "service" in variables["service"]["definition"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_every_panel_queries_known_metrics_through_the_datasource_variable():
    read = set()
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metrics_in(target["expr"])
            assert names and names <= METRICS, (panel["title"], names - METRICS)
            read |= names
    # What the dashboard is for: each of these has a panel.
    assert {
        "crm_http_requests_total",
        "crm_http_request_duration_seconds",
        "crm_http_requests_in_flight",
        "crm_gateway_upstream_request_duration_seconds",
        "crm_gateway_upstream_errors_total",
        "crm_gateway_bulkhead_rejections_total",
        "crm_outbox_unpublished_rows",
        "crm_outbox_oldest_unpublished_age_seconds",
        "crm_dead_letter_queue_messages",
        "crm_consumer_events_total",
        "crm_sse_streams_open",
        "crm_db_pool_connections_in_use",
        "crm_worker_ready",
    } <= read
    latency = [p for p in panels() if "p99" in p["title"]]
    assert [t["expr"].split(",")[0] for t in latency[0]["targets"]] == [
        f"histogram_quantile({q}" for q in ("0.5", "0.95", "0.99")
    ]


# ---- Kubernetes: PodMonitors ----


def test_the_pod_monitors_select_the_crm_pods_and_scrape_ports_they_name():
    docs = rendered("prod")
    monitors = of_kind(docs, "PodMonitor")
    assert set(monitors) == {"crm-web", "crm-worker", "rabbitmq"}
    # RabbitMQ's pods are the Cluster Operator's, which names their metrics port `prometheus`.
    rabbitmq = monitors.pop("rabbitmq")["spec"]
    assert selects(rabbitmq["selector"], operator_pods(docs)["rabbitmq"][1])
    assert [(e["port"], e["path"]) for e in rabbitmq["podMetricsEndpoints"]] == [
        ("prometheus", "/metrics")
    ]
    # CloudNativePG makes a PodMonitor per Cluster itself.
    for cluster in postgres_clusters(docs).values():
        assert cluster["spec"]["monitoring"]["enablePodMonitor"] is True
    deployments = of_kind(docs, "Deployment")
    scraped: dict[str, str] = {}
    for name, monitor in monitors.items():
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert "namespaceSelector" not in monitor["spec"], "its own namespace, crm"
        selected = {
            deployment
            for deployment, doc in deployments.items()
            if selects(monitor["spec"]["selector"], doc["spec"]["template"]["metadata"]["labels"])
        }
        assert selected == (WEB if name == "crm-web" else WORKERS), name
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert endpoint["path"] == "/metrics", name
            for deployment in selected:
                containers = pod_spec(deployments[deployment])["containers"]
                ports = {port["name"] for c in containers for port in c["ports"]}
                assert endpoint["port"] in ports, (name, deployment)
                scraped[deployment] = endpoint["port"]
    assert set(scraped) == DEPLOYMENTS
    assert {scraped[name] for name in WEB} == {"http"}
    assert {scraped[name] for name in WORKERS} == {"health"}


def test_prometheus_may_reach_every_metrics_port_and_strangers_still_may_not():
    docs = rendered("prod")
    policies = list(of_kind(docs, "NetworkPolicy").values())
    deployments = of_kind(docs, "Deployment")
    ports = {"gateway": GATEWAY_PORT}
    for service, (web_port, health_port) in SERVICES.items():
        ports |= {service: web_port, f"{service}-worker": health_port}
    for name, port in ports.items():
        pod = ("crm", deployments[name]["spec"]["template"]["metadata"]["labels"])
        assert connects(policies, MONITORING, pod, port), name
        assert not connects(policies, STRANGER, pod, port), name
    pods = operator_pods(docs)
    for name in postgres_clusters(docs):
        assert connects(policies, MONITORING, pods[name], 9187), name  # CloudNativePG's exporter
        assert not connects(policies, STRANGER, pods[name], 9187), name
        assert not connects(policies, MONITORING, pods[name], 5432), name
    assert connects(policies, MONITORING, pods["rabbitmq"], 15692)
    assert not connects(policies, STRANGER, pods["rabbitmq"], 15692)
    assert not connects(policies, MONITORING, pods["rabbitmq"], 5672)


# ---- docker compose ----


def test_compose_prometheus_scrapes_every_process_on_the_port_it_listens_on():
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert config["rule_files"] == ["alerts.yaml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"crm-web", "crm-worker"}, "CRMWorkerNotReady reads up{job=~'.*crm-worker'}"
    services = compose_services()
    for job_name, names in (("crm-web", WEB), ("crm-worker", WORKERS)):
        job = jobs[job_name]
        assert job["metrics_path"] == "/metrics"
        targets = {t for group in job["static_configs"] for t in group["targets"]}
        expected = set()
        for name in names:
            env = services[name]["environment"]
            expected.add(f"{name}:{env.get('HEALTH_PORT') or env['PORT']}")
            if name in WORKERS:
                assert env["HEALTH_HOST"] == "0.0.0.0", name
        assert targets == expected, job_name
    promtool = shutil.which("promtool")
    if promtool:
        result = subprocess.run(
            [promtool, "check", "config", str(PROMETHEUS_CONFIG)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_compose_observability_profile_is_optional_pinned_and_mounts_what_exists():
    services = compose_services()
    observability = {n for n, s in services.items() if "observability" in s.get("profiles", [])}
    assert observability == {"prometheus", "grafana", "jaeger"}
    for name, service in services.items():
        if name in observability:
            image, _, tag = service["image"].rpartition(":")
            assert image and tag and tag != "latest", name
            assert "command" not in service, name
            for volume in service.get("volumes", []):
                source = volume.split(":", 1)[0]
                assert (ROOT / source).exists(), (name, source)
        else:
            assert "profiles" not in service, f"{name} must start without a profile"
    grafana_mounts = dict(v.split(":")[:2] for v in services["grafana"]["volumes"])
    dashboards = grafana_mounts["./deploy/observability/grafana/crm-dashboard.json"]
    provider = yaml.safe_load(
        (OBSERVABILITY / "grafana" / "provisioning" / "dashboards" / "crm.yaml").read_text()
    )
    assert dashboards.rsplit("/", 1)[0] == provider["providers"][0]["options"]["path"]
    (datasource,) = yaml.safe_load(
        (OBSERVABILITY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )["datasources"]
    assert (datasource["type"], datasource["url"]) == ("prometheus", "http://prometheus:9090")
    assert "127.0.0.1:9090:9090" in services["prometheus"]["ports"]
    prometheus_mounts = dict(v.split(":")[:2] for v in services["prometheus"]["volumes"])
    assert prometheus_mounts[f"./{ALERTS.relative_to(ROOT)}"] == "/etc/prometheus/alerts.yaml"


def test_the_tracing_override_points_the_long_running_processes_at_jaeger():
    override = yaml.safe_load(TRACING_OVERRIDE.read_text())["services"]
    services = compose_services()
    running = {
        name
        for name, service in services.items()
        if uses_project_image(service) and service["restart"] != "no"
    }
    assert set(override) == running == DEPLOYMENTS
    for service in override.values():
        assert service == {"environment": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}}
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
