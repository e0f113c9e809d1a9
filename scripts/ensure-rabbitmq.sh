#!/usr/bin/env bash
# Make sure a RabbitMQ broker answers at AMQP_URL's host and port (default 127.0.0.1:5672).
# When none does and this is a Debian-like machine where we are root, install and start a
# local one that listens on loopback only. Otherwise explain what to do and fail.
set -euo pipefail

url=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2F}
hostport=${url#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
host=${hostport%%:*}; port=${hostport##*:}; [ "$port" = "$host" ] && port=5672

reachable() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if reachable; then exit 0; fi
case "$host" in
  127.0.0.1|localhost) ;;
  *) echo "RabbitMQ at $host:$port is not reachable; start it or fix AMQP_URL." >&2; exit 1 ;;
esac

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "No RabbitMQ on $host:$port: installing Debian's rabbitmq-server (about a minute)..."
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  else
    cat >&2 <<MSG
No RabbitMQ is reachable on $host:$port and this script cannot install one here.
Install RabbitMQ 3.10+ (or 'docker compose up -d rabbitmq') and/or set AMQP_URL, then retry.
MSG
    exit 1
  fi
fi

echo "Starting a local RabbitMQ on $host:$port (loopback only)..."
# Every connection is a file descriptor: the default soft limit of 1024 leaves the broker
# about 800 sockets, fewer than a full test run holds at once. rabbitmq-server starts the
# node through `su rabbitmq`, whose PAM session sets the limits, so raise them there.
hard=$(ulimit -Hn); [ "$hard" = unlimited ] && hard=65536
nofile=$(( hard < 65536 ? hard : 65536 ))
if [ "$(id -u)" = 0 ] && [ -d /etc/security/limits.d ] && id rabbitmq >/dev/null 2>&1; then
  printf 'rabbitmq soft nofile %s\nrabbitmq hard nofile %s\n' "$nofile" "$nofile" \
    >/etc/security/limits.d/rabbitmq.conf
fi
ulimit -n "$nofile" 2>/dev/null || true
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
rabbitmq-server -detached >/dev/null 2>&1 || true
timeout 120 rabbitmqctl await_startup >/dev/null 2>&1 || true
for _ in $(seq 1 60); do
  if reachable; then echo "RabbitMQ is up on $host:$port."; exit 0; fi
  sleep 1
done
echo "RabbitMQ did not come up on $host:$port; see /var/log/rabbitmq/." >&2
exit 1
