#!/usr/bin/env bash
# make demo: reproof verify on a nimbus-eth2-shaped release, as published and
# with one byte of its binary changed. examples/demo/main.go starts what is
# missing (a Docker engine, a registry on 127.0.0.1), builds the base images
# from Debian packages, builds and publishes the release, runs the verifier
# and leaves its reports in demo-output/ (or $DEMO_OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
reproof=$(realpath "${1:-bin/reproof}")
go_bin=$(command -v go || echo /usr/local/go/bin/go)
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: the demo starts a Docker engine and builds as another user: run it as root" >&2
	exit 1
fi
exec "$go_bin" run ./examples/demo --reproof "$reproof" --out "${DEMO_OUT:-demo-output}"
