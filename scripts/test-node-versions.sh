#!/usr/bin/env bash
# Tessera supports Node 20, 22 and 24. The whole suite runs on this machine's Node (20 on these machines);
# this runs the unit tests and the end-to-end tests of what depends most on the runtime (the launcher, the
# library through require() and import, run, precedence, secret files, the CI recipes) on Node 22 and 24,
# installed from the npm registry (the `node` package ships the official binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${TESSERA_NODE_CACHE:-$HOME/.cache/tessera-node}"
for version in 22 24; do
  prefix="$cache/node-$version"
  if [ ! -x "$prefix/node_modules/node/bin/node" ]; then
    echo "installing Node $version from npm into $prefix" >&2
    npm install --no-audit --no-fund --loglevel=error --no-save --prefix "$prefix" "node@$version" >&2
  fi
  node_bin="$prefix/node_modules/node/bin"
  echo "== Node $("$node_bin/node" --version)" >&2
  PATH="$node_bin:$PATH" node scripts/test.mjs unit
  PATH="$node_bin:$PATH" node scripts/test.mjs e2e --only launcher,install,run.test,profiles,precedence,ci-recipes
done
