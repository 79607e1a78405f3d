#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile image layers: one tar per case, each of which a safe layer
extractor must reject (or neutralise without touching anything outside the
layer root).

    hostile_tars.py OUTDIR      writes OUTDIR/<case>.tar and OUTDIR/cases.txt

Every tar also holds a harmless file `ok.txt` first, so an extractor that
stops at the bad entry has still seen a valid one. cases.txt lists
"<case> <what it tries>". The tars are deterministic (mtime 0, root owner).
"""
import io
import os
import sys
import tarfile

CASES = []


def case(name, what):
    def reg(fn):
        CASES.append((name, what, fn))
        return fn
    return reg


def info(name, type_=tarfile.REGTYPE, size=0, mode=0o644, **kw):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.size = size
    ti.mode = mode
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


def add_file(tf, name, data=b"x\n", **kw):
    tf.addfile(info(name, size=len(data), **kw), io.BytesIO(data))


def add_dir(tf, name, **kw):
    tf.addfile(info(name, tarfile.DIRTYPE, mode=0o755, **kw))


@case("dotdot", "a file at ../escape (leaves the root)")
def _dotdot(tf):
    add_file(tf, "../escape", b"escaped\n")


@case("dotdot-nested", "a file at a/../../escape (leaves the root after normalisation)")
def _dotdot_nested(tf):
    add_dir(tf, "a")
    add_file(tf, "a/../../escape", b"escaped\n")


@case("absolute", "a file at the absolute path /etc/evil")
def _absolute(tf):
    add_file(tf, "/etc/evil", b"evil\n")


@case("symlink-abs-follow", "a symlink lnk -> /tmp, then a file lnk/pwned written through it")
def _symlink_abs(tf):
    tf.addfile(info("lnk", tarfile.SYMTYPE, mode=0o777, linkname="/tmp"))
    add_file(tf, "lnk/pwned", b"pwned\n")


@case("symlink-rel-follow", "a symlink lnk -> ../../../../../tmp, then lnk/pwned through it")
def _symlink_rel(tf):
    tf.addfile(info("lnk", tarfile.SYMTYPE, mode=0o777, linkname="../../../../../tmp"))
    add_file(tf, "lnk/pwned", b"pwned\n")


@case("hardlink-dotdot", "a hardlink to ../../etc/passwd (outside the root)")
def _hardlink_dotdot(tf):
    tf.addfile(info("hl", tarfile.LNKTYPE, linkname="../../etc/passwd"))


@case("hardlink-abs", "a hardlink to /etc/passwd")
def _hardlink_abs(tf):
    tf.addfile(info("hl", tarfile.LNKTYPE, linkname="/etc/passwd"))


@case("xattr-user-overlay", "a directory with a forged user.overlay.opaque xattr")
def _xattr_user(tf):
    ti = info("d", tarfile.DIRTYPE, mode=0o755)
    ti.pax_headers = {"SCHILY.xattr.user.overlay.opaque": "y"}
    tf.addfile(ti)
    add_file(tf, "d/f", b"f\n")


@case("xattr-trusted-overlay", "a directory with a forged trusted.overlay.opaque xattr")
def _xattr_trusted(tf):
    ti = info("d", tarfile.DIRTYPE, mode=0o755)
    ti.pax_headers = {"SCHILY.xattr.trusted.overlay.opaque": "y"}
    tf.addfile(ti)


@case("device-char", "a character device node mem (1,1 = /dev/mem)")
def _dev_char(tf):
    tf.addfile(info("mem", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=1))


@case("device-block", "a block device node sda (8,0)")
def _dev_block(tf):
    tf.addfile(info("sda", tarfile.BLKTYPE, mode=0o666, devmajor=8, devminor=0))


HUGE = 1 << 40  # 1 TiB declared


def huge_tar(path):
    """A regular file whose header declares 1 TiB, followed by 1 KiB of data
    and the end of the archive: an extractor must not trust the size."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        add_file(tf, "ok.txt", b"ok\n")
    # Rewrite: header of a 1 TiB file appended before the end-of-archive blocks.
    with open(path, "rb") as f:
        data = f.read()
    end = len(data)
    while end >= 512 and data[end - 512:end] == b"\0" * 512:
        end -= 512
    hdr = info("huge", size=HUGE).tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    with open(path, "wb") as f:
        f.write(data[:end] + hdr + b"h" * 1024 + b"\0" * 1024)


def write_all(out):
    os.makedirs(out, exist_ok=True)
    lines = []
    for name, what, fn in CASES:
        p = os.path.join(out, name + ".tar")
        with tarfile.open(p, "w", format=tarfile.PAX_FORMAT) as tf:
            add_file(tf, "ok.txt", b"ok\n")
            fn(tf)
        lines.append("%s %s" % (name, what))
    huge_tar(os.path.join(out, "huge-size.tar"))
    lines.append("huge-size a regular file declaring 1 TiB with only 1 KiB of data")
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return [line.split(" ", 1)[0] for line in lines]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: hostile_tars.py OUTDIR", file=sys.stderr)
        sys.exit(2)
    for n in write_all(sys.argv[1]):
        print(n)
