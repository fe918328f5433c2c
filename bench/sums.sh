#!/usr/bin/env bash
# bench/sums.sh: the hashing benchmark of issue 5 (run by `make bench`).
#
# Side by side, the page cache warm, median of RUNS runs each under GNU time
# (wall seconds, user+system CPU seconds, peak RSS), the tools run in turn:
#   1. one file of 1 GiB:  sha256sum FILE   vs  reproof sums FILE
#      (target: reproof takes at most a third of sha256sum's time);
#   2. 64 files of 16 MiB: sha256sum FILES  vs  reproof sums FILES, and
#      reproof sums --jobs 1 FILES, to show what hashing on every core adds.
# The data is incompressible and the same on every run: AES-256-CTR
# keystream from a fixed passphrase (openssl). Both tools must print the
# same lines. The figures replace the section between the sums markers in
# docs/BENCHMARKS.md.
#
# Environment: RUNS (5), SIZE_MIB (1024), FILES (64), DOC (docs/BENCHMARKS.md).
# Needs go, openssl, coreutils and GNU time (/usr/bin/time); about a minute
# on 2 CPUs and 2 GiB of temporary disk.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
doc=${DOC:-$repo/docs/BENCHMARKS.md}
runs=${RUNS:-5}
size_mib=${SIZE_MIB:-1024}
nfiles=${FILES:-64}
target=0.33
begin_marker='<!-- sums:begin -->'
end_marker='<!-- sums:end -->'

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
command -v go >/dev/null || die "go not found in PATH"
command -v openssl >/dev/null || die "openssl is needed (apt-get install openssl)"
command -v sha256sum >/dev/null || die "sha256sum is needed (apt-get install coreutils)"
[[ -x /usr/bin/time ]] || die "GNU time is needed at /usr/bin/time (apt-get install time)"
((size_mib % nfiles == 0)) || die "SIZE_MIB ($size_mib) must be a multiple of FILES ($nfiles)"

work=$(mktemp -d "${TMPDIR:-/tmp}/reproof-bench-sums.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
load_start=$(cut -d' ' -f1 /proc/loadavg)

say "building reproof"
(cd "$repo" && go build -o "$work/reproof" ./cmd/reproof)

say "writing $size_mib MiB of AES-CTR keystream"
# openssl dies of SIGPIPE when head has enough: that is the plan.
{ openssl enc -aes-256-ctr -pass pass:reproof-bench-sums -nosalt -pbkdf2 -in /dev/zero 2>/dev/null || true; } |
	head -c "$((size_mib << 20))" >"$work/big.bin"
[[ $(stat -c %s "$work/big.bin") -eq $((size_mib << 20)) ]] || die "openssl wrote less than $size_mib MiB"
mkdir "$work/parts"
split -b "$((size_mib / nfiles))M" -d -a 3 "$work/big.bin" "$work/parts/part."
mapfile -t parts < <(find "$work/parts" -type f | LC_ALL=C sort)
((${#parts[@]} == nfiles)) || die "split made ${#parts[@]} files, want $nfiles"
cat "$work/big.bin" "${parts[@]}" >/dev/null # warm the page cache

# timed OUT CMD...: runs CMD with stdout to $work/out.last, appends
# "wall maxrss_kib cpu" to OUT.
timed() {
	local out=$1
	shift
	/usr/bin/time -f '%e %M %U %S' -o "$work/time.tmp" "$@" >"$work/out.last" 2>"$work/stderr.tmp" ||
		{ cat "$work/stderr.tmp" >&2; die "$* failed"; }
	grep -E '^[0-9.]+ [0-9]+ [0-9.]+ [0-9.]+$' "$work/time.tmp" | awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}' >>"$out"
}
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
wall() { awk '{print $1}' "$work/$1.times" | median; }
cpu() { awk '{print $3}' "$work/$1.times" | median; }
rss() { awk '{print $2}' "$work/$1.times" | sort -n | tail -1 | awk '{printf "%.1f MiB", $1/1024}'; }
same() { cmp -s "$work/$1.out" "$work/$2.out" || die "$1 and $2 printed different lines"; }

say "one file of $size_mib MiB, $runs runs each"
for _ in $(seq "$runs"); do
	timed "$work/one-coreutils.times" sha256sum "$work/big.bin"
	cp "$work/out.last" "$work/one-coreutils.out"
	timed "$work/one-reproof.times" "$work/reproof" sums "$work/big.bin"
	cp "$work/out.last" "$work/one-reproof.out"
done
same one-coreutils one-reproof

say "$nfiles files of $((size_mib / nfiles)) MiB, $runs runs each"
for _ in $(seq "$runs"); do
	timed "$work/many-coreutils.times" sha256sum "${parts[@]}"
	cp "$work/out.last" "$work/many-coreutils.out"
	timed "$work/many-reproof.times" "$work/reproof" sums "${parts[@]}"
	cp "$work/out.last" "$work/many-reproof.out"
	timed "$work/many-reproof1.times" "$work/reproof" sums --jobs 1 "${parts[@]}"
	cp "$work/out.last" "$work/many-reproof1.out"
done
same many-coreutils many-reproof
same many-coreutils many-reproof1

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
one_ratio=$(ratio "$(wall one-reproof)" "$(wall one-coreutils)")
many_ratio=$(ratio "$(wall many-reproof)" "$(wall many-coreutils)")
many1_ratio=$(ratio "$(wall many-reproof1)" "$(wall many-coreutils)")
met=$(awk -v r="$one_ratio" -v t="$target" 'BEGIN {print (r <= t) ? "yes" : "**no**"}')
load_end=$(cut -d' ' -f1 /proc/loadavg)
sha_ni=no
grep -qw sha_ni /proc/cpuinfo && sha_ni=yes
throughput() { awk -v m="$size_mib" -v s="$1" 'BEGIN {printf "%.0f MiB/s", m/s}'; }

section=$work/section.md
{
	echo "$begin_marker"
	echo "## reproof sums vs sha256sum"
	echo
	echo "SHA-256 of $size_mib MiB of incompressible data (AES-CTR keystream), read from a warm page"
	echo "cache: as one file, and split into $nfiles files of $((size_mib / nfiles)) MiB. Both tools print the same"
	echo "lines (checked by the script). Wall and CPU (user + system) time: the median of $runs runs;"
	echo "peak RSS: the largest. Machine: $(nproc) cores, $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo),"
	echo "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), SHA extensions (sha_ni): $sha_ni; load average"
	echo "$load_start at the start, $load_end at the end. $(go version | awk '{print $3}'), GNU coreutils $(sha256sum --version | awk 'NR == 1 {print $NF}')."
	echo "Measured $(date -u +%Y-%m-%d)."
	echo
	echo "| workload | command | wall | CPU | peak RSS | wall / sha256sum's | target | met |"
	echo "|---|---|---|---|---|---|---|---|"
	echo "| 1 file of $size_mib MiB | \`sha256sum\` | $(wall one-coreutils) s ($(throughput "$(wall one-coreutils)")) | $(cpu one-coreutils) s | $(rss one-coreutils) | | | |"
	echo "| | \`reproof sums\` | $(wall one-reproof) s ($(throughput "$(wall one-reproof)")) | $(cpu one-reproof) s | $(rss one-reproof) | $one_ratio | ≤ $target | $met |"
	echo "| $nfiles files of $((size_mib / nfiles)) MiB | \`sha256sum\` | $(wall many-coreutils) s | $(cpu many-coreutils) s | $(rss many-coreutils) | | | |"
	echo "| | \`reproof sums\` | $(wall many-reproof) s | $(cpu many-reproof) s | $(rss many-reproof) | $many_ratio | | |"
	echo "| | \`reproof sums --jobs 1\` | $(wall many-reproof1) s | $(cpu many-reproof1) s | $(rss many-reproof1) | $many1_ratio | | |"
	echo
	echo "One file is one SHA-256 stream, which no number of cores can split: there the gain is"
	echo "Go's SHA-NI code against coreutils' portable C, with the read overlapping the hash. Across"
	echo "files, \`reproof sums\` hashes one file per core (\`--jobs 1\`: one at a time), and goes faster"
	echo "than \`--jobs 1\` only with cores to spare: CPU over wall is how many cores a run got."
	echo "Regenerate with \`bash bench/sums.sh\`."
	echo "$end_marker"
} >"$section"

replace_section "$doc" "$begin_marker" "$end_marker" "$section"
cat "$section"
