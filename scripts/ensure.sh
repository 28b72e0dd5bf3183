#!/bin/sh
# Run before every npm script that uses the lab: installs what is missing
# (system packages, node modules, the build) and says what it does. Quiet
# and fast when nothing is needed.
set -eu
cd "$(dirname "$0")/.."

say() { echo "kube-netlab: $*" >&2; }

for cmd in ip bridge ping curl tcpdump iptables-restore nft nsenter unshare conntrack sysctl; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      say "'$cmd' is missing and installing it needs root: run 'sudo npm run ...' or 'sudo scripts/provision.sh'"
      exit 3
    fi
    say "'$cmd' is missing: installing system packages (scripts/provision.sh)"
    bash scripts/provision.sh
    break
  fi
done

newer() { [ -n "$(find "$1" -newer "$2" -print -quit 2>/dev/null)" ]; }

if [ ! -f node_modules/.package-lock.json ] || { [ -f package-lock.json ] && newer package-lock.json node_modules/.package-lock.json; }; then
  say "installing node modules"
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  else
    npm install --no-audit --no-fund --loglevel=error >&2
  fi
fi

if [ ! -f dist/.build-stamp ] || newer tsconfig.json dist/.build-stamp || newer src dist/.build-stamp; then
  say "building (tsc)"
  if ! npm run build --silent >&2; then
    say "the TypeScript build failed; see the errors above"
    exit 1
  fi
  touch dist/.build-stamp
fi
