"""Under gunicorn, /metrics sums every worker process: counts from two workers add up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict

from shared.testing.fixtures import migrated
from shared.testing.helpers import eventually
from shared.testing.metrics import scrape, total
from shared.testing.postgres import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def healthz_counts_by_pid(directory: Path) -> dict[str, float]:
    """Per worker pid, the /healthz requests its own file holds."""
    counts: dict[str, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = path.stem.split("_")[-1]
        for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
            name, _sample, labels, _help = json.loads(key)
            if name == "crm_http_requests" and labels.get("route") == "/healthz":
                counts[pid] = counts.get(pid, 0) + value
    return counts


@pytest.fixture
def contacts(tmp_path):
    database_url = f"sqlite:///{tmp_path}/contacts.db"
    migrated(database_url, ROOT / "services/contacts/migrations").dispose()
    metrics_dir = tmp_path / "metrics"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")},
        "PYTHONPATH": str(ROOT),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "DATABASE_URL": database_url,
        "CRM_ENV": "test",
        "CRM_VAR_DIR": str(tmp_path / "var"),
        "USERS_URL": f"http://127.0.0.1:{free_port()}",
    }
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "services.contacts.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, log.read_text()[-4000:]
        try:
            return requests.get(f"{url}/metrics", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        eventually(up, timeout=60, interval=0.2)
        yield url, metrics_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_requests_served_by_two_workers_are_summed_in_one_scrape(contacts):
    url, metrics_dir = contacts
    sent = 0

    def one_request(_i: int) -> int:
        response = requests.get(f"{url}/healthz", headers={"Connection": "close"}, timeout=10)
        return response.status_code

    def both_workers_served() -> bool:
        nonlocal sent
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(one_request, range(16))) == {200}
        sent += 16
        return len(healthz_counts_by_pid(metrics_dir)) == 2

    eventually(both_workers_served, timeout=60, interval=0)
    eventually(
        lambda: total(scrape(url), "crm_http_requests_total", route="/healthz") == sent,
        timeout=30,
    )
    assert sum(healthz_counts_by_pid(metrics_dir).values()) == sent
