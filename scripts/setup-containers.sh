#!/usr/bin/env bash
# Installs and starts the real consumers that the deployment-artifact tests check rendered files with
# (test/support/consumers.ts): Docker Engine + docker-compose v1, rootful podman + podman-compose + `podman kube
# play`, kubectl (for `kubectl kustomize`), and a tiny local image built from Debian's static busybox, so that no
# registry is ever contacted. Idempotent: re-running it only checks what is already there.
#
#   bash scripts/setup-containers.sh          # then: node scripts/test.mjs e2e --only consumers
#   bash scripts/teardown-containers.sh       # stops the dockerd this script started
#
# Facts about this kind of machine that shape it (Debian 12 VM, no systemd, cgroup v1 hybrid, no CAP_SYS_RESOURCE):
# - podman's rootful default ulimits exceed the hard limits -> "setrlimit RLIMIT_NOFILE: Operation not permitted";
# - crun 1.8 refuses the hybrid cgroup layout ("cgroups in hybrid mode not supported") -> runc;
# - `podman kube play` builds its pause image from catatonit; bridge networks (podman-compose) need iptables;
# - no systemd, so dockerd is started by hand, in the background, on unix:///run/docker.sock.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup-containers: needs root (or sudo)" >&2; exit 1; }
  exec sudo --preserve-env=PATH,CI bash "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive
export DOCKER_HOST=unix:///run/docker.sock
IMAGE=localhost/tessera-busybox:test
APPLETS="sh env cat ls echo true test printf grep sort wc sleep id base64 od tr xargs"
DOCKERD_PID=/run/tessera-dockerd.pid
DOCKERD_LOG=/tmp/tessera-dockerd.log

now() { echo "${EPOCHREALTIME/./}"; }          # microseconds
since() { local d=$(($(now) - $1)); printf '%d.%02d s' $((d / 1000000)) $((d % 1000000 / 10000)); }
T0=$(now)
timings=()

# --- 1. Debian packages ---------------------------------------------------------------------------------------
t=$(now)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
missing=()
for pkg in docker.io docker-compose busybox-static podman runc netavark aardvark-dns iptables catatonit podman-compose; do
  installed "$pkg" || missing+=("$pkg")
done
# Any kubectl with the built-in `kustomize` will do (this machine image has google-cloud-sdk's at /usr/bin/kubectl);
# otherwise Debian's kubernetes-client (an old kubectl, 1.20, with kustomize v2).
if ! command -v kubectl >/dev/null 2>&1; then missing+=(kubernetes-client); fi
if ((${#missing[@]})); then
  echo "setup-containers: installing ${missing[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
fi
timings+=("packages $(since "$t")")

# --- 2. containers.conf for rootful podman ---------------------------------------------------------------------
t=$(now)
CONF=/etc/containers/containers.conf
want_conf='[containers]
# CAP_SYS_RESOURCE is missing here and podman'"'"'s rootful defaults (nofile=1048576, nproc=4194304) exceed the hard
# limits: without this runc fails with "setrlimit RLIMIT_NOFILE: Operation not permitted".
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
# crun 1.8 fails on a cgroup v1/v2 hybrid host ("cgroups in hybrid mode not supported"); no systemd here.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
conf_ok() {
  [ -f "$CONF" ] || return 1
  local flat
  flat=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$CONF")
  for line in '[containers]' 'default_ulimits=["nofile=20000:20000","nproc=4096:4096"]' '[engine]' \
    'runtime="runc"' 'cgroup_manager="cgroupfs"' 'events_logger="file"'; do
    grep -qxF "$line" <<<"$flat" || return 1
  done
}
if ! conf_ok; then
  mkdir -p /etc/containers
  if [ -f "$CONF" ]; then
    cp "$CONF" "$CONF.before-tessera"
    echo "setup-containers: replacing $CONF (previous one kept as $CONF.before-tessera)" >&2
  fi
  printf '%s\n' "$want_conf" >"$CONF"
fi
timings+=("containers.conf $(since "$t")")

# --- 3. dockerd --------------------------------------------------------------------------------------------------
t=$(now)
docker_ok() { docker info >/dev/null 2>&1; }
alive() { [ -n "${1:-}" ] && [ -r "/proc/$1/comm" ] && [ "$(cat "/proc/$1/comm")" = dockerd ]; }
if ! docker_ok; then
  pid=$(cat "$DOCKERD_PID" 2>/dev/null || true)
  if ! alive "$pid"; then
    rm -f "$DOCKERD_PID"
    # setsid: its own session, so that a Ctrl-C or the end of the calling job does not take it down.
    # No default bridge, no iptables rules, no ip_forward change: the tests use --network none (compose
    # networks still work, host-only), containers get no route out, and the host's firewall is left as it was.
    setsid dockerd --host "$DOCKER_HOST" --bridge=none --iptables=false --ip-forward=false \
      </dev/null >"$DOCKERD_LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$DOCKERD_PID"
    echo "setup-containers: started dockerd (pid $pid, log $DOCKERD_LOG)" >&2
  fi
  deadline=$((SECONDS + 30))
  until docker_ok; do
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      echo "setup-containers: dockerd did not come up; last lines of $DOCKERD_LOG:" >&2
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
fi
timings+=("dockerd $(since "$t")")

# --- 4. the busybox image, for docker and for podman --------------------------------------------------------------
t=$(now)
BUSYBOX=/bin/busybox
file_is_static() { [ "$(LC_ALL=C readelf -d "$1" 2>/dev/null | grep -c NEEDED)" = 0 ]; }
[ -x "$BUSYBOX" ] || { echo "setup-containers: $BUSYBOX is missing (busybox-static)" >&2; exit 1; }
command -v readelf >/dev/null 2>&1 && { file_is_static "$BUSYBOX" || { echo "setup-containers: $BUSYBOX is not static" >&2; exit 1; }; }
# The stamp changes with the busybox binary and the applet list, so an outdated image is rebuilt.
STAMP=$( (sha256sum "$BUSYBOX" | cut -c1-16; echo "$APPLETS") | sha256sum | cut -c1-16)
rootfs=""
make_rootfs() {
  [ -n "$rootfs" ] && return 0
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs"/{bin,etc,tmp,run,proc,sys,dev,root}
  chmod 1777 "$rootfs/tmp"
  cp "$BUSYBOX" "$rootfs/bin/busybox"
  local have
  have=" $("$BUSYBOX" --list | tr '\n' ' ') "
  for a in $APPLETS; do
    [[ $have == *" $a "* ]] || { echo "setup-containers: busybox has no applet $a" >&2; exit 1; }
    ln -s busybox "$rootfs/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  echo 'root:x:0:' >"$rootfs/etc/group"
}
import_into() { # import_into docker|podman
  make_rootfs
  tar -C "$rootfs" -c . | "$1" import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' \
    --change "LABEL org.tessera.stamp=$STAMP" - "$IMAGE" >/dev/null
  echo "setup-containers: built $IMAGE for $1" >&2
}
stamp_of() { "$1" image inspect --format '{{index .Config.Labels "org.tessera.stamp"}}' "$IMAGE" 2>/dev/null || true; }
[ "$(stamp_of docker)" = "$STAMP" ] || import_into docker
[ "$(stamp_of podman)" = "$STAMP" ] || import_into podman
[ -z "$rootfs" ] || rm -rf "$rootfs"
# `podman kube play` builds a pause image from catatonit the first time; do it now, not inside a timed test.
pause_images=$(podman image ls --format '{{.Repository}}')
if [[ $pause_images != *podman-pause* ]]; then
  podman pod rm -f tessera-setup-warmup >/dev/null 2>&1 || true
  podman pod create --name tessera-setup-warmup --network none >/dev/null
  podman pod rm -f tessera-setup-warmup >/dev/null
fi
timings+=("images $(since "$t")")

# --- 5. checks ---------------------------------------------------------------------------------------------------
t=$(now)
docker run --rm --network none "$IMAGE" true
podman run --rm --network none "$IMAGE" true
docker-compose version --short >/dev/null
podman-compose version >/dev/null 2>&1
kubectl version --client >/dev/null 2>&1 || { echo "setup-containers: kubectl version --client failed" >&2; exit 1; }
timings+=("checks $(since "$t")")

pc_version=$(podman-compose version 2>/dev/null | sed -n 's/^podman-composer* version *//p' | head -n 1)
echo "setup-containers: docker engine $(docker version --format '{{.Server.Version}}') (cli $(docker version --format '{{.Client.Version}}')), docker-compose $(docker-compose version --short), $(podman --version), podman-compose $pc_version, kubectl $(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: //p')"
echo "setup-containers: ready in $(since "$T0") (${timings[*]/%/;})"
