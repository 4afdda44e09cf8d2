#!/usr/bin/env bash
# Writes prisma/migrations/<timestamp>_<name>/migration.sql from the schema change since the last
# commit that touched prisma/migrations. (Diffing from the migrations folder needs a shadow database
# and a Rust engine feature the offline wasm engine lacks: Postgres type "char".)
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/new-migration.sh <name>}"
base="$(git log -1 --format=%H -- prisma/migrations)"
old="$(mktemp --suffix=.prisma)"
git show "$base:prisma/schema.prisma" > "$old"
dir="prisma/migrations/$(date -u +%Y%m%d%H%M%S)_${name}"
mkdir -p "$dir"
DATABASE_URL="${DATABASE_URL:-postgresql://bugfix:bugfix@127.0.0.1:5432/bugfix}" node_modules/.bin/prisma migrate diff \
  --from-schema-datamodel "$old" --to-schema-datamodel prisma/schema.prisma --script \
  | grep -v '^Loaded Prisma config' > "$dir/migration.sql" # prisma may print this on stdout
rm -f "$old"
echo "wrote $dir/migration.sql — apply with: npm run bootstrap"
