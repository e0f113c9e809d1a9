# syntax=docker/dockerfile:1
# One image for every process of the CRM (gateway, services, workers, migrations);
# each container picks its process with its command (see docker-compose.yml, k8s/).

# ---- build: resolve and install into a virtualenv that the runtime stage copies ----
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv && pip install --upgrade pip

WORKDIR /src

# Dependencies first, from pyproject.toml alone, so editing the code does not
# reinstall them (this layer is rebuilt only when pyproject.toml changes).
# Runtime dependencies only: the [dev] extra never enters the image.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# Then the project itself, as a regular (non-editable) install: the packages
# and their Alembic migrations land in site-packages; tests are excluded by
# pyproject.toml and .dockerignore.
COPY shared ./shared
COPY gateway ./gateway
COPY services ./services
RUN pip install --no-deps .

# ---- runtime: no compilers, no build tools, no pip cache, not root ----
FROM python:3.11-slim AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=8080

# libmagic: the contacts service sniffs attachments' types with it (python-magic).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmagic1 \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid (10001) so Kubernetes' runAsNonRoot can verify it and
# the manifests can name it; no home directory, no login shell. The attachments
# folder (used when CRM_ATTACHMENTS_STORAGE=local) belongs to that user, so a
# volume mounted there starts out writable.
RUN groupadd --system --gid 10001 crm \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin crm \
 && mkdir -p /var/lib/crm/attachments \
 && chown 10001:10001 /var/lib/crm/attachments

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY gunicorn.conf.py ./
# Every consumer checks an event against its type's published schema before handling it.
COPY docs/events ./docs/events
ENV CRM_EVENT_SCHEMAS=/app/docs/events

USER 10001:10001

EXPOSE 8080

# The default process is the gateway; every other process overrides the command.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "gateway.wsgi:app"]
