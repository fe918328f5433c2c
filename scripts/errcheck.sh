#!/usr/bin/env bash
# make lint: no unchecked error in reproof's test code (_test.go files, and
# the test helpers in internal/testenv and fixtures/, but not the fixture
# commands), checked by errcheck with -blank (an error assigned to _ counts
# as unchecked).
#
# An ignore that is meant says why on the reported line:
#	cmd.Process.Kill() //nolint:errcheck // it may have exited already
# Functions that may always be ignored are in scripts/errcheck_excludes.txt.
# Files listed in scripts/errcheck_pending.txt are reported but do not fail.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
ERRCHECK=github.com/kisielk/errcheck@v1.30.0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOBIN=$tmp GOFLAGS=-mod=mod "$GO" install "$ERRCHECK"
rc=0
"$tmp/errcheck" -blank -exclude scripts/errcheck_excludes.txt ./... >"$tmp/all" || rc=$?
if [ "$rc" -gt 1 ]; then
	echo "errcheck: failed (exit $rc)" >&2
	exit "$rc"
fi

pending=()
if [ -f scripts/errcheck_pending.txt ]; then
	mapfile -t pending < <(grep -v -e '^#' -e '^$' scripts/errcheck_pending.txt)
fi
is_pending() {
	local p
	for p in "${pending[@]}"; do
		# shellcheck disable=SC2053 # a glob pattern
		[[ $1 == $p ]] && return 0
	done
	return 1
}

failed=0 tolerated=0
while IFS= read -r finding; do
	file=${finding%%:*}
	rest=${finding#*:}
	line=${rest%%:*}
	case $file in
	*_test.go | internal/testenv/*) ;;
	fixtures/cmd/* | fixtures/*/cmd/*) continue ;; # commands, not test helpers
	fixtures/*) ;;
	*) continue ;;
	esac
	if sed -n "${line}p" "$file" | grep -q '//nolint:errcheck // .'; then
		continue
	fi
	if is_pending "$file"; then
		tolerated=$((tolerated + 1))
		continue
	fi
	echo "$finding"
	failed=$((failed + 1))
done <"$tmp/all"

if [ "$tolerated" -gt 0 ]; then
	echo "errcheck: $tolerated unchecked errors tolerated in the files of scripts/errcheck_pending.txt" >&2
fi
if [ "$failed" -gt 0 ]; then
	echo "errcheck: $failed unchecked errors in test code: check them (t.Fatal naming what failed), or say why they may be ignored with //nolint:errcheck // reason" >&2
	exit 1
fi
