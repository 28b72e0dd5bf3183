#!/usr/bin/env bash
# Installs the system packages kube-netlab needs on Debian 12 / Ubuntu 22.04+.
# Idempotent and quiet when everything is present: it only touches apt when
# a command is missing. Called by `npm run lab:up`/`npm test` (through
# scripts/ensure.sh), the Vagrantfile and .ci/run.
set -euo pipefail

say() { echo "provision: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "must run as root (it installs packages): sudo scripts/provision.sh"
  exit 3
fi

# command -> Debian package that provides it
declare -A PACKAGE_OF=(
  [ip]=iproute2 [bridge]=iproute2
  [ping]=iputils-ping
  [curl]=curl
  [tcpdump]=tcpdump
  [iptables-restore]=iptables [iptables-save]=iptables
  [nft]=nftables
  [conntrack]=conntrack
  [sysctl]=procps [ps]=procps
  [killall]=psmisc
  [nsenter]=util-linux [unshare]=util-linux [setpriv]=util-linux
  [iperf3]=iperf3
  [dig]=dnsutils
  [modprobe]=kmod
  [ethtool]=ethtool
  [nginx]=nginx-light
  [dnsmasq]=dnsmasq-base
  [openssl]=openssl
  [wrk]=wrk
  [hyperfine]=hyperfine
)

missing=()
for cmd in "${!PACKAGE_OF[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$cmd]}")
done

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
need_node=0
if ! command -v node >/dev/null 2>&1 || [ "$(node_major)" -lt 20 ]; then need_node=1; fi

if [ "${#missing[@]}" -eq 0 ] && [ "$need_node" -eq 0 ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
say "apt-get update"
apt-get update -qq

if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
  say "installing ${packages[*]}"
  # The lab runs its own nginx and dnsmasq inside namespaces: keep the
  # packages' system services from starting on the host.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  trap '[ "$created_policy" -eq 1 ] && rm -f "$policy"' EXIT
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now nginx.service >/dev/null 2>&1 || true
  fi
fi

if [ "$need_node" -eq 1 ]; then
  candidate=$(apt-cache policy nodejs | awk '/Candidate:/ {print $2}')
  if [ -n "$candidate" ] && [ "${candidate%%.*}" != "(none)" ] && [ "${candidate%%.*}" -ge 20 ] 2>/dev/null; then
    say "installing nodejs $candidate from the configured apt sources"
    apt-get install -y -qq --no-install-recommends nodejs >/dev/null
  else
    # Debian 12 and Ubuntu 22.04 ship older Node.js; NodeSource's apt
    # repository has Node 20. This path needs internet access, as a
    # Vagrant VM has.
    say "installing Node.js 20 from the NodeSource apt repository"
    apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg >/dev/null
    install -d -m 0755 /etc/apt/keyrings
    curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
    echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main" >/etc/apt/sources.list.d/nodesource.list
    apt-get update -qq
    apt-get install -y -qq nodejs >/dev/null
  fi
fi
say "done"
