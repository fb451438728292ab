#!/usr/bin/env bash
# The Debian package as a user installs it: cpack -G DEB in the build folder, check its contents
# and control data, dpkg -i on this machine, systemd-analyze verify the installed unit, run the
# installed binary with the installed config as the ordersystem user, call the API, check that an
# upgrade keeps an edited conffile, then remove (data and config stay) and purge (both go).
# Needs root and dpkg (CI runs on a throwaway machine); exits 77 (ctest: skipped) otherwise.
# Always purges the package and stops the service it started, also on failure.
#   package_test.sh <build dir> <source dir>
set -euo pipefail

build=${1:?build dir}
source=${2:?source dir}
SKIP=77

log() { echo "package_test: [${SECONDS}s] $*"; }
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || { log "skipped: needs root (dpkg -i)"; exit $SKIP; }
for tool in dpkg dpkg-deb cpack runuser setpriv curl python3; do
  command -v "$tool" >/dev/null || { log "skipped: $tool missing (packaging/install-deps.sh --test)"; exit $SKIP; }
done
if dpkg-query -W -f='${Status}' ordersystem 2>/dev/null | grep -q "ok installed"; then
  fail "a package named ordersystem is already installed here; this test would replace it (dpkg --purge ordersystem first)"
fi

work=$(mktemp -d /tmp/ordersystem-package-test.XXXXXX)
service_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$service_pid" ]] && kill -0 "$service_pid" 2>/dev/null; then
    kill -TERM "$service_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$service_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$service_pid" 2>/dev/null || true
  fi
  if dpkg-query -W -f='${Status}' ordersystem 2>/dev/null | grep -qv "not-installed"; then
    dpkg --purge ordersystem >"$work/purge-cleanup.log" 2>&1 || cat "$work/purge-cleanup.log" >&2
  fi
  if [[ $rc -ne 0 && -f "$work/service.log" ]]; then
    echo "---- service output ----" >&2
    tail -n 50 "$work/service.log" >&2
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# ---- build the package once --------------------------------------------------------------------
log "cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/cpack" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack failed"; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
deb="$work/cpack/ordersystem_${version}_amd64.deb"
[[ -f "$deb" ]] || fail "expected $deb, cpack made: $(ls "$work/cpack")"
log "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

# ---- contents and control data -----------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/files"
for f in /usr/bin/ordersystem /usr/lib/ordersystem/plugins/orders.so /usr/lib/ordersystem/plugins/transport-inmemory.so \
         /usr/lib/ordersystem/plugins/notifications.so /usr/lib/ordersystem/plugins/analytics.so \
         /etc/ordersystem/ordersystem.ini /lib/systemd/system/ordersystem.service \
         /usr/share/doc/ordersystem/README.md /usr/share/doc/ordersystem/copyright /usr/share/doc/ordersystem/examples/redis.ini \
         /usr/share/doc/ordersystem/examples/nats.ini /usr/share/ordersystem/openapi.json \
         /usr/share/ordersystem/swagger-ui/index.html /usr/share/ordersystem/swagger-ui/swagger-ui-bundle.js \
         /usr/share/ordersystem/console/index.html; do
  grep -qx "$f" "$work/files" || fail "package lacks $f"
done
if grep -q 'fixture' "$work/files"; then fail "test fixture plugins leaked into the package"; fi
depends=$(dpkg-deb -f "$deb" Depends)
log "Depends: $depends"
for d in adduser libpoco libc6 libstdc++6 libspdlog libsqlite3; do
  [[ "$depends" == *"$d"* ]] || fail "Depends lacks $d (shlibdeps): $depends"
done
[[ $(dpkg-deb -f "$deb" Architecture) == amd64 ]] || fail "Architecture is not amd64"
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/ordersystem/ordersystem.ini "$work/control/conffiles" || fail "ordersystem.ini is not a conffile"
for s in postinst prerm postrm; do [[ -x "$work/control/$s" ]] || fail "$s missing or not executable"; done

# ---- install ------------------------------------------------------------------------------------
log "dpkg -i"
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "dpkg -i failed"; }
getent passwd ordersystem >/dev/null || fail "postinst did not create the ordersystem user"
[[ $(getent passwd ordersystem | cut -d: -f7) == /usr/sbin/nologin ]] || fail "ordersystem user has a login shell"
[[ $(stat -c '%U:%G %a' /var/lib/ordersystem) == "ordersystem:ordersystem 750" ]] ||
  fail "/var/lib/ordersystem is $(stat -c '%U:%G %a' /var/lib/ordersystem)"
[[ $(stat -c '%U:%G %a' /etc/ordersystem/ordersystem.ini) == "root:ordersystem 640" ]] ||
  fail "/etc/ordersystem/ordersystem.ini is $(stat -c '%U:%G %a' /etc/ordersystem/ordersystem.ini), want root:ordersystem 640"
[[ -L /etc/systemd/system/multi-user.target.wants/ordersystem.service ]] || fail "the unit is not enabled"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/ordersystem.service >"$work/verify.log" 2>&1 ||
    { cat "$work/verify.log" >&2; fail "systemd-analyze verify failed"; }
  if [[ -s "$work/verify.log" ]]; then cat "$work/verify.log" >&2; fail "systemd-analyze verify printed warnings"; fi
  log "systemd-analyze verify: clean"
else
  log "systemd-analyze not installed: unit not verified"
fi
for example in redis nats; do
  runuser -u ordersystem -- /usr/bin/ordersystem --check-config \
    --config=/usr/share/doc/ordersystem/examples/$example.ini >"$work/check-$example.log" 2>&1 ||
    { cat "$work/check-$example.log" >&2; fail "example $example.ini does not pass --check-config"; }
done

# ---- run the installed service as its user ------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log "starting /usr/bin/ordersystem as ordersystem on port $port"
# setpriv execs the service itself (runuser would stay in between and turn SIGTERM into 143).
(cd /var/lib/ordersystem && exec setpriv --reuid=ordersystem --regid=ordersystem --init-groups /usr/bin/ordersystem \
   --config=/etc/ordersystem/ordersystem.ini --define=http.port="$port" --define=http.host=127.0.0.1) \
   >"$work/service.log" 2>&1 &
service_pid=$!
base="http://127.0.0.1:$port"
ready=""
for _ in $(seq 1 300); do
  if curl -fsS -m 2 "$base/health/ready" >/dev/null 2>&1; then ready=yes; break; fi
  kill -0 "$service_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n "$ready" ]] || fail "the installed service did not become ready"
code=$(curl -sS -m 10 -o "$work/created.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"customerName":"Package Test","items":[{"productName":"Deb","quantity":2,"price":9.99}]}' "$base/api/orders")
[[ $code == 201 ]] || fail "POST /api/orders answered $code: $(cat "$work/created.json")"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["orderId"])' "$work/created.json")
# Fetch to a file first: with pipefail, grep -q closing the pipe early would fail curl.
get() { curl -fsS -m 10 -o "$work/body" "$base$1" || fail "GET $1 failed"; }
get "/api/orders/$id"; grep -q '"totalAmount":19.98' "$work/body" || fail "GET /api/orders/$id lacks the order"
get /openapi.json; grep -q '"openapi"' "$work/body" || fail "/openapi.json not served from /usr/share/ordersystem"
get /swagger; grep -q 'swagger-ui-bundle.js' "$work/body" || fail "/swagger not served"
get /swagger/swagger-ui-bundle.js
get /; script=$(grep -o '/console/index-[A-Za-z0-9_-]*\.js' "$work/body" | head -1)
[[ -n "$script" ]] || fail "/ does not serve the web console"
get "$script"
get /metrics; grep -q '^ordersystem_build_info{version="'"$version"'"} 1' "$work/body" || fail "/metrics lacks build_info"
owner=$(stat -c %U /var/lib/ordersystem/events.db 2>/dev/null || echo none)
[[ $owner == ordersystem ]] || fail "data files belong to '$owner', not ordersystem: $(ls -l /var/lib/ordersystem)"
kill -TERM "$service_pid"
rc=0
wait "$service_pid" || rc=$?
service_pid=""
[[ $rc -eq 0 ]] || fail "the service exited $rc on SIGTERM"
grep -q "started: node node-1 mode standalone" "$work/service.log" || fail "no start line in the log"
log "served as the ordersystem user, stopped cleanly"

# ---- upgrade keeps the admin's edits --------------------------------------------------------------
echo "; edited by the administrator" >>/etc/ordersystem/ordersystem.ini
dpkg -i "$deb" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log" >&2; fail "reinstall failed"; }
grep -q "edited by the administrator" /etc/ordersystem/ordersystem.ini || fail "reinstall overwrote the edited conffile"

# ---- remove keeps data and config, purge removes them ---------------------------------------------
dpkg -r ordersystem >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; fail "dpkg -r failed"; }
[[ ! -e /usr/bin/ordersystem ]] || fail "dpkg -r left /usr/bin/ordersystem"
[[ -f /etc/ordersystem/ordersystem.ini ]] || fail "dpkg -r removed the config"
[[ -f /var/lib/ordersystem/events.db ]] || fail "dpkg -r removed the data"
dpkg --purge ordersystem >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge failed"; }
[[ ! -e /etc/ordersystem ]] || fail "purge left /etc/ordersystem"
[[ ! -e /var/lib/ordersystem ]] || fail "purge left /var/lib/ordersystem"
[[ ! -e /etc/systemd/system/multi-user.target.wants/ordersystem.service ]] || fail "purge left the enable link"
log "PASS"
