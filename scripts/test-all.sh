#!/usr/bin/env bash
# Installs everything the test suite needs (system packages included) and runs the whole suite:
# build, typecheck, lint, unit and end-to-end tests. This is the command .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: the shells the export/shell round-trip tests run (sh is dash on Debian), git for init,
# age for the store's interoperability tests;
# scripts/setup-containers.sh below installs the container engines.
need=()
command -v bash >/dev/null 2>&1 || need+=(bash)
command -v dash >/dev/null 2>&1 || need+=(dash)
command -v git >/dev/null 2>&1 || need+=(git)
command -v age >/dev/null 2>&1 || need+=(age) # the workspace store is proven readable by the age CLI
# External stores proven against the real programs: pass (with a throwaway GnuPG home), keepassxc-cli
# (with a throwaway database); moto below serves the AWS APIs.
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v pass >/dev/null 2>&1 || need+=(pass)
command -v keepassxc-cli >/dev/null 2>&1 || need+=(keepassxc)
python3 -c 'import moto.server' >/dev/null 2>&1 || command -v pip3 >/dev/null 2>&1 || need+=(python3-pip)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing system packages: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# moto: AWS Secrets Manager and SSM Parameter Store on loopback (present on these machines; installed with
# pip where it is not).
if ! python3 -c 'import moto.server' >/dev/null 2>&1; then
  echo "installing moto[server] with pip" >&2
  python3 -m pip install --quiet 'moto[server]' || python3 -m pip install --quiet --break-system-packages 'moto[server]'
fi

node -e 'const [major] = process.versions.node.split("."); if (+major < 20) { console.error("Node >= 20 is required, found " + process.version); process.exit(1) }'

# The real consumers the artifacts are proven with: Docker engine + docker-compose, podman (kube play,
# podman-compose), kubectl kustomize. Started here, stopped when the suite ends.
bash scripts/setup-containers.sh
trap 'bash scripts/teardown-containers.sh >/dev/null 2>&1 || true' EXIT
# `npm install` installs the locked versions. (`npm ci` would refuse this lock: the registry these machines
# use serves only the Linux builds of Biome's optional platform packages, so the lock cannot list the rest.)
npm install --no-audit --no-fund --loglevel=error
npm test
# The same code on Node 22 and 24 (installed from npm): unit tests and the runtime-sensitive e2e tests.
bash scripts/test-node-versions.sh
