#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, when missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

missing=()
for pkg in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done

go_bin=$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)
if ! [ -x "$go_bin" ]; then
	echo "deps: Go is not installed; reproof needs Go 1.26 or later (see go.mod)" >&2
	exit 1
fi

# The fixture images are built from .deb files that `apt-get download`
# fetches: it needs the package lists even when nothing is missing.
lists_empty() { ! compgen -G '/var/lib/apt/lists/*Packages*' >/dev/null; }

if [ ${#missing[@]} -eq 0 ]; then
	if lists_empty && [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq
	fi
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
