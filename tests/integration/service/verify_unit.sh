#!/usr/bin/env bash
# systemd-analyze verify on etc/ordersystem.service as shipped, with ExecStart pointed at the
# built binary (verify checks that it exists). Runs without root and without systemd as PID 1.
# Exits 77 (ctest: skipped) when systemd-analyze is not installed.
#   verify_unit.sh <build dir> <source dir>
set -euo pipefail
build=${1:?build dir}
source=${2:?source dir}
command -v systemd-analyze >/dev/null || { echo "verify_unit: skipped: systemd-analyze missing"; exit 77; }
work=$(mktemp -d /tmp/ordersystem-unit.XXXXXX)
trap 'rm -rf "$work"' EXIT
unit="$source/etc/ordersystem.service"
# The shipped unit must be the real thing: foreground, notify, its own user, hardening.
for line in 'Type=notify' 'User=ordersystem' 'StateDirectory=ordersystem' 'ConfigurationDirectory=ordersystem' \
            'Restart=on-failure' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
            'CapabilityBoundingSet=' 'ExecStart=/usr/bin/ordersystem --config=/etc/ordersystem/ordersystem.ini'; do
  grep -qx "$line" "$unit" || { echo "verify_unit: FAIL: $unit lacks the line '$line'" >&2; exit 1; }
done
grep -q '^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$' "$unit" ||
  { echo "verify_unit: FAIL: RestrictAddressFamilies must allow AF_UNIX (notify socket) and IP" >&2; exit 1; }
sed "s|^ExecStart=/usr/bin/ordersystem|ExecStart=$build/bin/ordersystem|" "$unit" >"$work/ordersystem.service"
if ! systemd-analyze verify "$work/ordersystem.service" >"$work/out" 2>&1 || [[ -s "$work/out" ]]; then
  echo "verify_unit: FAIL: systemd-analyze verify:" >&2
  cat "$work/out" >&2
  exit 1
fi
echo "verify_unit: PASS"
