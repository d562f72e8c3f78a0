#!/usr/bin/env bash
# Images of real systems (nginx, a PostgreSQL client, a JVM, RabbitMQ, Elasticsearch) on the test
# Docker engine, and the Node base fineprint's own Dockerfile builds on: start | stop | env | status
#
# No image registry here: each image is a Debian root filesystem built by mmdebstrap from the
# machine's apt sources with the system's Debian packages, then `docker import`ed with the command
# and environment the system needs. The root filesystem tarball is cached in $ROOT/.cache/images
# (git-ignored), so it is built once per machine; importing it again takes seconds. Needs the test
# engine (scripts/services/dockerd.sh) to be running. `stop` leaves images and tarballs in place.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
D="$ROOT/.cache/images"
SOCK="${DOCKERD_DIR:-$ROOT/.cache/dockerd}/docker.sock"
DOCKER_BIN="/usr/bin/docker"
SUITE="bookworm"
# Elasticsearch comes from the Maven Central zip scripts/services/elasticsearch.sh resolves.
ES_VERSION="${ES_VERSION:-8.19.21}"
ES_ZIP="$ROOT/.cache/m2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"

SERVICE=images
# shellcheck source=scripts/services/lib.sh
. "$ROOT/scripts/services/lib.sh"
dk() { "$DOCKER_BIN" -H "unix://$SOCK" "$@"; }

# Every image: name, Debian packages, `docker import --change` lines. The tag's version (:1) names
# the recipe: change a recipe, bump its version, and the next start builds it anew.
NAMES=(nginx postgres-client jvm rabbitmq elasticsearch node)
PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
packages() {
  case "$1" in
    nginx) echo nginx-light ;;
    postgres-client) echo postgresql-client ;;
    jvm) echo openjdk-17-jre-headless ;;
    rabbitmq) echo rabbitmq-server ;;
    elasticsearch) echo openjdk-17-jre-headless ;;
    node) echo ca-certificates ;;
  esac
}
changes() {
  echo "$PATH_ENV"
  case "$1" in
    # error_log to stderr: container logs are what the engine (and fineprint) sees.
    nginx) echo 'CMD ["nginx","-g","daemon off; error_log /dev/stderr;"]' ;;
    postgres-client) echo 'CMD ["psql"]' ;;
    jvm) echo 'CMD ["java","-version"]' ;;
    # The /usr/sbin wrapper logs to /var/log/rabbitmq/startup_log; the server itself logs to stdout
    # with RABBITMQ_LOGS=-.
    rabbitmq)
      echo 'ENV HOME=/var/lib/rabbitmq'
      echo 'ENV RABBITMQ_LOGS=-'
      echo 'USER rabbitmq'
      echo 'CMD ["/usr/lib/rabbitmq/bin/rabbitmq-server"]'
      ;;
    # Elasticsearch refuses to run as root: the image's user owns the install.
    elasticsearch)
      echo 'ENV ES_JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64'
      echo 'ENV ES_JAVA_OPTS="-Xms256m -Xmx256m"'
      echo 'USER elasticsearch'
      echo 'CMD ["/opt/elasticsearch/bin/elasticsearch"]'
      ;;
    # The layout of the official node images (the Dockerfile's default NODE_IMAGE): node and npm
    # under /usr/local, a `node` user (uid 1000) for the roles that do not need root.
    # The machine's trust store (copied in at build) also for Node, which has its own otherwise:
    # the image's build reaches the npm registry through whatever TLS the machine trusts.
    # Node's headers are in the image, as in the official ones: node-gyp builds native modules
    # (better-sqlite3) against them instead of downloading them.
    node)
      echo 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'
      echo 'ENV npm_config_nodedir=/usr/local'
      echo 'CMD ["node"]'
      ;;
  esac
}
image_tag() { echo "fineprint-test/$1:1"; }

install_packages() {
  local missing=()
  command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
  command -v unzip >/dev/null 2>&1 || missing+=(unzip)
  apt_install "${missing[@]}"
}

engine_up() { [ -S "$SOCK" ] && curl -fsS --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

# rootfs NAME: builds $D/NAME.tar unless it is there (written under a temporary name, so an
# interrupted build never leaves a truncated tarball that looks cached; mmdebstrap picks its output
# format from the name's extension, so that name ends in .tar too).
rootfs() {
  local name="$1" tar="$D/$1.tar" hooks=() tmp="" started=$SECONDS
  [ -s "$tar" ] && return 0
  if [ "$name" = elasticsearch ]; then
    [ -f "$ES_ZIP" ] || { log "ERROR: no $ES_ZIP (scripts/services/elasticsearch.sh start resolves it)"; exit 1; }
    tmp="$(mktemp -d "$D/es.XXXXXX")"
    unzip -q "$ES_ZIP" -d "$tmp"
    mv "$tmp/elasticsearch-$ES_VERSION" "$tmp/elasticsearch"
    hooks=(--customize-hook='chroot "$1" useradd --system --home-dir /opt/elasticsearch elasticsearch'
      --customize-hook="copy-in $tmp/elasticsearch /opt"
      --customize-hook='chroot "$1" chown -R elasticsearch: /opt/elasticsearch')
  fi
  if [ "$name" = node ]; then
    # The machine's own Node.js (with its headers), npm and CA bundle: the Node the project is
    # tested with, and the registries as the machine reaches them.
    local node_bin npm_dir
    node_bin="$(readlink -f "$(command -v node)")"
    npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
    hooks=(--customize-hook='mkdir -p "$1/usr/local/bin" "$1/usr/local/lib/node_modules"'
      --customize-hook="copy-in $node_bin /usr/local/bin"
      --customize-hook="copy-in $npm_dir /usr/local/lib/node_modules"
      --customize-hook='mkdir -p "$1/usr/local/include"'
      --customize-hook="copy-in /usr/include/node /usr/local/include"
      --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"'
      --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"'
      --customize-hook='upload /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt'
      --customize-hook='chroot "$1" groupadd --gid 1000 node'
      --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node')
  fi
  log "building $name's root filesystem ($(packages "$name"))"
  mmdebstrap --quiet --variant=apt --include="$(packages "$name" | tr ' ' ,)" "${hooks[@]}" \
    "$SUITE" "$D/$name.part.tar" >"$D/$name.build.log" 2>&1 || {
    log "ERROR: mmdebstrap failed for $name; last lines of $D/$name.build.log:"
    tail -n 20 "$D/$name.build.log" >&2
    rm -f "$D/$name.part.tar"
    [ -z "$tmp" ] || rm -rf "$tmp"
    exit 1
  }
  [ -z "$tmp" ] || rm -rf "$tmp"
  mv "$D/$name.part.tar" "$tar"
  log "built $tar in $((SECONDS - started))s ($(du -h "$tar" | cut -f1))"
}

import() {
  local name="$1" tag started=$SECONDS args=() line
  tag="$(image_tag "$name")"
  dk image inspect "$tag" >/dev/null 2>&1 && return 0
  rootfs "$name"
  while IFS= read -r line; do args+=(--change "$line"); done < <(changes "$name")
  dk import "${args[@]}" "$D/$name.tar" "$tag" >/dev/null
  log "imported $tag in $((SECONDS - started))s"
}

have_all() {
  local name
  engine_up || return 1
  for name in "${NAMES[@]}"; do dk image inspect "$(image_tag "$name")" >/dev/null 2>&1 || return 1; done
}

start() {
  engine_up || { log "ERROR: the test Docker engine does not answer on $SOCK (scripts/services/dockerd.sh start)"; exit 1; }
  install_packages
  local name pids=() failed=0 pid
  # IMAGES: a subset to build (e.g. IMAGES="nginx jvm"); all by default.
  # shellcheck disable=SC2206
  local wanted=(${IMAGES:-${NAMES[@]}})
  # Root filesystems build side by side: each is mostly package downloads and unpacking, so a cold
  # start takes about as long as the slowest one instead of the sum.
  for name in "${wanted[@]}"; do
    dk image inspect "$(image_tag "$name")" >/dev/null 2>&1 || { rootfs "$name" & pids+=($!); }
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || { log "ERROR: a root filesystem did not build"; exit 1; }
  for name in "${wanted[@]}"; do import "$name"; done
}

case "${1:-}" in
  start) lock 1800; start ;;
  stop) : ;;
  # The tags, for tests: FINEPRINT_TEST_IMAGE_NGINX=fineprint-test/nginx:1 ...
  env) for name in "${NAMES[@]}"; do
      echo "export FINEPRINT_TEST_IMAGE_$(echo "$name" | tr 'a-z-' 'A-Z_')=$(image_tag "$name")"
    done ;;
  status) have_all ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
