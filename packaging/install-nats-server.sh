#!/usr/bin/env bash
# Installs nats-server 2.10 or newer, as root, unless one is there. Debian 12's 2.9.10 serves a
# single server well, but in a three-server JetStream cluster a server that was paused or cut off
# during an election keeps a copy of the stream with holes (docs/faults.md). Debian 13's package,
# a static binary that needs only libc, installs on Debian 12 as it is: it is fetched with apt from
# Debian's archive through a private source list, so the system's apt sources stay as they are.
#   packaging/install-nats-server.sh
set -euo pipefail

version() { nats-server --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p'; }
recent_enough() {
  local v
  v=$(version)
  [[ -n $v ]] || return 1
  read -r major minor <<<"$v"
  ((major > 2 || (major == 2 && minor >= 10)))
}

if recent_enough; then
  echo "install-nats-server: $(nats-server --version) present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-nats-server: nats-server 2.10 or newer is missing; run this script as root" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/parts"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
  >"$tmp/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=$tmp/parts"
             -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives" -o "APT::Sandbox::User=root")
echo "install-nats-server: fetching Debian 13's nats-server"
apt-get "${apt_private[@]}" update -qq
(cd "$tmp" && apt-get "${apt_private[@]}" download nats-server >/dev/null)
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$tmp"/nats-server_*.deb >/dev/null
recent_enough || { echo "install-nats-server: nats-server is still $(nats-server --version 2>&1)" >&2; exit 1; }
echo "install-nats-server: $(nats-server --version) installed"
