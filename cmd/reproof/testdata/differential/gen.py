#!/usr/bin/python3
"""Generates the pairs of archives of reproof's differential test.

Usage: gen.py OUTDIR

Writes each pair (A, B) under OUTDIR/<case>/ and OUTDIR/manifest.json, a
list of {name, family, format, a, b, description[, policy]} with a and b
relative to OUTDIR. A is usually the honest archive, B the crafted one.

Everything is built byte by byte (tar, zip, ar, cpio headers) or with the
standard library, with fixed times, so the output does not depend on the
machine; only directory pairs touch the file system's own metadata
(FIFOs, sockets, hardlinks, xattrs, ACLs, inode flags) and need root.

Families:
  tar-records   tar headers that extractors read differently
  zip           zip structures whose readers disagree
  names-links   names and link targets that clean to something else
  metadata      security-relevant metadata (modes, owners, xattrs, flags, types)
  control       benign pairs: only what the closed list calls harmless differs

policy "ambiguous" marks a case whose extractors happen to agree here but
whose construct the issue declares ambiguous (a record reproof must not
model away): diff must still exit 1.
"""

import base64
import gzip
import io
import json
import lzma
import os
import socket
import struct
import subprocess
import sys
import tarfile
import zlib

MTIME = 1600000000
ESCAPE = "/tmp/reproof-differential-escape"  # absolute names point here

cases = []
OUT = ""


def case(name, family, fmt, description, a, b, policy=None):
    """Writes one pair; a and b are bytes (written as files) or callables
    that build a directory at the path they are given."""
    d = os.path.join(OUT, name)
    os.makedirs(d)
    paths = []
    for side, content in (("a", a), ("b", b)):
        if callable(content):
            p = os.path.join(d, side)
            os.mkdir(p)
            os.chmod(p, 0o755)
            content(p)
        else:
            p = os.path.join(d, side + "." + fmt)
            with open(p, "wb") as f:
                f.write(content)
        paths.append(os.path.relpath(p, OUT))
    entry = {"name": name, "family": family, "format": fmt,
             "a": paths[0], "b": paths[1], "description": description}
    if policy:
        entry["policy"] = policy
    cases.append(entry)


# ---------------------------------------------------------------- tar


def octal(n, width):
    return b"%0*o\x00" % (width - 1, n)


def b_(s):
    return s if isinstance(s, bytes) else s.encode()


def header(name, size=0, typ=b"0", mode=0o644, uid=0, gid=0, linkname=b"",
           prefix=b"", magic=b"ustar\x0000", uname=b"root", gname=b"root",
           mtime=MTIME, devmajor=0, devminor=0, tail=None, size_field=None):
    """One 512-byte tar header with a correct checksum. tail, if set,
    is written at offset 345 (prefix, star times, ...) instead of prefix."""
    h = bytearray(512)
    if len(b_(name)) > 100:
        raise ValueError("tar name %r is longer than 100 bytes" % name)
    h[0:100] = b_(name).ljust(100, b"\x00")
    h[100:108] = octal(mode, 8)
    h[108:116] = octal(uid, 8)
    h[116:124] = octal(gid, 8)
    h[124:136] = size_field if size_field is not None else octal(size, 12)
    h[136:148] = octal(mtime, 12)
    h[156:157] = typ
    h[157:257] = b_(linkname).ljust(100, b"\x00")
    h[257:265] = magic
    h[265:297] = uname.ljust(32, b"\x00")
    h[297:329] = gname.ljust(32, b"\x00")
    h[329:337] = octal(devmajor, 8)
    h[337:345] = octal(devminor, 8)
    if tail is not None:
        h[345:345 + len(tail)] = tail
    else:
        h[345:500] = b_(prefix).ljust(155, b"\x00")
    h[148:156] = b"        "
    h[148:156] = b"%06o\x00 " % sum(h)
    return bytes(h)


def pad(data):
    return data + b"\x00" * (-len(data) % 512)


def member(name, data=b"", **kw):
    data = b_(data)
    kw.setdefault("size", len(data))
    return header(name, **kw) + pad(data)


def pax_record(key, value):
    body = b" " + b_(key) + b"=" + b_(value) + b"\n"
    n = len(body)
    total = n + len(str(n))
    if len(str(total)) > len(str(n)):
        total = n + len(str(total))
    return str(total).encode() + body


def pax(records, typ=b"x", name=b"./PaxHeaders/x"):
    data = b"".join(pax_record(k, v) for k, v in records)
    return header(name, size=len(data), typ=typ) + pad(data)


def tar(*members):
    return b"".join(members) + b"\x00" * 1024


def reg(name, data, mode=0o644, **kw):
    return member(name, data, mode=mode, **kw)


def dirent(name, mode=0o755, **kw):
    return member(name, b"", typ=b"5", mode=mode, **kw)


def gz(data, level=9, mtime=0, name=None):
    buf = io.BytesIO()
    with gzip.GzipFile(filename=name or "", mode="wb", compresslevel=level, fileobj=buf, mtime=mtime) as f:
        f.write(data)
    return buf.getvalue()


def xz(data, preset=6):
    return lzma.compress(data, format=lzma.FORMAT_XZ, preset=preset)


def zst(data, level=3):
    return subprocess.run(["zstd", "-q", "-c", "-%d" % level, "--no-progress"], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


HELLO = b"hello, world\n"
LONG = "longname-" + "x" * 100  # needs a GNU long name (L) or a pax path
SCRIPT = b"#!/bin/sh\necho pwned >/tmp/x\n"


def tar_records():
    fam = "tar-records"
    honest = tar(reg("f", HELLO))
    case("pax-sparse-realsize", fam, "tar",
         "a pax GNU.sparse.realsize on a plain file (no sparse map)",
         honest, tar(pax([("GNU.sparse.realsize", "4096")]), reg("f", HELLO)))
    case("pax-sparse-size", fam, "tar",
         "pax GNU.sparse.size and GNU.sparse.numblocks (0.0 sparse keys) on a plain file",
         honest, tar(pax([("GNU.sparse.size", "4096"), ("GNU.sparse.numblocks", "1"),
                          ("GNU.sparse.offset", "0"), ("GNU.sparse.numbytes", str(len(HELLO)))]),
                     reg("f", HELLO)))
    case("pax-sparse-name", fam, "tar.xz",
         "a pax GNU.sparse.name renaming a plain file",
         xz(honest), xz(tar(pax([("GNU.sparse.name", "evil")]), reg("f", HELLO))))
    case("pax-sparse-1.0-plain", fam, "tar",
         "GNU.sparse.major=1/minor=0 and realsize on a plain file whose data is no sparse map",
         honest, tar(pax([("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"),
                          ("GNU.sparse.name", "f"), ("GNU.sparse.realsize", "13")]),
                     reg("f", HELLO)))
    two = tar(reg("f", HELLO), reg("g", b"second\n"))
    case("global-path", fam, "tar",
         "a pax global header with path= before two files",
         two, tar(pax([("path", "evil")], typ=b"g", name=b"pax_global_header"), reg("f", HELLO), reg("g", b"second\n")))
    case("global-size", fam, "tar",
         "a pax global header with size=0 before a file with data",
         honest, tar(pax([("size", "0")], typ=b"g", name=b"pax_global_header"), reg("f", HELLO)))
    case("global-linkpath", fam, "tar",
         "a pax global header with linkpath= before a symlink",
         tar(reg("f", HELLO), member("l", typ=b"2", linkname=b"f", mode=0o777)),
         tar(pax([("linkpath", "/etc/shadow")], typ=b"g", name=b"pax_global_header"),
             reg("f", HELLO), member("l", typ=b"2", linkname=b"f", mode=0o777)))
    case("global-uid", fam, "tar",
         "a pax global header with uid=0 before a setuid file owned by 1000",
         tar(reg("su", SCRIPT, mode=0o4755, uid=1000, gid=1000, uname=b"", gname=b"")),
         tar(pax([("uid", "0"), ("uname", "root")], typ=b"g", name=b"pax_global_header"),
             reg("su", SCRIPT, mode=0o4755, uid=1000, gid=1000, uname=b"", gname=b"")))
    gnu = b"ustar  \x00"
    longlink = member("././@LongLink", LONG.encode() + b"\x00", typ=b"L", magic=gnu)
    longname_honest = tar(longlink, reg(LONG[:99], HELLO, magic=gnu))
    case("gnu-longname-and-pax-path", fam, "tar",
         "a GNU long name (L) and a pax path for the same entry, naming different files",
         longname_honest,
         tar(longlink, pax([("path", "evil")]), reg(LONG[:99], HELLO, magic=gnu)))
    case("pax-path-and-gnu-longname", fam, "tar",
         "a pax path then a GNU long name (L) for the same entry",
         longname_honest,
         tar(pax([("path", "evil")]), longlink, reg(LONG[:99], HELLO, magic=gnu)))
    case("gnu-magic-prefix", fam, "tar",
         "GNU magic with bytes in the ustar prefix field (GNU reads atime/ctime there)",
         tar(dirent("d/"), reg("d/f", HELLO)),
         tar(dirent("d/", magic=gnu), reg("f", HELLO, magic=gnu, prefix=b"d")))
    star = bytearray(167)  # 345..512
    star[0:131] = b"d" * 131  # prefix[130] != 0: not a star header for GNU tar
    star[131:143] = octal(MTIME, 12)
    star[143:155] = octal(MTIME, 12)
    star[163:167] = b"tar\x00"
    case("star-prefix", fam, "tar",
         "a star header (tar\\0 at 508) whose 131-byte prefix runs into the atime field",
         tar(reg("f", HELLO)), tar(reg("f", HELLO, tail=bytes(star))))
    case("two-pax-headers", fam, "tar",
         "two pax headers before one entry, the second renaming it",
         tar(reg("f", HELLO)), tar(pax([("path", "f")]), pax([("path", "evil")]), reg("f", HELLO)))
    case("pax-size-plus", fam, "tar",
         "a pax size written with a sign (+13) over a header size of 0",
         tar(reg("f", HELLO)), tar(pax([("size", "+%d" % len(HELLO))]), header("f", size=0) + pad(HELLO)))
    case("pax-size-conflict", fam, "tar",
         "a pax size smaller than the header size, the rest is a hidden header",
         tar(reg("f", HELLO)),
         tar(pax([("size", str(len(HELLO)))]),
             header("f", size=512 * 3) + pad(HELLO) + header("evil", size=len(SCRIPT), mode=0o755) + pad(SCRIPT)))
    case("unknown-pax-key", fam, "tar",
         "an unknown pax key (REPROOF.unknown) the extractors ignore",
         tar(reg("f", HELLO)), tar(pax([("REPROOF.unknown", "1")]), reg("f", HELLO)), policy="ambiguous")
    case("pax-hdrcharset", fam, "tar",
         "pax hdrcharset=BINARY with a non-UTF-8 path",
         tar(reg("caf\xe9", HELLO)), tar(pax([("hdrcharset", "BINARY"), ("path", b"caf\xe9")]), reg("cafe", HELLO)))
    case("hardlink-with-data", fam, "tar.gz",
         "a hardlink entry (type 1) carrying data of its own",
         gz(tar(reg("f", HELLO), member("h", typ=b"1", linkname=b"f"))),
         gz(tar(reg("f", HELLO), member("h", SCRIPT, typ=b"1", linkname=b"f"))))
    case("dir-with-size", fam, "tar.zst",
         "a directory header with size 512 whose data block is a file header",
         zst(tar(dirent("d/"))),
         zst(tar(dirent("d/", size=1024) + header("d/evil", size=len(SCRIPT), mode=0o755) + pad(SCRIPT))))
    case("symlink-with-data", fam, "tar",
         "a symlink entry with a size and data holding a hidden header",
         tar(member("l", typ=b"2", linkname=b"f", mode=0o777)),
         tar(member("l", typ=b"2", linkname=b"f", mode=0o777, size=1024) + header("evil", size=len(SCRIPT)) + pad(SCRIPT)))


# ---------------------------------------------------------------- zip

UNIX, FAT, ATARI, BEOS = 3, 0, 5, 16


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def zentry(name, data, method=8, mode=0o100644, system=UNIX, flags=0, **kw):
    e = {"name": b_(name), "data": data, "method": method, "mode": mode, "system": system,
         "flags": flags, "extra": b"", "lextra": b""}
    e.update(kw)
    return e


DOSTIME, DOSDATE = 0x6000, 0x5121  # 2020-09-01 12:00:00


def lfh(e, offset_data=None):
    raw = e.get("raw", deflate(e["data"]) if e["method"] == 8 else e["data"])
    crc = e.get("crc", zlib.crc32(e["data"]))
    name = e.get("lname", e["name"])
    h = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, e.get("lflags", e["flags"]), e.get("lmethod", e["method"]),
                    e.get("time", DOSTIME), DOSDATE, crc, e.get("lcsize", len(raw)),
                    e.get("lusize", len(e["data"])), len(name), len(e["lextra"]))
    return h + name + e["lextra"] + raw, raw, crc


def cdh(e, offset, raw, crc):
    ext = e.get("ext", (e["mode"] << 16) | (0x10 if e["mode"] & 0o170000 == 0o040000 else 0))
    h = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, (e["system"] << 8) | 30, 20, e["flags"], e["method"],
                    e.get("time", DOSTIME), DOSDATE, crc, e.get("csize", len(raw)), e.get("usize", len(e["data"])),
                    len(e["name"]), len(e["extra"]), 0, 0, 0, ext, offset)
    return h + e["name"] + e["extra"]


def eocd(n, size, offset):
    return struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, size, offset, 0)


def zipfile_bytes(entries, hidden=()):
    """A zip of entries; hidden entries get local headers only."""
    out, cd = b"", b""
    for e in entries:
        off = len(out)
        rec, raw, crc = lfh(e)
        out += rec
        cd += cdh(e, off, raw, crc)
    for e in hidden:
        out += lfh(e)[0]
    return out + cd + eocd(len(entries), len(cd), len(out))


def zips():
    fam = "zip"
    honest = zipfile_bytes([zentry("a.txt", HELLO)])
    case("zip-local-name", fam, "zip",
         "the local header names evil.txt, the central directory a.txt",
         honest, zipfile_bytes([zentry("a.txt", HELLO, lname=b"evil.txt")]))
    case("zip-local-method", fam, "zip",
         "the central directory says stored, the local header deflated",
         zipfile_bytes([zentry("a.txt", HELLO)]),
         zipfile_bytes([zentry("a.txt", HELLO, method=0, lmethod=8, raw=deflate(HELLO),
                               usize=len(deflate(HELLO)), lusize=len(HELLO))]))
    case("zip-local-size", fam, "zip",
         "stored entry whose local sizes are 5, central sizes 13",
         zipfile_bytes([zentry("a.txt", HELLO, method=0)]),
         zipfile_bytes([zentry("a.txt", HELLO, method=0, lcsize=5, lusize=5)]))
    # Two central directories: the EOCD points at the first (a valid CD),
    # its size is the second's, which sits right before it; readers that
    # apply the "extra bytes" rule read the second.
    evil = zentry("a.txt", b"EVIL!, world\n")
    first = zentry("a.txt", HELLO)
    lf1, raw1, crc1 = lfh(first)
    cd1 = cdh(first, 0, raw1, crc1)
    lf2, raw2, crc2 = lfh(evil)
    cd2 = cdh(evil, len(lf1) - len(lf2), raw2, crc2)
    case("zip-second-cd", fam, "zip",
         "a second central directory found by the extra-bytes rule holds other content",
         honest, lf1 + cd1 + lf2 + cd2 + eocd(1, len(cd2), len(lf1)))
    case("zip-local-only", fam, "zip",
         "an entry present only as a local header (streaming readers see it)",
         honest, zipfile_bytes([zentry("a.txt", HELLO)], hidden=[zentry("evil.sh", SCRIPT, mode=0o100755)]))
    upath = b"evil.txt"
    ucrc = zlib.crc32(b"a.txt")
    uextra = struct.pack("<HHBI", 0x7075, 5 + len(upath), 1, ucrc) + upath
    case("zip-unicode-path", fam, "zip",
         "an Info-ZIP Unicode Path extra field (0x7075) naming evil.txt on a.txt",
         honest, zipfile_bytes([zentry("a.txt", HELLO, extra=uextra, lextra=uextra)]))
    case("zip-beos-symlink", fam, "zip",
         "version made by BeOS with a Unix symlink mode in the external attributes",
         zipfile_bytes([zentry("x", b"a.txt", method=0, mode=0o100644)]),
         zipfile_bytes([zentry("x", b"a.txt", method=0, mode=0o120777, system=BEOS)]))
    case("zip-atari-setuid", fam, "zip",
         "version made by Atari with a setuid Unix mode in the external attributes",
         zipfile_bytes([zentry("run", SCRIPT, mode=0o100755)]),
         zipfile_bytes([zentry("run", SCRIPT, mode=0o104755, system=ATARI)]))
    case("zip-encrypted-flag", fam, "zip",
         "the encrypted flag set on an entry whose data is plain",
         honest, zipfile_bytes([zentry("a.txt", HELLO, flags=1)]))
    case("zip-backslash", fam, "zip",
         "a name with backslashes (dir\\a.txt) instead of dir/a.txt",
         zipfile_bytes([zentry("dir/", b"", method=0, mode=0o40755), zentry("dir/a.txt", HELLO)]),
         zipfile_bytes([zentry("dir\\a.txt", HELLO)]))
    case("zip-non-utf8-name", fam, "zip",
         "a CP437 name (caf\\x82) without the UTF-8 flag vs the UTF-8 name café",
         zipfile_bytes([zentry("café.txt".encode(), HELLO, flags=0x800)]),
         zipfile_bytes([zentry(b"caf\x82.txt", HELLO)]))
    case("zip-setuid", fam, "zip",
         "a setuid mode in the Unix external attributes",
         zipfile_bytes([zentry("run", SCRIPT, mode=0o100755)]),
         zipfile_bytes([zentry("run", SCRIPT, mode=0o104755)]))
    case("zip-symlink", fam, "zip",
         "a Unix symlink entry instead of a file holding the target's name",
         zipfile_bytes([zentry("x", b"a.txt", method=0)]),
         zipfile_bytes([zentry("x", b"a.txt", method=0, mode=0o120777)]))


# ---------------------------------------------------------------- names and links


def names_links():
    fam = "names-links"
    case("dotdot-name", fam, "tar",
         "a/../b instead of b",
         tar(dirent("a/"), reg("b", HELLO)), tar(dirent("a/"), reg("a/../b", HELLO)))
    case("file-named-slash", fam, "tar",
         "a regular file named d/",
         tar(reg("d", HELLO)), tar(reg("d/", HELLO)))
    case("hardlink-target-slash", fam, "tar",
         "a hardlink whose target is a/ (the file a)",
         tar(reg("a", HELLO), member("h", typ=b"1", linkname=b"a")),
         tar(reg("a", HELLO), member("h", typ=b"1", linkname=b"a/")))
    case("hardlink-target-dotdot", fam, "tar",
         "a hardlink whose target is zz/../a",
         tar(reg("a", HELLO), member("h", typ=b"1", linkname=b"a")),
         tar(reg("a", HELLO), member("h", typ=b"1", linkname=b"zz/../a")))
    case("hardlink-before-target", fam, "tar",
         "a hardlink stored before its target",
         tar(reg("a", HELLO), member("h", typ=b"1", linkname=b"a")),
         tar(member("h", typ=b"1", linkname=b"a"), reg("a", HELLO)))
    case("absolute-name", fam, "tar",
         "an absolute name where A has the same name relative",
         tar(reg(ESCAPE[1:] + "/x", HELLO)), tar(reg(ESCAPE + "/x", HELLO)))
    case("dot-slash-dup", fam, "tar",
         "./f then f: a duplicate under two spellings, the second wins",
         tar(reg("f", HELLO)), tar(reg("./f", HELLO), reg("f", SCRIPT)))
    case("zip-dotdot", fam, "zip",
         "a zip entry a/../b instead of b",
         zipfile_bytes([zentry("a/", b"", method=0, mode=0o40755), zentry("b", HELLO)]),
         zipfile_bytes([zentry("a/", b"", method=0, mode=0o40755), zentry("a/../b", HELLO)]))
    case("zip-absolute", fam, "zip",
         "an absolute zip name where A has it relative",
         zipfile_bytes([zentry(ESCAPE[1:] + "/x", HELLO)]), zipfile_bytes([zentry(ESCAPE + "/x", HELLO)]))
    case("cpio-dotdot", fam, "cpio",
         "a cpio name a/../b instead of b",
         cpio([cpio_entry("a", b"", mode=0o40755, ino=1), cpio_entry("b", HELLO, ino=2)]),
         cpio([cpio_entry("a", b"", mode=0o40755, ino=1), cpio_entry("a/../b", HELLO, ino=2)]))


# ---------------------------------------------------------------- metadata


def cap_v2(permitted):
    return struct.pack("<IIIII", 0x02000001, permitted, 0, 0, 0)


CAP_NET_RAW = 1 << 13


def deb(members, names=None, mtime=MTIME, owner=0):
    """An ar archive of members [(name, data)]; names overrides the raw
    16-byte name fields (BSD #1/ names put the name at the data's start)."""
    out = b"!<arch>\n"
    for i, (name, data) in enumerate(members):
        field = b_(name)
        if names and names[i] is not None:
            field, data = names[i], b_(name) + data if names[i].startswith(b"#1/") else data
        out += field.ljust(16) + b"%-12d%-6d%-6d%-8o%-10d`\n" % (mtime, owner, owner, 0o100644, len(data))
        out += data + (b"\n" if len(data) % 2 else b"")
    return out


def tar_of(files, mtime=MTIME):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data, mode in files:
            ti = tarfile.TarInfo(name)
            ti.mtime, ti.mode, ti.uname, ti.gname = mtime, mode, "root", "root"
            if data is None:
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


CONTROL = b"Package: x\nVersion: 1\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: x\n"


def deb_parts(mtime=MTIME, data_files=None):
    control = gz(tar_of([("./", None, 0o755), ("./control", CONTROL, 0o644)], mtime))
    data = gz(tar_of(data_files or [("./", None, 0o755), ("./usr/", None, 0o755), ("./usr/f", HELLO, 0o644)], mtime))
    return [("debian-binary", b"2.0\n"), ("control.tar.gz", control), ("data.tar.gz", data)]


def cpio_entry(name, data, mode=0o100644, ino=1, nlink=1, uid=0, gid=0, mtime=MTIME, rdev=(0, 0)):
    return (b_(name), b_(data), mode, ino, nlink, uid, gid, mtime, rdev)


def cpio(entries):
    out = b""
    for name, data, mode, ino, nlink, uid, gid, mtime, rdev in entries + [cpio_entry("TRAILER!!!", b"", mode=0, ino=0)]:
        n = name + b"\x00"
        h = b"070701" + b"".join(b"%08X" % v for v in (
            ino, mode, uid, gid, nlink, mtime, len(data), 0, 0, rdev[0], rdev[1], len(n), 0))
        out += h + n + b"\x00" * (-(len(h) + len(n)) % 4) + data + b"\x00" * (-len(data) % 4)
    return out + b"\x00" * (-len(out) % 512)


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def metadata():
    fam = "metadata"
    case("setuid", fam, "tar",
         "setuid on an executable",
         tar(reg("bin/x", SCRIPT, mode=0o755)), tar(reg("bin/x", SCRIPT, mode=0o4755)))
    case("setgid-dir", fam, "tar",
         "setgid on a directory",
         tar(dirent("d/")), tar(dirent("d/", mode=0o2755)))
    case("sticky-dir", fam, "tar.gz",
         "the sticky bit on a world-writable directory",
         gz(tar(dirent("tmp/", mode=0o777))), gz(tar(dirent("tmp/", mode=0o1777))))
    case("setuid-root-vs-1000", fam, "tar",
         "the same setuid file owned by root instead of 1000",
         tar(reg("x", SCRIPT, mode=0o4755, uid=1000, gid=1000, uname=b"", gname=b"")),
         tar(reg("x", SCRIPT, mode=0o4755, uid=0, gid=0, uname=b"", gname=b"")))
    case("world-writable-file", fam, "tar",
         "a world-writable file (0666 vs 0644)",
         tar(reg("f", HELLO)), tar(reg("f", HELLO, mode=0o666)))
    case("group-writable-dir", fam, "tar.xz",
         "a group- and world-writable directory (0777 vs 0755)",
         xz(tar(dirent("d/"), reg("d/f", HELLO))), xz(tar(dirent("d/", mode=0o777), reg("d/f", HELLO))))
    capv = cap_v2(CAP_NET_RAW)
    case("capability-schily", fam, "tar",
         "security.capability (cap_net_raw+ep) as SCHILY.xattr",
         tar(reg("x", SCRIPT, mode=0o755)),
         tar(pax([("SCHILY.xattr.security.capability", capv)]), reg("x", SCRIPT, mode=0o755)))
    case("capability-libarchive", fam, "tar",
         "security.capability (cap_net_raw+ep) as LIBARCHIVE.xattr (base64)",
         tar(reg("x", SCRIPT, mode=0o755)),
         tar(pax([("LIBARCHIVE.xattr.security.capability", base64.b64encode(capv).rstrip(b"="))]),
             reg("x", SCRIPT, mode=0o755)))
    case("user-xattr", fam, "tar",
         "a user.* xattr as SCHILY.xattr",
         tar(reg("x", HELLO)), tar(pax([("SCHILY.xattr.user.note", "evil")]), reg("x", HELLO)))
    case("posix-acl", fam, "tar",
         "a POSIX ACL (SCHILY.acl.access) granting uid 1000 rwx",
         tar(reg("x", HELLO)),
         tar(pax([("SCHILY.acl.access", "user::rw-,user:1000:rwx:1000,group::r--,mask::rwx,other::r--")]), reg("x", HELLO)))
    case("fflags-immutable", fam, "tar",
         "SCHILY.fflags=schg (immutable) on a file",
         tar(reg("x", HELLO)), tar(pax([("SCHILY.fflags", "schg")]), reg("x", HELLO)))
    case("hardlink-vs-copy", fam, "tar",
         "g is a hardlink of f instead of a copy",
         tar(reg("f", HELLO), reg("g", HELLO)), tar(reg("f", HELLO), member("g", typ=b"1", linkname=b"f")))
    case("char-device", fam, "tar",
         "a character device 1,3 instead of an empty file",
         tar(reg("dev/null", b"")), tar(member("dev/null", typ=b"3", mode=0o666, devmajor=1, devminor=3)))
    case("fifo", fam, "tar",
         "a FIFO instead of an empty file",
         tar(reg("p", b"")), tar(member("p", typ=b"6")))
    parts = deb_parts()
    case("deb-member-order", fam, "deb",
         "control.tar.gz before debian-binary: dpkg-deb refuses the package",
         deb(parts), deb([parts[1], parts[0], parts[2]]))
    case("deb-bsd-ar-names", fam, "deb",
         "BSD ar names (#1/NN) for the members",
         deb(parts), deb(parts, names=[b"#1/13", b"#1/14", b"#1/11"]))
    case("deb-extra-member", fam, "deb",
         "a member after data.tar.gz that bsdtar extracts and dpkg ignores or refuses",
         deb(parts), deb(parts + [("evil.sh", SCRIPT)]))
    case("cpio-hardlink-group", fam, "cpio",
         "an empty file in a newc hardlink group with a script gets its content",
         cpio([cpio_entry("empty", b"", ino=1), cpio_entry("script", SCRIPT, mode=0o100755, ino=2)]),
         cpio([cpio_entry("empty", b"", ino=7, nlink=2), cpio_entry("script", SCRIPT, mode=0o100755, ino=7, nlink=2)]))
    case("cpio-setuid", fam, "cpio",
         "a setuid root file in a cpio",
         cpio([cpio_entry("x", SCRIPT, mode=0o100755)]), cpio([cpio_entry("x", SCRIPT, mode=0o104755)]))

    def base(d):
        with open(os.path.join(d, "f"), "wb") as f:
            f.write(HELLO)
        os.chmod(os.path.join(d, "f"), 0o644)

    def copy(d):
        base(d)
        with open(os.path.join(d, "g"), "wb") as f:
            f.write(HELLO)
        os.chmod(os.path.join(d, "g"), 0o644)

    def hardlink(d):
        base(d)
        os.link(os.path.join(d, "f"), os.path.join(d, "g"))

    case("dir-hardlink-vs-copy", fam, "dir", "g is a hardlink of f instead of a copy", copy, hardlink)

    def fifo(d):
        os.mkfifo(os.path.join(d, "p"), 0o644)

    def sock(d):
        cwd = os.getcwd()
        os.chdir(d)
        s = socket.socket(socket.AF_UNIX)
        s.bind("p")
        s.close()
        os.chmod("p", 0o644)
        os.chdir(cwd)

    case("dir-fifo-vs-socket", fam, "dir", "a socket instead of a FIFO", fifo, sock)

    def immutable(d):
        base(d)
        run("chattr", "+i", os.path.join(d, "f"))

    case("dir-chattr-immutable", fam, "dir", "chattr +i on a file", base, immutable)

    def append_only(d):
        base(d)
        run("chattr", "+a", os.path.join(d, "f"))

    case("dir-chattr-append", fam, "dir", "chattr +a on a file", base, append_only)

    def capability(d):
        base(d)
        os.setxattr(os.path.join(d, "f"), "security.capability", capv)

    case("dir-capability", fam, "dir", "a security.capability xattr on a file", base, capability)

    def acl(d):
        base(d)
        run("setfacl", "-m", "u:1000:rwx", os.path.join(d, "f"))

    case("dir-acl", fam, "dir", "a POSIX ACL granting uid 1000 rwx", base, acl)

    def setuid(d):
        base(d)
        os.chmod(os.path.join(d, "f"), 0o4755)

    case("dir-setuid", fam, "dir", "setuid on a file", base, setuid)


# ---------------------------------------------------------------- control


def control():
    fam = "control"
    files = [("d/", None, 0o755), ("d/a", HELLO, 0o644), ("d/b", SCRIPT, 0o755), ("d/c", b"third\n", 0o644)]

    def build(order=None, mtime=MTIME, owner=(0, 0, b"root", b"root")):
        ms = []
        for name, data, mode in files:
            uid, gid, un, gn = owner
            if data is None:
                ms.append(dirent(name, mode=mode, mtime=mtime, uid=uid, gid=gid, uname=un, gname=gn))
            else:
                ms.append(reg(name, data, mode=mode, mtime=mtime, uid=uid, gid=gid, uname=un, gname=gn))
        if order:
            ms = [ms[i] for i in order]
        return tar(*ms)

    t = build()
    case("tar-mtime", fam, "tar", "only mtimes differ", t, build(mtime=MTIME + 86400 * 365))
    case("tar-order", fam, "tar", "files of one directory in another order", t, build(order=[0, 3, 1, 2]))
    case("tar-owner", fam, "tar", "ordinary files owned by 1000:1000 (builder) instead of root",
         t, build(owner=(1000, 1000, b"builder", b"builder")))
    case("gzip-header", fam, "tar.gz", "gzip header name and mtime", gz(t), gz(t, mtime=MTIME, name="x.tar"))
    case("gzip-level", fam, "tar.gz", "gzip level 1 vs 9", gz(t, level=9), gz(t, level=1))
    case("xz-preset", fam, "tar.xz", "xz preset 0 vs 9", xz(t, 9), xz(t, 0))
    case("zstd-level", fam, "tar.zst", "zstd level 1 vs 19", zst(t, 19), zst(t, 1))
    case("gnu-vs-ustar", fam, "tar", "the same entries in GNU instead of ustar headers",
         t, tar(*[dirent(n, mode=m, magic=b"ustar  \x00") if d is None else reg(n, d, mode=m, magic=b"ustar  \x00")
                  for n, d, m in files]))
    zfiles = [zentry("d/", b"", method=0, mode=0o40755), zentry("d/a", HELLO), zentry("d/b", SCRIPT, mode=0o100755)]
    z = zipfile_bytes(zfiles)
    later = [dict(e, time=0x7000) for e in zfiles]
    case("zip-timestamps", fam, "zip", "zip DOS timestamps differ", z, zipfile_bytes(later))
    ut = struct.pack("<HHBI", 0x5455, 5, 1, MTIME)
    with_ut = [dict(e, extra=ut, lextra=ut) for e in zfiles]
    case("zip-extra-time", fam, "zip", "an extended timestamp extra field (UT) on every entry", z, zipfile_bytes(with_ut))
    # No extractor applies Unix bits in the external attributes of a zip
    # made on FAT (unzip, bsdtar and Go read the DOS attributes there):
    # A and B extract alike everywhere. The modes they get are each tool's
    # own default (unzip: the umask; bsdtar: 0664), hence the policy.
    case("zip-fat-unix-bits", fam, "zip",
         "version made by FAT, with vs without a world-writable setuid Unix mode in the external attributes",
         zipfile_bytes([zentry("run", SCRIPT, mode=0o100755, system=FAT, ext=0)]),
         zipfile_bytes([zentry("run", SCRIPT, mode=0o104777, system=FAT)]), policy="default-modes")
    case("deb-ar-mtime-owner", fam, "deb", "only the ar members' mtimes and owners differ",
         deb(deb_parts()), deb(deb_parts(), mtime=MTIME + 3600, owner=1000))
    case("cpio-mtime", fam, "cpio", "only cpio mtimes differ",
         cpio([cpio_entry("a", HELLO, ino=1), cpio_entry("b", SCRIPT, mode=0o100755, ino=2)]),
         cpio([cpio_entry("a", HELLO, ino=1, mtime=MTIME + 99), cpio_entry("b", SCRIPT, mode=0o100755, ino=2, mtime=MTIME + 99)]))

    def tree(mtime):
        def make(d):
            os.mkdir(os.path.join(d, "sub"))
            for name, data, mode in (("sub/a", HELLO, 0o644), ("b", SCRIPT, 0o755)):
                p = os.path.join(d, name)
                with open(p, "wb") as f:
                    f.write(data)
                os.chmod(p, mode)
                os.utime(p, (mtime, mtime))
            os.chmod(os.path.join(d, "sub"), 0o755)
            os.utime(os.path.join(d, "sub"), (mtime, mtime))
        return make

    case("dir-mtime", fam, "dir", "only mtimes differ", tree(MTIME), tree(MTIME + 1000))


def main():
    global OUT
    OUT = sys.argv[1]
    os.umask(0o022)
    tar_records()
    zips()
    names_links()
    metadata()
    control()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
