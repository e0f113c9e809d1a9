#!/usr/bin/env bash
# Start the whole system on this machine: a reachable RabbitMQ, every service's migrations,
# the development admin, then every process (web servers, event workers, gateway) under honcho.
#   scripts/run.sh            everything, in the foreground; Ctrl-C stops it all
#   scripts/run.sh migrate    only the migrations
#   scripts/run.sh seed       only the development admin
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

export CRM_ENV=${CRM_ENV:-development}
export CRM_VAR_DIR=${CRM_VAR_DIR:-$PWD/var}
export GATEWAY_PORT=${GATEWAY_PORT:-8080}
export CONTACTS_PORT=${CONTACTS_PORT:-8001}
export CONTACTS_WORKER_HEALTH_PORT=${CONTACTS_WORKER_HEALTH_PORT:-9001}
export SALES_PORT=${SALES_PORT:-8002}
export SALES_WORKER_HEALTH_PORT=${SALES_WORKER_HEALTH_PORT:-9002}
export SUPPORT_PORT=${SUPPORT_PORT:-8003}
export SUPPORT_WORKER_HEALTH_PORT=${SUPPORT_WORKER_HEALTH_PORT:-9003}
export NOTIFICATIONS_PORT=${NOTIFICATIONS_PORT:-8005}
export NOTIFICATIONS_WORKER_HEALTH_PORT=${NOTIFICATIONS_WORKER_HEALTH_PORT:-9005}
export BILLING_PORT=${BILLING_PORT:-8004}
export BILLING_WORKER_HEALTH_PORT=${BILLING_WORKER_HEALTH_PORT:-9004}
export GATEWAY_DATABASE_URL=${GATEWAY_DATABASE_URL:-sqlite:///$CRM_VAR_DIR/gateway.db}
export CONTACTS_DATABASE_URL=${CONTACTS_DATABASE_URL:-sqlite:///$CRM_VAR_DIR/contacts.db}
export SALES_DATABASE_URL=${SALES_DATABASE_URL:-sqlite:///$CRM_VAR_DIR/sales.db}
export SUPPORT_DATABASE_URL=${SUPPORT_DATABASE_URL:-sqlite:///$CRM_VAR_DIR/support.db}
export NOTIFICATIONS_DATABASE_URL=${NOTIFICATIONS_DATABASE_URL:-sqlite:///$CRM_VAR_DIR/notifications.db}
export BILLING_DATABASE_URL=${BILLING_DATABASE_URL:-sqlite:///$CRM_VAR_DIR/billing.db}
# Services find the gateway (users, service tokens, revocations) and its public keys here.
export USERS_URL=${USERS_URL:-http://127.0.0.1:$GATEWAY_PORT}
export JWKS_URL=${JWKS_URL:-$USERS_URL/.well-known/jwks.json}
export CRM_ADMIN_EMAIL=${CRM_ADMIN_EMAIL:-admin@crm.local}
export CRM_ADMIN_PASSWORD=${CRM_ADMIN_PASSWORD:-admin12345}
if [ -t 1 ]; then export LOG_FORMAT=${LOG_FORMAT:-console}; fi
mkdir -p "$CRM_VAR_DIR"

migrate() {
  DATABASE_URL=$GATEWAY_DATABASE_URL python -m gateway migrate
  DATABASE_URL=$CONTACTS_DATABASE_URL python -m services.contacts migrate
  DATABASE_URL=$SALES_DATABASE_URL python -m services.sales migrate
  DATABASE_URL=$SUPPORT_DATABASE_URL python -m services.support migrate
  DATABASE_URL=$NOTIFICATIONS_DATABASE_URL python -m services.notifications migrate
  DATABASE_URL=$BILLING_DATABASE_URL python -m services.billing migrate
}

seed() {
  DATABASE_URL=$GATEWAY_DATABASE_URL python -m gateway seed-admin
}

case "${1:-start}" in
  migrate) migrate ;;
  seed) seed ;;
  start)
    scripts/ensure-rabbitmq.sh
    migrate
    if [ "$CRM_ENV" = development ]; then seed; fi
    cat <<MSG

  CRM is starting: gateway on http://127.0.0.1:$GATEWAY_PORT  (API docs: /api/docs)
  Log in:  curl -s -X POST http://127.0.0.1:$GATEWAY_PORT/api/v1/auth/login \\
             -H 'Content-Type: application/json' \\
             -d '{"email": "$CRM_ADMIN_EMAIL", "password": "<CRM_ADMIN_PASSWORD>"}'
  (development default password: admin12345; set CRM_ADMIN_EMAIL / CRM_ADMIN_PASSWORD to change)
  Ctrl-C stops every process.

MSG
    exec honcho start -f Procfile
    ;;
  *) echo "usage: scripts/run.sh [start|migrate|seed]" >&2; exit 2 ;;
esac
