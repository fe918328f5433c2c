#!/usr/bin/env bash
# bench/diff.sh: the diff benchmark of issue 3 (run by `make bench`).
#
# Workload: the Go source tree, $(go env GOROOT)/src, packed twice as
# tar.gz. B differs from A in one file's content (a line appended to
# src/fmt/print.go), the mtimes of 500 files (set to 2020-01-01), and the
# entry order (reversed). Side by side on the same two files:
#   reproof diff --format none --json r.json A B   (median of RUNS runs)
#   diffoscope --json d.json A B                    (DIFFOSCOPE_RUNS runs)
# recording wall time, peak RSS (GNU time's %M), the JSON report sizes, and
# checking that our JSON names every differing entry (the content change,
# the 500 mtimes, the order). The figures replace the section between the
# diff markers in docs/BENCHMARKS.md.
#
# Environment: RUNS (5), DIFFOSCOPE_RUNS (1), DOC (docs/BENCHMARKS.md).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
doc=${DOC:-$repo/docs/BENCHMARKS.md}
runs=${RUNS:-5}
druns=${DIFFOSCOPE_RUNS:-1}
begin_marker='<!-- diff:begin -->'
end_marker='<!-- diff:end -->'

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
command -v go >/dev/null || die "go not found in PATH"
command -v diffoscope >/dev/null || die "diffoscope is needed (apt-get install diffoscope)"
[[ -x /usr/bin/time ]] || die "GNU time is needed at /usr/bin/time (apt-get install time)"

work=$(mktemp -d "${TMPDIR:-/tmp}/reproof-bench-diff.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
load_start=$(cut -d' ' -f1 /proc/loadavg)

say "building reproof"
(cd "$repo" && go build -o "$work/reproof" ./cmd/reproof)
src=$(go env GOROOT)/src

say "making the workload from $src"
mkdir -p "$work/a" "$work/b"
cp -a "$src" "$work/a/src"
cp -a "$src" "$work/b/src"
echo '// changed by bench/diff.sh' >>"$work/b/src/fmt/print.go"
(cd "$work/b" && find src -type f ! -path src/fmt/print.go | LC_ALL=C sort | awk 'NR <= 500' |
	xargs -d '\n' touch -h -d '2020-01-01 00:00:00 UTC')
export TZ=UTC LC_ALL=C
tar -C "$work/a" --sort=name -czf "$work/A.tar.gz" src
(cd "$work/b" && find src | LC_ALL=C sort -r >"$work/list")
tar -C "$work/b" --no-recursion -T "$work/list" -czf "$work/B.tar.gz"
entries=$(tar -tzf "$work/A.tar.gz" | wc -l)
tree_bytes=$(find "$src" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
rm -rf "$work/a" "$work/b"

# timed OUT CMD...: appends "wall maxrss_kib" to OUT; exit 0 or 1 is fine.
timed() {
	local out=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/time.tmp" "$@" >/dev/null 2>"$work/stderr.tmp" || {
		rc=$?
		[[ $rc -eq 1 ]] || { cat "$work/stderr.tmp" >&2; die "$1 exited $rc"; }
	}
	grep -E '^[0-9.]+ [0-9]+$' "$work/time.tmp" >>"$out"
}
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

say "reproof diff, $runs runs"
for _ in $(seq "$runs"); do
	timed "$work/ours.times" "$work/reproof" diff --format none --json "$work/ours.json" "$work/A.tar.gz" "$work/B.tar.gz"
done
say "diffoscope, $druns run(s) (about a minute each)"
for _ in $(seq "$druns"); do
	timed "$work/theirs.times" diffoscope --json "$work/theirs.json" "$work/A.tar.gz" "$work/B.tar.gz"
done
"$work/reproof" diff "$work/A.tar.gz" "$work/B.tar.gz" >"$work/ours.txt" || true
diffoscope --text "$work/theirs.txt" "$work/A.tar.gz" "$work/B.tar.gz" >/dev/null 2>&1 || true

ours_wall=$(awk '{print $1}' "$work/ours.times" | median)
ours_rss=$(awk '{print $2}' "$work/ours.times" | sort -n | tail -1)
theirs_wall=$(awk '{print $1}' "$work/theirs.times" | median)
theirs_rss=$(awk '{print $2}' "$work/theirs.times" | sort -n | tail -1)
ours_json=$(stat -c %s "$work/ours.json")
theirs_json=$(stat -c %s "$work/theirs.json")
ours_txt=$(stat -c %s "$work/ours.txt")
theirs_txt=$(stat -c %s "$work/theirs.txt")

# Our JSON must name every differing entry: the content change, 500 + 1
# mtimes (print.go's own mtime changed with its content), the order.
check=$(python3 - "$work/ours.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = [dict(x, path=p) for x in r["differences"] for p in x["paths"]]
content = sorted(x["path"] for x in d if x["kind"] == "content")
mtime = {x["path"] for x in d if x["kind"] == "mtime"}
order = [x["detail"] for x in d if x["kind"] == "order"]
ok = content == ["src/fmt/print.go"] and len(mtime) == 501 and "src/fmt/print.go" in mtime and len(order) == 1
print("yes" if ok else "NO: content=%s mtime=%d order=%s" % (content, len(mtime), order))
PY
)
[[ $check == yes ]] || die "our JSON does not name every differing entry: $check"

speedup=$(awk -v a="$theirs_wall" -v b="$ours_wall" 'BEGIN {printf "%.0f", a/b}')
json_pct=$(awk -v a="$ours_json" -v b="$theirs_json" 'BEGIN {printf "%.2f", 100*a/b}')
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k/1024}'; }
pass() { if awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; then echo yes; else echo "**no**"; fi; }

section=$work/section.md
{
	echo "$begin_marker"
	echo "## reproof diff vs diffoscope"
	echo
	echo "Workload: the Go source tree ($(go version | awk '{print $3}'), $(printf "%'d" "$entries") entries, $((tree_bytes / 1000000)) MB) packed twice"
	echo "as tar.gz ($(($(stat -c %s "$work/A.tar.gz") / 1000000)) MB each): one file's content changed, 500 mtimes changed, entry order reversed."
	echo "Machine: $(nproc) cores, $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo);"
	echo "load average at the start: $load_start. diffoscope $(diffoscope --version | awk '{print $2}'). Measured $(date -u +%Y-%m-%d)."
	echo
	echo "| | reproof diff | diffoscope | ratio | target | met |"
	echo "|---|---|---|---|---|---|"
	echo "| wall time (median) | $ours_wall s | $theirs_wall s | ${speedup}× faster | ≥ 60× | $(pass 60 "$speedup") |"
	echo "| peak RSS | $(mib "$ours_rss") | $(mib "$theirs_rss") | | < 100 MB | $(pass "$ours_rss" 97656) |"
	echo "| JSON report | $(printf "%'d" "$ours_json") bytes | $(printf "%'d" "$theirs_json") bytes | ${json_pct} % | < 1 % | $(pass "$json_pct" 1) |"
	echo "| text report | $(printf "%'d" "$ours_txt") bytes | $(printf "%'d" "$theirs_txt") bytes | | | |"
	echo
	echo "Our JSON names every differing entry (checked by the script): the content"
	echo "change with its diff, all 501 mtime changes, and the order as one difference."
	echo "reproof runs: $runs; diffoscope runs: $druns. Regenerate with \`bash bench/diff.sh\`."
	echo "$end_marker"
} >"$section"

replace_section "$doc" "$begin_marker" "$end_marker" "$section"
cat "$section"
