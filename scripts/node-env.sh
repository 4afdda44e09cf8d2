# Sourced by the package scripts (`. scripts/node-env.sh && …`): puts the supported Node that
# scripts/bootstrap.sh prepares in .tools/node/bin first on PATH, so tsc, eslint, vitest, tsx
# and the service itself run on it, whatever Node launched npm.
if [ ! -x "$PWD/.tools/node/bin/node" ]; then
  echo "no .tools/node: run 'npm run bootstrap' first" >&2
  return 1 2>/dev/null || exit 1
fi
PATH="$PWD/.tools/node/bin:$PATH"
export PATH
