"""gunicorn settings shared by every web process; everything that varies comes from the env.

Used as `gunicorn -c gunicorn.conf.py <package>.wsgi:app` (see docs/ops.md).
"""

import glob
import os
import shutil
import tempfile

# Loopback by default so a laptop run is not reachable from the network;
# containers set HOST=0.0.0.0.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

# Threads rather than more processes: requests mostly wait on PostgreSQL and
# on other services, and each extra process costs a full copy of the app.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
# gthread (a thread per request in flight) by default. The gateway and the
# notifications service hold Server-Sent Events streams open for minutes, so
# they run with GUNICORN_WORKER_CLASS=gevent: an open stream costs a greenlet,
# not one of a few threads (docs/ops.md, "Worker classes").
worker_class = os.environ.get("GUNICORN_WORKER_CLASS") or "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# gevent only: connections (open streams included) per worker process.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS") or 1000)

# Keep idle keep-alive connections open longer than whoever is in front of us (the gateway's
# pool, an ingress controller: nginx keeps upstream connections 60 s) would reuse them, so a
# request rarely meets a connection this side is closing. The gateway also retries an
# idempotent request once when that happens (gateway/proxy.py).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 75)

# On SIGTERM, requests in flight get 30 s to finish; Kubernetes'
# terminationGracePeriodSeconds and compose's stop_grace_period are longer.
graceful_timeout = 30
timeout = 60

# No access log: the app already logs every request as one JSON line with
# its request id; gunicorn's own messages still go to stderr, as JSON lines
# of the same shape (shared/gunicorn_logging.py).
accesslog = None
errorlog = "-"
logger_class = "shared.gunicorn_logging.JsonLogger"

# gunicorn 25.1+ opens a control socket under $HOME by default; the image has no
# writable home (read-only root filesystem) and nothing here uses `gunicornc`.
# (Older gunicorn ignores the unknown name.)
control_socket_disable = True

# Whose X-Forwarded-* headers to believe (e.g. the ingress controller).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Let long-lived responses see the worker's SIGTERM (shared/lifecycle.py)."""
    from shared import lifecycle

    lifecycle.watch(lambda: not worker.alive)


#: The metrics directory on_starting made when PROMETHEUS_MULTIPROC_DIR was unset.
made_metrics_dir: list[str] = []


def on_starting(server):
    """Give the workers a fresh PROMETHEUS_MULTIPROC_DIR, so /metrics sums them all.

    Unset, a temporary directory of this process group's own, removed at exit.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:  # left over from an earlier run: its counts are not this run's
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)
    else:
        directory = tempfile.mkdtemp(prefix="crm-metrics-")
        made_metrics_dir.append(directory)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def child_exit(server, worker):
    """A dead worker's live gauges (requests in flight, open streams) leave the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    for directory in made_metrics_dir:
        shutil.rmtree(directory, ignore_errors=True)
