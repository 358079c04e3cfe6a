#!/usr/bin/env bash
# Installs the `village-edge` launcher where edge-agent/systemd/village-edge.service runs it
# ($PREFIX/bin/village-edge, default /usr/local/bin/village-edge), and the unit itself, from this
# built checkout (`npm ci && npm run build` first). Run as root on the edge box.
#   PREFIX        where the launcher goes (default /usr/local)
#   DESTDIR       a staging root prepended to every installed path (packaging, tests)
#   VILLAGE_HOME  the checkout the launcher runs (default: this one). The unit has
#                 ProtectHome=true, so keep it (and node) out of /home and /root, e.g. /opt/village-telemetry.
#   UNIT_DIR      where the unit goes (default /etc/systemd/system)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX="${PREFIX:-/usr/local}"
DESTDIR="${DESTDIR:-}"
VILLAGE_HOME="${VILLAGE_HOME:-$repo}"
UNIT_DIR="${UNIT_DIR:-/etc/systemd/system}"
entry="$VILLAGE_HOME/edge-agent/dist/bin/village-edge.js"

[ -f "$entry" ] || { echo "install-edge: $entry is missing: run npm ci && npm run build first" >&2; exit 2; }
node="$(command -v node)" || { echo "install-edge: node is not on PATH" >&2; exit 2; }
commit="$(git -C "$VILLAGE_HOME" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"

launcher="$DESTDIR$PREFIX/bin/village-edge"
install -d "$(dirname "$launcher")"
cat >"$launcher" <<EOF
#!/bin/sh
# Installed by scripts/install-edge.sh from $VILLAGE_HOME (commit $commit).
VILLAGE_COMMIT="\${VILLAGE_COMMIT:-$commit}" exec "$node" "$entry" "\$@"
EOF
chmod 0755 "$launcher"

unit="$DESTDIR$UNIT_DIR/village-edge.service"
install -d "$(dirname "$unit")"
sed "s#/usr/local/bin/village-edge#$PREFIX/bin/village-edge#g" "$repo/edge-agent/systemd/village-edge.service" >"$unit"
chmod 0644 "$unit"

echo "installed $PREFIX/bin/village-edge (runs $entry) and $UNIT_DIR/village-edge.service"
case "$VILLAGE_HOME $node" in
  /home/* | /root/* | *" /home/"* | *" /root/"*)
    echo "install-edge: warning: $VILLAGE_HOME or $node is under /home or /root, which the unit hides (ProtectHome=true)" >&2
    ;;
esac
