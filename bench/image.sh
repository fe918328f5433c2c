#!/usr/bin/env bash
# bench/image.sh: the image diff benchmark of issue 15 (run by `make bench`).
#
# Workload: two OCI layouts, A and B, of five gzip layers each (~100 MB
# of base64 text per layer, ~500 MB per image uncompressed). B is A's
# tree with every mtime moved by one second (so every layer blob and
# diff_id differ and each layer pair must be read through) and one byte
# changed in one file of layer 3. Side by side:
#   baseline: gzip -dc of every layer blob of both images, once, to /dev/null
#   reproof diff --format none --json r.json oci:A:bench oci:B:bench
# recording wall time, CPU time (user+sys) and peak RSS (GNU time's %M),
# median of RUNS runs, and checking that the JSON names the changed file.
# diffoci is not in the comparison: the Go module proxy answers 403 for
# github.com/reproducible-containers/diffoci here.
#
# Environment: RUNS (3), LAYER_MB (100), DOC (docs/BENCHMARKS.md).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
doc=${DOC:-$repo/docs/BENCHMARKS.md}
runs=${RUNS:-3}
layer_mb=${LAYER_MB:-100}
begin_marker='<!-- image:begin -->'
end_marker='<!-- image:end -->'

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
command -v go >/dev/null || die "go not found in PATH"
[[ -x /usr/bin/time ]] || die "GNU time is needed at /usr/bin/time (apt-get install time)"

work=$(mktemp -d "${TMPDIR:-/tmp}/reproof-bench-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
export TZ=UTC LC_ALL=C

say "building reproof"
(cd "$repo" && go build -o "$work/reproof" ./cmd/reproof)

say "making the workload: 5 layers of ${layer_mb} MB"
per_file=$((layer_mb * 1024 * 1024 / 4 * 3 / 4)) # 4 files a layer; base64 grows by 4/3
for l in 1 2 3 4 5; do
	mkdir -p "$work/tree/l$l"
	for f in 1 2 3 4; do
		head -c "$per_file" /dev/urandom | base64 -w 76 >"$work/tree/l$l/f$f"
	done
done

# layout DIR MTIME: writes an OCI layout of the tree's five layers.
layout() {
	local out=$1 mtime=$2 diff_ids=() layers=() l blob tarf digest size
	mkdir -p "$out/blobs/sha256"
	for l in 1 2 3 4 5; do
		tarf="$work/l$l.tar"
		tar -C "$work/tree" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -cf "$tarf" "l$l"
		diff_ids+=("\"sha256:$(sha256sum "$tarf" | cut -d' ' -f1)\"")
		gzip -n -c "$tarf" >"$out/blob"
		rm "$tarf"
		digest=$(sha256sum "$out/blob" | cut -d' ' -f1)
		size=$(stat -c %s "$out/blob")
		mv "$out/blob" "$out/blobs/sha256/$digest"
		layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}")
	done
	local IFS=,
	printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' "${diff_ids[*]}" >"$out/config"
	local cd cs
	cd=$(sha256sum "$out/config" | cut -d' ' -f1); cs=$(stat -c %s "$out/config")
	mv "$out/config" "$out/blobs/sha256/$cd"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' "$cd" "$cs" "${layers[*]}" >"$out/manifest"
	local md ms
	md=$(sha256sum "$out/manifest" | cut -d' ' -f1); ms=$(stat -c %s "$out/manifest")
	mv "$out/manifest" "$out/blobs/sha256/$md"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' "$md" "$ms" >"$out/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
}
layout "$work/A" 1700000000
printf 'X' | dd of="$work/tree/l3/f2" bs=1 seek=1000 conv=notrunc status=none
layout "$work/B" 1700000001
uncompressed=$(du -sb "$work/tree" | cut -f1)
compressed=$(du -sb "$work/A/blobs" | cut -f1)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # prints "wall cpu rss_kb" of one run of "$@"
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || true
	tail -n 1 "$work/time" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}'
}

say "baseline: gzip -dc of every layer blob, $runs runs"
: >"$work/base"
for ((i = 0; i < runs; i++)); do
	measure sh -c 'for f in "$0"/A/blobs/sha256/* "$0"/B/blobs/sha256/*; do [ "$(stat -c %s "$f")" -gt 100000 ] && gzip -dc "$f"; done; true' "$work" >>"$work/base"
done
say "reproof diff, $runs runs"
: >"$work/ours"
for ((i = 0; i < runs; i++)); do
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$work/reproof" diff --format none --json "$work/r.json" \
		"oci:$work/A:bench" "oci:$work/B:bench" >/dev/null 2>"$work/stderr" && code=0 || code=$?
	[[ $code == 1 ]] || { cat "$work/stderr" >&2; die "reproof diff exited $code, want 1"; }
	tail -n 1 "$work/time" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' >>"$work/ours"
done
grep -q '"layers/3!/l3/f2"' "$work/r.json" || die "the JSON report does not name layers/3!/l3/f2"

base_wall=$(cut -d' ' -f1 "$work/base" | median); base_cpu=$(cut -d' ' -f2 "$work/base" | median)
our_wall=$(cut -d' ' -f1 "$work/ours" | median); our_cpu=$(cut -d' ' -f2 "$work/ours" | median)
our_rss=$(cut -d' ' -f3 "$work/ours" | sort -n | tail -1)
ratio=$(awk -v a="$our_wall" -v b="$base_wall" 'BEGIN {printf "%.2f", a / b}')
cpu_ratio=$(awk -v a="$our_cpu" -v b="$base_cpu" 'BEGIN {printf "%.2f", a / b}')
say "baseline ${base_wall}s (cpu ${base_cpu}s), reproof ${our_wall}s (cpu ${our_cpu}s, ${ratio}x wall), peak RSS ${our_rss} KiB"

section=$work/section.md
cat >"$section" <<EOS
$begin_marker
## reproof diff of two images (bench/image.sh)

Two OCI layouts of five gzip layers each, $((uncompressed / 1000000)) MB of files per image
($((compressed / 1000000)) MB compressed). B has every mtime moved by one second (every layer blob
and diff_id differs, so every layer pair is read through) and one byte changed in
one file of layer 3. Median of $runs runs on $(nproc) cores; the baseline is \`gzip -dc\` of
every layer blob of both images once, one after the other.

| | wall | CPU (user+sys) | peak RSS |
|---|--:|--:|--:|
| baseline: \`gzip -dc\` of the 10 layer blobs | ${base_wall} s | ${base_cpu} s | — |
| \`reproof diff oci:A oci:B\` (JSON report) | ${our_wall} s | ${our_cpu} s | $((our_rss / 1024)) MiB |
| ratio | ${ratio}× | ${cpu_ratio}× | |

Targets: at most 1.5× the baseline's time, under 150 MB. reproof streams each blob
once (sha256 of the blob, decompression, sha256 of the tar for the diff_id, the tar
spooled to its work directory), then compares each pair of tars with the archive
engine (which hashes every entry). It reads A and B at once, so its wall time is
against a baseline on one core. diffoci is not compared: the Go module proxy
refuses github.com/reproducible-containers/diffoci here (403).
$end_marker
EOS
replace_section "$doc" "$begin_marker" "$end_marker" "$section"
say "wrote $doc"
