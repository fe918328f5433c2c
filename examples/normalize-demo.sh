#!/usr/bin/env bash
# make demo: the bundled example project is released twice, by two machines
# that pack it differently (file order, mtimes, owners, umask, gzip level
# and header). The two tarballs differ byte for byte; reproof normalize
# shows they hold the same content, and says what each pass hid.
set -euo pipefail
reproof=$(realpath "${1:-bin/reproof}")
src=$(realpath "$(dirname "$0")/hello")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=UTC

# SOURCE_DATE_EPOCH as a release pipeline takes it: the commit time.
epoch=1700000000

step() { printf '\n== %s\n' "$*"; }

step "machine A: tar czf, owner 1000, files touched today, umask 002"
mkdir -p "$work/a" "$work/b"
cp -r "$src" "$work/a/hello-1.0"
chmod -R g+w "$work/a/hello-1.0" # what a checkout under umask 002 gives
tar -C "$work/a" --owner=1000 --group=1000 -czf "$work/hello-1.0-a.tar.gz" hello-1.0

step "machine B: reversed order, mtime 2020, root owner, gzip -9 with a name in the header"
(umask 022; cp -r "$src" "$work/b/hello-1.0")
find "$work/b" -exec touch -d '2020-01-01 12:00:00' {} +
(cd "$work/b" && find hello-1.0 | sort -r > ../list)
tar -C "$work/b" --no-recursion -T "$work/list" -cf "$work/hello-1.0-b.tar"
gzip -9 "$work/hello-1.0-b.tar"

step "the two published tarballs"
(cd "$work" && sha256sum hello-1.0-a.tar.gz hello-1.0-b.tar.gz)

step "reproof diff: what differs between the two tarballs"
code=0
"$reproof" diff --color never "$work/hello-1.0-a.tar.gz" "$work/hello-1.0-b.tar.gz" || code=$?
echo "(exit status $code: 3 means only metadata, order or compression differ)"
[ "$code" -eq 3 ] || { echo "unexpected exit status $code from reproof diff" >&2; exit 1; }

step "reproof normalize, epoch $epoch"
"$reproof" normalize --epoch "$epoch" "$work/hello-1.0-a.tar.gz" -o "$work/a.norm.tar.gz"
"$reproof" normalize --epoch "$epoch" "$work/hello-1.0-b.tar.gz" -o "$work/b.norm.tar.gz"

step "after normalization"
(cd "$work" && sha256sum a.norm.tar.gz b.norm.tar.gz)
if cmp -s "$work/a.norm.tar.gz" "$work/b.norm.tar.gz"; then
	echo "identical: same content, packed differently"
else
	echo "DIFFERENT after normalization: the content differs" >&2
	exit 1
fi

step "the normalized archive, as GNU tar sees it"
tar -tvzf "$work/a.norm.tar.gz"
