#!/usr/bin/env bash
# Installs the system commands kube-netlab drives, on Debian 12 or Ubuntu
# 22.04+. scripts/ensure.sh, the Vagrantfile and .ci/run all call it, so it
# must cost nothing on a provisioned box: when every command is present it
# returns before touching apt at all (no `apt-get update` either).
set -euo pipefail

say() { printf 'provision: %s\n' "$*" >&2; }

# sudo, cron and non-login shells often leave the sbin directories off PATH;
# ip, iptables-restore, conntrack and nginx live there, and a command that is
# installed but not found would send us to apt for nothing.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export PATH

# command -> apt package. "a|b" means: the first of a, b that the configured
# apt sources offer. nginx-light is the smallest nginx on Debian 12 and Ubuntu
# 22.04, but newer releases fold the flavours back into plain `nginx`.
# dnsmasq-base is the bare binary: the lab runs dnsmasq inside namespaces
# and must not get the `dnsmasq` package's host service.
declare -A PACKAGE_OF=(
  [ip]=iproute2
  [bridge]=iproute2
  [ping]=iputils-ping
  [curl]=curl
  [tcpdump]=tcpdump
  [iptables]=iptables
  [iptables-restore]=iptables
  [iptables-save]=iptables
  [nft]=nftables
  [conntrack]=conntrack
  [sysctl]=procps
  [ps]=procps
  [killall]=psmisc
  [nsenter]=util-linux
  [unshare]=util-linux
  [setpriv]=util-linux
  [iperf3]=iperf3
  [dig]='dnsutils|bind9-dnsutils'
  [modprobe]=kmod
  [ethtool]=ethtool
  [socat]=socat
  [nginx]='nginx-light|nginx'
  [dnsmasq]=dnsmasq-base
  [openssl]=openssl
  [wrk]=wrk
  [hyperfine]=hyperfine
  [dnsperf]=dnsperf
  [nslookup]="dnsutils|bind9-dnsutils"
)

# Bash's `command -v` falls back to a non-executable file of that name, where
# exec (and ensure.sh's POSIX sh) would not; look for an executable instead.
# Plain tests, no subshells: this runs on every `npm test`.
IFS=: read -ra path_dirs <<<"$PATH"
have() {
  local dir
  for dir in "${path_dirs[@]}"; do
    if [ -f "${dir:-.}/$1" ] && [ -x "${dir:-.}/$1" ]; then return 0; fi
  done
  return 1
}

missing_cmds=()
for cmd in "${!PACKAGE_OF[@]}"; do
  have "$cmd" || missing_cmds+=("$cmd")
done

node_major() {
  local v
  v=$(node --version 2>/dev/null) || { echo 0; return; }
  v=${v#v}
  echo "${v%%.*}"
}
need_node=0
if ! have node || ! have npm || [ "$(node_major)" -lt 20 ]; then
  need_node=1
fi

sorted() { printf '%s\n' "$@" | sort -u | paste -sd ' ' -; }

if [ "${#missing_cmds[@]}" -eq 0 ] && [ "$need_node" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  [ "${#missing_cmds[@]}" -gt 0 ] && say "missing: $(sorted "${missing_cmds[@]}")"
  [ "$need_node" -eq 1 ] && say "missing: Node.js >= 20 with npm"
  say "installing them needs root: run 'sudo scripts/provision.sh'"
  exit 3
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh cloud or Vagrant image often runs unattended-upgrades at first boot;
# wait for its dpkg lock instead of failing.
APT_OPTS=(-o DPkg::Lock::Timeout=300)

# apt and dpkg are chatty; keep their output out of `npm test` unless they fail.
quietly() {
  local log status=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    rm -f "$log"
    say "failed (exit $status): $*"
    exit "$status"
  fi
  rm -f "$log"
}

candidate_of() {
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }'
}

has_candidate() {
  local c
  c=$(candidate_of "$1")
  [ -n "$c" ] && [ "$c" != "(none)" ]
}

say "apt-get update"
quietly apt-get "${APT_OPTS[@]}" update -q

policy=/usr/sbin/policy-rc.d
created_policy=0
remove_policy() {
  if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap remove_policy EXIT

if [ "${#missing_cmds[@]}" -gt 0 ]; then
  packages=()
  unavailable=()
  specs=()
  for c in "${missing_cmds[@]}"; do specs+=("${PACKAGE_OF[$c]}"); done
  for spec in $(sorted "${specs[@]}"); do
    chosen=
    IFS='|' read -ra alternatives <<<"$spec"
    for pkg in "${alternatives[@]}"; do
      if has_candidate "$pkg"; then chosen=$pkg; break; fi
    done
    if [ -n "$chosen" ]; then packages+=("$chosen"); else unavailable+=("${spec//|/ or }"); fi
  done
  if [ "${#unavailable[@]}" -gt 0 ]; then
    say "no apt source offers: ${unavailable[*]} (on Ubuntu, enable the 'universe' component)"
    exit 1
  fi

  say "missing: $(sorted "${missing_cmds[@]}")"
  say "installing ${packages[*]}"
  # The lab starts its own nginx inside namespaces; the package's host service
  # would hold port 80 on the host and outlive every lab. invoke-rc.d honours
  # policy-rc.d (exit 101 = do not start), which covers systemd and sysvinit.
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    created_policy=1
  fi
  quietly apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends "${packages[@]}"
  remove_policy
  created_policy=0

  for pkg in "${packages[@]}"; do
    case $pkg in
      nginx*)
        # policy-rc.d stops the start, not the enablement: without this the
        # host nginx would come up at the next boot.
        if have systemctl; then
          if [ -d /run/systemd/system ]; then
            systemctl disable --now nginx.service >/dev/null 2>&1 || true
          else
            systemctl disable nginx.service >/dev/null 2>&1 || true
          fi
          say "disabled the host nginx.service (the lab runs its own nginx)"
        fi
        ;;
    esac
  done
fi

if [ "$need_node" -eq 1 ]; then
  candidate=$(candidate_of nodejs)
  version=${candidate#*:}
  major=${version%%.*}
  case $major in '' | *[!0-9]*) major=0 ;; esac
  if [ "$major" -ge 20 ]; then
    say "installing nodejs $candidate and npm from the configured apt sources"
    quietly apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends nodejs
    # Debian's own nodejs ships without npm; NodeSource's includes it.
    if ! have npm; then
      quietly apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends npm
    fi
  else
    # Debian 12 (Node 18) and Ubuntu 22.04 (Node 12) ship an older Node.js, so
    # Node 20 comes from NodeSource's apt repository. This path downloads from
    # deb.nodesource.com and needs internet access, as a Vagrant VM has; a box
    # limited to the distribution's mirrors needs a nodejs >= 20 candidate.
    say "installing Node.js 20 from the NodeSource apt repository"
    quietly apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends ca-certificates curl gnupg
    install -d -m 0755 /etc/apt/keyrings
    key_url=https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key
    if ! key=$(curl -fsSL --retry 2 --connect-timeout 20 "$key_url"); then
      say "could not download $key_url; installing Node.js 20 this way needs internet access"
      exit 1
    fi
    printf '%s\n' "$key" | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
    chmod 0644 /etc/apt/keyrings/nodesource.gpg
    echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main" \
      >/etc/apt/sources.list.d/nodesource.list
    quietly apt-get "${APT_OPTS[@]}" update -q
    quietly apt-get "${APT_OPTS[@]}" install -y -q nodejs
  fi
  hash -r
  if [ "$(node_major)" -lt 20 ]; then
    say "node is still $(node --version 2>/dev/null || echo missing) after the install; kube-netlab needs >= 20"
    exit 1
  fi
fi

say "done"
