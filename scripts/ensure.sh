#!/bin/sh
# Runs before every npm script that drives the lab, so that `sudo npm test` or
# `sudo npm run lab:up` works on a fresh clone: system packages, node modules
# and the TypeScript build are brought up to date here. It says what it does
# on stderr and stays silent (and well under 100 ms) when nothing is needed.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'kube-netlab: %s\n' "$*" >&2; }

# Several of these live in sbin, which sudo and non-root shells may leave off
# PATH; without this a provisioned box would look unprovisioned.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export PATH

for cmd in ip bridge ping curl tcpdump iptables-restore iptables-save nft nsenter unshare conntrack sysctl; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      say "'$cmd' is missing; installing system packages needs root:"
      say "  run 'sudo npm run ...' or 'sudo scripts/provision.sh'"
      exit 3
    fi
    say "'$cmd' is missing: installing system packages (scripts/provision.sh)"
    if ! bash scripts/provision.sh; then
      say "scripts/provision.sh failed; see above"
      exit 1
    fi
    break
  fi
done

newer() { [ -n "$(find "$1" -newer "$2" -print -quit 2>/dev/null)" ]; }

# npm ci writes node_modules/.package-lock.json last, so it is older than
# package-lock.json exactly when the lock file changed since the install.
if [ ! -f node_modules/.package-lock.json ] ||
  { [ -f package-lock.json ] && newer package-lock.json node_modules/.package-lock.json; }; then
  if [ -f package-lock.json ]; then
    say "installing node modules (npm ci)"
    set -- npm ci --no-audit --no-fund --loglevel=error
  else
    say "installing node modules (npm install)"
    set -- npm install --no-audit --no-fund --loglevel=error
  fi
  # stdout belongs to the command that follows ensure.sh (e.g. `-o json`).
  if ! "$@" >&2; then
    say "'$*' failed; see above"
    exit 1
  fi
fi

# `find src` also sees src/ and its subdirectories, whose mtimes change when a
# file is added, removed or renamed, so deletions trigger a rebuild too.
if [ ! -f dist/.build-stamp ] || newer tsconfig.json dist/.build-stamp || newer scripts/bundle.mjs dist/.build-stamp || newer src dist/.build-stamp; then
  say "building (tsc, then one file per process: scripts/bundle.mjs)"
  mkdir -p dist
  # Stamp the start of the build, not its end, so that a source edited while
  # tsc runs is rebuilt next time.
  touch dist/.build-stamp.next
  if ! npm run build --silent >&2; then
    rm -f dist/.build-stamp.next
    say "the TypeScript build failed (npm run build); see the errors above"
    exit 1
  fi
  mv -f dist/.build-stamp.next dist/.build-stamp
fi
