#!/usr/bin/env bash
# Installs Debian packages after one apt-get update (needs root): apt-install.sh PACKAGE...
set -euo pipefail
[ $# -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "apt-install.sh: missing Debian packages: $* (installing them needs root)" >&2
  exit 1
fi
echo "apt-install.sh: installing $* (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq "$@" >&2
