#!/usr/bin/env bash
# bench/check.sh: `reproof check` side by side with Debian's reprotest on
# the fixture projects of fixtures/check (issue 17; run by `make bench`).
#
# TestCheckVersusReprotest (cmd/reproof/check_e2e_test.go) writes each
# project, then runs on it:
#   - reprotest --auto-build with its null server: the build on this host
#     (GNU tools, gcc) in a copy under /tmp, a control build and an
#     experiment with every variation, then one build per variation to
#     name the culprits;
#   - reproof check --vary all --runtime runc --jobs NCPU: the build in the fixture
#     toolchain image (busybox, tcc, libfaketime), a reference build and a
#     varied one, then the culprit search.
# For each: whether it finds the nondeterminism, the culprits it names,
# the wall time. The table replaces the section between the check markers
# in docs/BENCHMARKS.md. The test fails where reproof misses what
# reprotest finds, or names other culprits.
#
# reprotest varies everything but the user: its user_group variation fails
# on Debian 12 (it calls sudo with an option sudo 1.9 refuses).
#
# Environment: DOC (docs/BENCHMARKS.md). Needs root, runc, disorderfs,
# reprotest, faketime, diffoscope, gcc.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
doc=${DOC:-$repo/docs/BENCHMARKS.md}
begin_marker='<!-- check:begin -->'
end_marker='<!-- check:end -->'
go_bin=$(command -v go || echo /usr/local/go/bin/go)

rows=$(mktemp)
section=$(mktemp)
trap 'rm -f "$rows" "$section"' EXIT
echo "bench: reproof check vs reprotest on the fixtures of fixtures/check" >&2
(cd "$repo" && REPROOF_REQUIRE_RUNTIME=1 REPROOF_CHECK_BENCH="$rows" "$go_bin" test -count=1 -timeout 60m \
	-run '^TestCheckVersusReprotest$' -v ./cmd/reproof) | grep -E '^(=== RUN|--- |\s+check_e2e_test|ok|FAIL|PASS)' >&2 || status=$?
if [[ ! -s $rows ]]; then
	echo "bench: TestCheckVersusReprotest wrote no figures" >&2
	exit 1
fi

reprotest_version=$(dpkg-query -W -f '${Version}' reprotest 2>/dev/null || echo unknown)
python3 - "$rows" "$reprotest_version" "$(nproc)" "$(date -u +%Y-%m-%d)" >"$section" <<'EOF'
import json, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
version, cpus, day = sys.argv[2], sys.argv[3], sys.argv[4]

def names(xs):
    return ", ".join(xs) if xs else "—"

def unvaried(r, want):
    # reprotest cannot vary the user here (see the top of this script).
    return want == ["user"] and "-user_group" in r["reprotest_varied"]

def found(f, want):
    if not want:
        return "no (right)" if not f else "**yes (false alarm)**"
    return "yes" if f else "**no**"

def named(got, want):
    if not want:
        return "—"
    if got == want:
        return names(got) + " ✓"
    if not got:
        return "none"
    if set(want) <= set(got):
        return names(want) + " ✓ + " + names([g for g in got if g not in want])
    return "**" + names(got) + "**"

print("<!-- check:begin -->")
print("## check vs reprotest")
print()
print("`bash bench/check.sh` — %s CPUs (shared), %s, reprotest %s. For each fixture project" % (cpus, day, version))
print("of `fixtures/check` (reproducible except for the variation it is named after), reprotest")
print("`--auto-build` with its null server (the build on the host, GNU tools and gcc, variations:")
print("`%s`, one build at a time) and `reproof check --vary all --runtime runc --jobs %d`" % (rows[0]["reprotest_varied"], rows[0]["reproof_jobs"]))
print("(the build in the fixture toolchain image, a fresh container each). *Found*: says the")
print("build is not reproducible; *culprits*: the")
print("variations it names (reprotest's names mapped to reproof's; ✓: the fixture's culprits, + what")
print("else was blamed); times are wall clock. reprotest's user_group variation fails on this host")
print("(reprotest 0.7.23 calls sudo with an option sudo 1.9 refuses), so it runs without it.")
print()
print("| fixture | reprotest found | reprotest culprits | reprotest time | reproof found | reproof culprits | reproof builds | reproof time |")
print("|---|---|---|---|---|---|---|---|")
tr = tp = 0.0
for r in rows:
    want = r["want"] or []
    tr += r["reprotest_seconds"]; tp += r["reproof_seconds"]
    print("| %s | %s | %s | %.1f s | %s | %s | %d | %.1f s |" % (
        r["fixture"], "not varied" if unvaried(r, want) else found(r["reprotest_found"], want),
        "—" if unvaried(r, want) else named(r["reprotest_culprits"] or [], want),
        r["reprotest_seconds"], found(r["reproof_found"], want), named(r["reproof_culprits"] or [], want),
        r["reproof_builds"], r["reproof_seconds"]))
print("| **total** | | | **%.0f s** | | | | **%.0f s** |" % (tr, tp))
print()
missed = [r["fixture"] for r in rows if r["reprotest_found"] and not r["reproof_found"]]
other = [r["fixture"] for r in rows if set(r["reprotest_culprits"] or []) & set(r["want"] or []) and (r["reproof_culprits"] or []) != r["want"]]
faster = sum(1 for r in rows if r["reproof_seconds"] < r["reprotest_seconds"])
print("reproof finds what reprotest finds: %s. Names the culprits wherever reprotest names one: %s." % (
    "yes" if not missed else "**no** (" + ", ".join(missed) + ")",
    "yes" if not other else "**no** (" + ", ".join(other) + ")"))
print("reproof is faster on %d of %d fixtures; in total %.0f s against reprotest's %.0f s (%.2fx)." % (faster, len(rows), tp, tr, tr / tp if tp else 0))
print("The machine is shared with other work, so times vary from run to run (two runs of this")
print("table a few minutes apart: reprotest 100 s and 164 s in total).")
print("<!-- check:end -->")
EOF
replace_section "$doc" "$begin_marker" "$end_marker" "$section"
echo "bench: wrote the check section of $doc" >&2
exit "${status:-0}"
