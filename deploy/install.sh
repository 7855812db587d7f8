#!/bin/sh
# Installs sockkit from this checkout for systemd, run as root:
#   sudo deploy/install.sh [--root DIR] [--user NAME] [--hosts LIST]
#
# Puts the checkout and the pinned Deno in ROOT/opt/sockkit, links
# ROOT/usr/local/bin/sockkit to its launcher, fills the Deno cache the
# services read (DENO_DIR=ROOT/var/cache/sockkit/deno, every npm package
# fetched now, so the unprivileged user never needs to write it), creates the
# system user, ROOT/etc/sockkit/ingest.conf with absolute paths, the
# certificates (server key readable by the service's group only) and the
# systemd units in ROOT/etc/systemd/system with the paths filled in.
#
# --root DIR relocates every path above under DIR (the units then name the
# relocated paths): for trying the install or packaging. Default "/".
# Running it again keeps existing config, certificates and state.
set -eu

ROOT=/
SVC_USER=sockkit
HOSTS=""

usage() {
  echo "usage: deploy/install.sh [--root DIR] [--user NAME] [--hosts LIST]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || usage; ROOT=$2; shift 2 ;;
    --user) [ $# -ge 2 ] || usage; SVC_USER=$2; shift 2 ;;
    --hosts) [ $# -ge 2 ] || usage; HOSTS=$2; shift 2 ;;
    -h|--help)
      sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "install: unknown option \"$1\"" >&2; usage ;;
  esac
done

die() { echo "install: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (it creates a system user and root-owned files): sudo $0 $*"

SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$ROOT"
ROOT=$(cd "$ROOT" && pwd)
[ "$ROOT" = / ] && ROOT=""
PREFIX="$ROOT/opt/sockkit"
ETC="$ROOT/etc/sockkit"
STATE="$ROOT/var/lib/sockkit"
CACHE="$ROOT/var/cache/sockkit"
UNITS="$ROOT/etc/systemd/system"
BIN="$ROOT/usr/local/bin"

# 1. The code and the pinned Deno (no download at run time).
DENO=$("$SRC/sockkit" --print-deno) || die "cannot find or install the pinned Deno through $SRC/sockkit"
echo "install: code and Deno into $PREFIX" >&2
rm -rf "$PREFIX.new"
mkdir -p "$PREFIX.new/.tools/deno/node_modules/.bin"
(cd "$SRC" && tar -cf - deno.json deno.lock main.ts sockkit cmd core deploy fixtures README.md docs) |
  (cd "$PREFIX.new" && tar -xf -)
cp "$DENO" "$PREFIX.new/.tools/deno/node_modules/.bin/deno"
chmod 0755 "$PREFIX.new/.tools/deno/node_modules/.bin/deno"
rm -rf "$PREFIX"
mv "$PREFIX.new" "$PREFIX"
chown -R root:root "$PREFIX"
chmod -R go-w "$PREFIX"
mkdir -p "$BIN"
ln -sfn "$PREFIX/sockkit" "$BIN/sockkit"

# 2. The Deno cache the services read, filled now (root-owned, world-readable).
echo "install: filling the Deno cache $CACHE/deno" >&2
mkdir -p "$CACHE/deno"
workers=$(cd "$PREFIX" && find core -name '*_worker.ts' | sort)
# shellcheck disable=SC2086 # word splitting of the worker list is intended
(cd "$PREFIX" && DENO_DIR="$CACHE/deno" "$PREFIX/sockkit" --deno cache --config deno.json main.ts $workers) ||
  die "cannot fill the Deno cache: check access to the npm registry"
chown -R root:root "$CACHE"
chmod -R u+rwX,go+rX,go-w "$CACHE"

# 3. The service user.
if ! id "$SVC_USER" >/dev/null 2>&1; then
  echo "install: creating system user $SVC_USER" >&2
  useradd --system --user-group --home-dir "$STATE" --no-create-home \
    --shell /usr/sbin/nologin "$SVC_USER" || die "useradd $SVC_USER failed"
fi
GROUP=$(id -gn "$SVC_USER")
mkdir -p "$STATE/ingest-spool" "$STATE/broker"
chown -R "$SVC_USER:$GROUP" "$STATE"
chmod 0750 "$STATE"

# 4. Certificates: the CA key stays root-only; the server key is readable by the service's group.
mkdir -p "$ETC"
if [ ! -e "$ETC/certs/ca.pem" ]; then
  if [ -z "$HOSTS" ]; then
    fqdn=$(hostname -f 2>/dev/null || hostname)
    HOSTS="$fqdn,localhost,127.0.0.1,::1"
  fi
  echo "install: certificates for $HOSTS in $ETC/certs" >&2
  "$PREFIX/sockkit" certs init --dir "$ETC/certs" --hosts "$HOSTS" >/dev/null
fi
chown root:"$GROUP" "$ETC/certs/server.key"
chmod 0640 "$ETC/certs/server.key"
chmod 0755 "$ETC" "$ETC/certs"
# The revocation list, which the broker (as the service user) rewrites for "sockkit broker
# revoke": certs/revoked.json links to revocations/revoked.json, in a directory of the
# service's group (setgid, so every rewrite, root's "certs revoke" too, keeps the group; the
# writer keeps the file's 0664). Every reader goes through the link.
REVOKED="$ETC/certs/revoked.json"
REVDIR="$ETC/certs/revocations"
mkdir -p "$REVDIR"
chown root:"$GROUP" "$REVDIR"
chmod 2775 "$REVDIR"
if [ ! -L "$REVOKED" ]; then
  [ -e "$REVDIR/revoked.json" ] &&
    die "both $REVOKED and $REVDIR/revoked.json exist: merge them into $REVDIR/revoked.json, remove $REVOKED and run again"
  # copied, then the link renamed over the file: running servers never see the list missing
  if [ -e "$REVOKED" ]; then cp "$REVOKED" "$REVDIR/revoked.json"; else echo "[]" >"$REVDIR/revoked.json"; fi
  ln -sfn revocations/revoked.json "$ETC/certs/.revoked.json.link"
  mv -T "$ETC/certs/.revoked.json.link" "$REVOKED"
fi
chown root:"$GROUP" "$REVDIR/revoked.json"
chmod 0664 "$REVDIR/revoked.json"
# the lock every list update holds: the service user locks it through a read-only open
[ -e "$ETC/certs/.pki.lock" ] || : >"$ETC/certs/.pki.lock"

# 5. The ingest config, with absolute paths (kept when it exists).
if [ ! -e "$ETC/ingest.conf" ]; then
  cat >"$ETC/ingest.conf" <<EOF
# sockkit ingest (the replaced daemon's conf/daemon.conf layout, TOML).
# Overrides: $ETC/ingest.env (SOCKKIT_INGEST_*=..., SOCKKIT_REDIS_URL=...).
[daemon]
host = "0.0.0.0"
port = 1191

[path]
# The directory "sockkit certs init" filled (server.pem/.key, allowed.pem,
# revoked.json, which is honoured). Or give server_crt_path, server_key_path
# and client_certs_path instead.
certs_dir = "$ETC/certs"

[redis]
host = "127.0.0.1"
port = 6379
db = 0

[ingest]
spool_dir = "$STATE/ingest-spool"
metrics_port = 9191
EOF
  chmod 0644 "$ETC/ingest.conf"
fi

# 6. The systemd units, paths filled in.
mkdir -p "$UNITS"
for unit in "$SRC"/deploy/sockkit-*.service; do
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@ETC@|$ETC|g" -e "s|@STATE@|$STATE|g" \
    -e "s|@CACHE@|$CACHE|g" -e "s|@USER@|$SVC_USER|g" -e "s|@GROUP@|$GROUP|g" \
    "$unit" >"$UNITS/$(basename "$unit")"
  chmod 0644 "$UNITS/$(basename "$unit")"
done

echo "install: done. Next:" >&2
echo "  sockkit certs issue NAME --dir $ETC/certs     # a client certificate" >&2
echo "  systemctl daemon-reload && systemctl enable --now sockkit-ingest" >&2
echo "  journalctl -u sockkit-ingest -f" >&2
