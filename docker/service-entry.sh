#!/bin/sh
# Entry point of the service image: the first argument chooses the process. Configuration comes
# from the environment (README "Configuration"); what a deployment must set is checked here, so
# a container started without it exits at once with what is missing instead of falling back to
# the local defaults (a database and Temporal on 127.0.0.1, the container's random hostname).
set -eu
cd /app

usage() {
  cat >&2 <<'USAGE'
usage: bugfix-service <command> [args]
  worker          a worker host: the shared task queue and this host's sandbox queue
  api             the HTTP API: intake, admin, health (/livez, /readyz), metrics
  migrate         apply the database migrations (prisma migrate deploy)
  check           load the worker's code and build its workflow bundle, then exit
  bugfix [args]   the operator CLI (bugfix --help)
USAGE
}

missing=""
need() { eval "v=\${$1:-}"; [ -n "$v" ] || missing="$missing $1"; }
need_temporal() {
  [ -n "${TEMPORAL_ADDRESS:-}${TEMPORAL_CONFIG_FILE:-}${TEMPORAL_PROFILE:-}" ] || missing="$missing TEMPORAL_ADDRESS(or TEMPORAL_CONFIG_FILE/TEMPORAL_PROFILE)"
}
refuse_if_missing() {
  [ -z "$missing" ] && return
  echo "bugfix-service $1: refusing to start, not configured:$missing (see README \"Deployment\")" >&2
  exit 2
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  worker)
    # The host id names this host's task queue and labels its sandboxes: a container's hostname
    # changes with every restart, which would orphan the sandboxes of the one before.
    need DATABASE_URL; need_temporal; need BUGFIX_HOST_ID; need BUGFIX_PAYLOAD_KEYS
    refuse_if_missing worker
    exec node src/worker-main.js "$@" ;;
  api)
    need DATABASE_URL; need_temporal; need BUGFIX_PAYLOAD_KEYS
    refuse_if_missing api
    exec node src/http-main.js "$@" ;;
  migrate)
    need DATABASE_URL
    refuse_if_missing migrate
    exec node node_modules/prisma/build/index.js migrate deploy "$@" ;;
  check) exec node docker/service-check.mjs "$@" ;;
  bugfix) exec node src/cli/main.js "$@" ;;
  -h|--help|help) usage; exit 0 ;;
  *) usage; exit 2 ;;
esac
