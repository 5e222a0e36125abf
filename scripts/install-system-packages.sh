#!/usr/bin/env bash
# Installs the Debian packages the local cloud and the tests need when any is missing: nginx,
# PostgreSQL, unzip, openssl, shellcheck for the sanity tests, wrk for the benchmarks, and
# Debian's Python with venv (the local platform builds the servers' virtualenvs from a Python
# every user can run, as the servers run as their image's unprivileged user).
# Needs root (or sudo) and apt-get; does nothing when all are there.
set -euo pipefail

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
/usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing system packages: ${missing[*]}; install them with your package manager" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged services; the local cloud runs its own instances instead.
for service in nginx postgresql; do
    if command -v service >/dev/null 2>&1; then
        $sudo service "$service" stop >/dev/null 2>&1 || true
    fi
done
