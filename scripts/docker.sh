# Sourced by scripts/test: makes a Docker Engine available to the local
# target's tests and builds their images offline.
#
# docker_start: installs Debian's docker.io when there is no `dockerd`
# (unattended; root or sudo), starts `dockerd` when no daemon answers on the
# default socket (stopped again by docker_stop, also when tests fail), and
# exports STACKC_TEST_DOCKER=1 for the tests that need it. A daemon that
# already runs (a developer's) is used as it is and left running.
#
# docker_images: builds the test images from Debian packages, no registry:
#   stackc-test-app:1, stackc-test-app:2  busybox httpd naming its container
#   stackc-test-lb:1                      Debian's nginx and its libraries
# Each is rebuilt only when tests/images/ or the packages changed.

DOCKER_STARTED_PID=

_docker_sudo() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

docker_start() {
  local t0=$SECONDS
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "scripts/docker.sh: installing docker.io" >&2
    _docker_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _docker_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      docker.io >/dev/null
  fi
  if [ -z "${DOCKER_HOST:-}" ] && ! docker version >/dev/null 2>&1; then
    local log="${TMPDIR:-/tmp}/stackc-dockerd.log"
    echo "scripts/docker.sh: starting dockerd (log $log)" >&2
    # Started directly (not through a function, which would fork a
    # subshell), so its pid is dockerd's own (or sudo's, which relays the
    # signal) and docker_stop stops it.
    if [ "$(id -u)" = 0 ]; then
      dockerd >"$log" 2>&1 &
    else
      sudo -n dockerd >"$log" 2>&1 &
    fi
    DOCKER_STARTED_PID=$!
    local i
    for i in $(seq 1 150); do
      if docker version >/dev/null 2>&1; then break; fi
      if ! kill -0 "$DOCKER_STARTED_PID" 2>/dev/null; then
        echo "scripts/docker.sh: dockerd exited; its log:" >&2
        tail -n 30 "$log" >&2 || true
        DOCKER_STARTED_PID=
        return 1
      fi
      sleep 0.2
    done
  fi
  if ! docker version >/dev/null 2>&1; then
    echo "scripts/docker.sh: no Docker daemon answers" >&2
    return 1
  fi
  export STACKC_TEST_DOCKER=1
  echo "scripts/docker.sh: Docker Engine $(docker version -f '{{.Server.Version}}') ready after $((SECONDS - t0))s" >&2
}

docker_stop() {
  if [ -n "${DOCKER_STARTED_PID:-}" ]; then
    echo "scripts/docker.sh: stopping the dockerd it started" >&2
    _docker_sudo kill "$DOCKER_STARTED_PID" 2>/dev/null || true
    wait "$DOCKER_STARTED_PID" 2>/dev/null || true
    DOCKER_STARTED_PID=
  fi
}

# Extracts a Debian package (downloaded, not installed) into $2.
_docker_deb_extract() {
  local package="$1" into="$2" work
  work=$(mktemp -d)
  if ! (cd "$work" && apt-get download -qq "$package" >/dev/null 2>&1); then
    _docker_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    (cd "$work" && apt-get download -qq "$package" >/dev/null)
  fi
  dpkg-deb -x "$work"/*.deb "$into"
  rm -rf "$work"
}

_docker_build() {
  local tag="$1" context="$2" hash="$3"
  shift 3
  if [ "$(docker image inspect -f '{{index .Config.Labels "stackc.test.hash"}}' "$tag" 2>/dev/null)" = "$hash" ]; then
    return 0
  fi
  local log
  log=$(mktemp)
  if ! DOCKER_BUILDKIT=0 docker build -q --label "stackc.test.hash=$hash" -t "$tag" "$@" "$context" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

docker_images() {
  local t0=$SECONDS root
  root="$(pwd)/tests/images"
  local hash
  hash=$( (cat "$root"/*/*; apt-cache policy busybox-static nginx 2>/dev/null | grep Candidate) | sha256sum | cut -c1-16)
  if [ "$(docker image inspect -f '{{index .Config.Labels "stackc.test.hash"}}' stackc-test-lb:1 2>/dev/null)" = "$hash" ] &&
     [ "$(docker image inspect -f '{{index .Config.Labels "stackc.test.hash"}}' stackc-test-app:2 2>/dev/null)" = "$hash" ]; then
    echo "scripts/docker.sh: test images up to date" >&2
    return 0
  fi
  local work
  work=$(mktemp -d)
  # App: busybox-static and its applets, the start script.
  cp -r "$root/app" "$work/app"
  mkdir -p "$work/deb-busybox" "$work/app/rootfs/bin" "$work/app/rootfs/tmp"
  _docker_deb_extract busybox-static "$work/deb-busybox"
  cp "$work/deb-busybox/bin/busybox" "$work/app/rootfs/bin/busybox"
  local applet
  for applet in sh httpd wget hostname mkdir echo cat sleep ls kill ps rm touch; do
    ln -s busybox "$work/app/rootfs/bin/$applet"
  done
  cp "$root/app/app-start" "$work/app/rootfs/bin/app-start"
  # Load balancer: Debian's nginx binary and what `ldd` says it links.
  cp -r "$root/lb" "$work/lb"
  mkdir -p "$work/deb-nginx"
  _docker_deb_extract nginx "$work/deb-nginx"
  local rootfs="$work/lb/rootfs"
  mkdir -p "$rootfs/usr/sbin" "$rootfs/etc/nginx" "$rootfs/var/log/nginx" "$rootfs/var/lib/nginx" "$rootfs/run" "$rootfs/tmp"
  cp "$work/deb-nginx/usr/sbin/nginx" "$rootfs/usr/sbin/nginx"
  local lib
  for lib in $(ldd "$work/deb-nginx/usr/sbin/nginx" | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  ln -sf /dev/stderr "$rootfs/var/log/nginx/error.log"
  ln -sf /dev/stdout "$rootfs/var/log/nginx/access.log"
  _docker_build stackc-test-app:1 "$work/app" "$hash" --build-arg VERSION=1
  _docker_build stackc-test-app:2 "$work/app" "$hash" --build-arg VERSION=2
  _docker_build stackc-test-lb:1 "$work/lb" "$hash"
  rm -rf "$work"
  echo "scripts/docker.sh: test images built in $((SECONDS - t0))s" >&2
}
