#!/bin/bash
# One database per service (DESIGN §3), owned by the application role ($POSTGRES_USER).
# The postgres image runs this once, when it initialises an empty data directory;
# a new service adds its database here (existing volumes need a manual CREATE DATABASE).
# Used by docker-compose.yml and, as a copy in k8s/base/postgres.yaml, by Kubernetes
# (tests/deploy checks that the two stay identical).
set -euo pipefail

for database in crm_gateway crm_contacts crm_sales crm_notifications crm_support crm_billing; do
  echo "creating database $database"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -c "CREATE DATABASE \"$database\" OWNER \"$POSTGRES_USER\";"
done
