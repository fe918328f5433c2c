#!/usr/bin/env bash
# Regenerates the small real-tool archives under seed/: the seed corpus of
# the fuzz targets and the samples of the detection and reader tests. Each
# file is made by the tool a release pipeline would use. The outputs are
# committed; rerun only to add a sample (the bytes will differ each run).
set -euo pipefail
cd "$(dirname "$0")"
out=$PWD/seed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=UTC LC_ALL=C.UTF-8
umask 022
cd "$work"
mkdir -p t/dir/sub t/empty
printf 'hello\n' > t/hello.txt
printf '#!/bin/sh\necho hi\n' > t/run.sh && chmod 0755 t/run.sh
ln -s hello.txt t/link
ln t/hello.txt t/dir/hard
printf 'x%.0s' $(seq 1 300) > t/dir/sub/x.txt
long=t/dir/$(printf 'long-name-%.0s' $(seq 1 12))
printf 'long\n' > "$long"
touch -d '2024-01-02 03:04:05' t/hello.txt
tar --format=gnu -cf "$out/gnu.tar" t
tar --format=pax -cf "$out/pax.tar" t
tar --format=ustar -cf "$out/ustar.tar" t/hello.txt t/run.sh t/link t/dir/sub
tar -czf "$out/t.tar.gz" t
tar -cJf "$out/t.tar.xz" t
tar --zstd -cf "$out/t.tar.zst" t
tar -cjf "$out/t.tar.bz2" t
# Two gzip members, as `cat a.gz b.gz` makes.
(printf 'first\n' | gzip -n; printf 'second\n' | gzip -n) > "$out/multi.gz"
zip -qry "$out/t.zip" t
(cd t && find . -depth -print | cpio --quiet -o -H newc > "$out/t.cpio")
ar rcU "$out/t.a" t/hello.txt t/run.sh "$long"
# A .deb is an ar whose first member is debian-binary.
printf '2.0\n' > debian-binary
tar -czf control.tar.gz t/hello.txt
tar -cJf data.tar.xz t/run.sh
ar rcU "$out/t.deb" debian-binary control.tar.gz data.tar.xz
# A sparse file: 1 MiB hole, 5 bytes of data, another hole.
truncate -s 1M sparse && printf 'data\n' >> sparse && truncate -s 2M sparse
tar --format=gnu -S -cf "$out/sparse-gnu.tar" sparse
tar --format=pax -S -cf "$out/sparse-pax.tar" sparse
# Nested: a zip inside a tar inside gzip.
mkdir nest && cp "$out/t.zip" nest/inner.zip && tar -czf "$out/nested.tar.gz" nest
printf 'plain text, not an archive\n' > "$out/plain.txt"
# Compressed streams in the shapes the fuzz targets of each decoder start
# from: xz in many blocks with sizes in their headers, zstd with a long
# window, bzip2.
seq 1 3000 | xz -T2 --block-size=2KiB > "$out/blocks.xz"
seq 1 3000 | zstd -q --long=27 -19 > "$out/long.zst"
seq 1 3000 | bzip2 -9 > "$out/plain.bz2"
