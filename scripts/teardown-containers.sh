#!/usr/bin/env bash
# Undoes what scripts/setup-containers.sh left running: removes leftover containers of the test image, stops the
# dockerd it started (pid in /run/tessera-dockerd.pid; a dockerd started by anyone else is left alone) and deletes
# the bridge links (docker0, docker_gwbridge) that dockerd leaves behind. Installed packages and images stay, so
# the next setup is quick. Safe to run when nothing is running.
set -uo pipefail

if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "teardown-containers: needs root (or sudo)" >&2; exit 1; }
  exec sudo --preserve-env=PATH bash "$0" "$@"
fi

export DOCKER_HOST=unix:///run/docker.sock
IMAGE=localhost/tessera-busybox:test
DOCKERD_PID=/run/tessera-dockerd.pid

# Containers the tests may have left (a test killed half-way): only those of our image.
if command -v podman >/dev/null 2>&1; then
  ids=$(podman ps -aq --filter "ancestor=$IMAGE" 2>/dev/null)
  [ -z "$ids" ] || podman rm -f $ids >/dev/null 2>&1
fi
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  ids=$(docker ps -aq --filter "ancestor=$IMAGE" 2>/dev/null)
  [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1
fi

pid=$(cat "$DOCKERD_PID" 2>/dev/null || true)
if [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = dockerd ]; then
  kill -TERM "$pid"
  # dockerd stops its containers and its own containerd first; give it up to 20 s
  for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
  if [ -d "/proc/$pid" ]; then
    echo "teardown-containers: dockerd $pid did not stop in 20 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
    sleep 0.5
  fi
  echo "teardown-containers: stopped dockerd $pid" >&2
  stopped=1
else
  stopped=0
fi
rm -f "$DOCKERD_PID"

# The links are dockerd's: delete them only when no dockerd runs any more.
if [ "$stopped" = 1 ] && command -v ip >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
  for link in docker0 docker_gwbridge; do
    if ip link show "$link" >/dev/null 2>&1; then ip link del "$link" && echo "teardown-containers: deleted link $link" >&2; fi
  done
fi
exit 0
