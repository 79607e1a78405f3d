#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seeds of tests/fuzz/fuzz_load.c into tests/fuzz/corpus/load/.

    python3 tests/fuzz/load_seeds.py [DIR]

Small docker-archive and OCI-layout tars (one or two tiny layers, no busybox), a few that are
valid but unusual (gzip outer tar, nested index, several images, no name), and broken variants.
The output is deterministic: every mtime is 0 and the tar padding is kept to the end blocks.
Regression seeds (regress-*) are not written here; they are kept as found.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

tarfile.RECORDSIZE = tarfile.BLOCKSIZE  # no padding past the two end blocks: keeps seeds small

ARCH = "amd64"


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def mktar(entries, fmt=tarfile.USTAR_FORMAT):
    """entries: (name, bytes) for files, (name, None) for directories, (name, ("sym", target)) for symlinks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            if data is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif isinstance(data, tuple):
                ti.type = tarfile.SYMTYPE if data[0] == "sym" else tarfile.LNKTYPE
                ti.linkname = data[1]
                t.addfile(ti)
            else:
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def gz(b):
    return gzip.compress(b, mtime=0)


LAYER1 = mktar([("etc", None), ("etc/hello.txt", b"hello from a fuzz seed\n"), ("bin", None),
                ("bin/sh", ("sym", "/bin/true"))])
LAYER2 = mktar([("etc/.wh.hello.txt", b""), ("etc/other", b"x"), ("etc/link", ("hard", "etc/other"))])


def config(diff_ids, arch=ARCH):
    return json.dumps({"architecture": arch, "os": "linux",
                       "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"], "WorkingDir": "/"},
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}, separators=(",", ":")).encode()


def docker(images, extra=(), fmt=tarfile.USTAR_FORMAT, bad_diff_id=False):
    """images: (repotags or None, [(layer_tar, compress)]) each."""
    files, manifest, seen = [], [], set()
    for tags, layers in images:
        paths = []
        for raw, comp in layers:
            blob = gz(raw) if comp else raw
            d = hashlib.sha256(raw).hexdigest()
            p = d + "/layer.tar"
            if p not in seen:
                seen.add(p)
                files += [(d, None), (p, blob)]
            paths.append(p)
        cfg = config([sha(raw + b"x" if bad_diff_id else raw) for raw, _ in layers])
        cname = hashlib.sha256(cfg).hexdigest() + ".json"
        if cname not in seen:
            seen.add(cname)
            files.append((cname, cfg))
        item = {"Config": cname, "Layers": paths}
        if tags is not None:
            item["RepoTags"] = tags
        manifest.append(item)
    files += list(extra)
    files.append(("manifest.json", json.dumps(manifest).encode()))
    return mktar(files, fmt)


MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"


class OCI:
    def __init__(self):
        self.blobs = {}

    def blob(self, b):
        d = sha(b)
        self.blobs[d] = b
        return {"digest": d, "size": len(b)}

    def manifest(self, layers, arch=ARCH):
        ls = []
        for raw, comp in layers:
            blob = {None: raw, "gzip": gz(raw)}.get(comp)
            mt = MT_LAYER + {None: "", "gzip": "+gzip"}.get(comp, "")
            if comp == "zstd":
                import subprocess
                blob = subprocess.run(["zstd", "-q", "-c", "--no-check"], input=raw, stdout=subprocess.PIPE,
                                      check=True).stdout
                mt = MT_LAYER + "+zstd"
            ls.append(dict(mediaType=mt, **self.blob(blob)))
        cfg = config([sha(raw) for raw, _ in layers], arch)
        m = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": dict(mediaType=MT_CONFIG, **self.blob(cfg)),
             "layers": ls}
        return dict(mediaType=MT_MANIFEST, **self.blob(json.dumps(m, separators=(",", ":")).encode()))

    def index(self, entries):
        return {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries}

    def tar(self, index, extra=(), layout=True):
        files = [("blobs", None), ("blobs/sha256", None)]
        files += [("blobs/sha256/" + d[7:], b) for d, b in sorted(self.blobs.items())]
        if layout:
            files.append(("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'))
        files += list(extra)
        files.append(("index.json", json.dumps(index).encode()))
        return mktar(files)


def named(desc, name, **kw):
    return dict(desc, annotations={"org.opencontainers.image.ref.name": name}, **kw)


def seeds():
    s = {}
    s["docker-min.tar"] = docker([(["fuzz/hello:latest"], [(LAYER1, False)])])
    s["docker-gzip-layers.tar"] = docker([(["fuzz/two:1", "localhost:5000/fuzz/two:2"],
                                           [(LAYER1, True), (LAYER2, True)])])
    s["docker-pax.tar"] = docker([(["fuzz/pax"], [(LAYER1, False), (LAYER2, False)])], fmt=tarfile.PAX_FORMAT)
    s["docker-noname.tar"] = docker([(None, [(LAYER1, False)])])
    s["docker-multi.tar"] = docker([(["fuzz/a:1"], [(LAYER1, False)]), (["fuzz/b:1"], [(LAYER1, False), (LAYER2, True)])])
    s["docker-outer.tar.gz"] = gz(s["docker-min.tar"])
    s["docker-zero-layers.tar"] = docker([(["fuzz/empty:1"], [])])

    o = OCI()
    s["oci-min.tar"] = o.tar(o.index([named(o.manifest([(LAYER1, "gzip")]), "fuzz/oci:1")]))
    o = OCI()
    m = o.manifest([(LAYER1, None), (LAYER2, "zstd")])
    s["oci-platform.tar"] = o.tar(o.index([
        named(dict(o.manifest([(LAYER1, None)], "arm64"), platform={"os": "linux", "architecture": "arm64"}),
              "fuzz/oci:arm"),
        named(dict(m, platform={"os": "linux", "architecture": ARCH}), "fuzz/oci:2"),
        dict(m, platform={"os": "unknown", "architecture": "unknown"},
             annotations={"vnd.docker.reference.type": "attestation-manifest",
                          "vnd.docker.reference.digest": m["digest"]})]))
    o = OCI()
    inner = o.index([named(o.manifest([(LAYER2, "gzip")]), "fuzz/nested:inner")])
    ib = json.dumps(inner).encode()
    outer = o.index([dict(mediaType=MT_INDEX, **o.blob(ib)), dict(mediaType=MT_INDEX, **o.blob(ib))])
    s["oci-nested.tar"] = o.tar(outer)
    o = OCI()
    s["oci-noname.tar"] = o.tar(o.index([o.manifest([(LAYER1, "gzip")])]), layout=False)

    # broken variants
    b = s["docker-min.tar"]
    s["broken-truncated.tar"] = b[:len(b) // 2]
    s["broken-not-tar"] = b"this is not a tar archive\n" * 4
    s["broken-empty.tar"] = b"\0" * 1024
    s["broken-unsafe-name.tar"] = mktar([("../escape", b"x"), ("manifest.json", b"[]")])
    s["broken-links.tar"] = mktar([("manifest.json", ("sym", "/etc/passwd")), ("index.json", ("hard", "/etc/passwd"))])
    s["broken-manifest-json.tar"] = mktar([("manifest.json", b'[{"Config":"c.json","Layers":["../../x"]}]'),
                                          ("c.json", config([sha(LAYER1)]))])
    s["broken-diff-id.tar"] = docker([(["fuzz/bad:1"], [(LAYER1, False)])], bad_diff_id=True)
    s["broken-pin.tar"] = docker([(["fuzz/pin@sha256:" + "0" * 64], [(LAYER2, False)])])
    o = OCI()
    m = o.manifest([(LAYER1, "gzip")])
    o.blobs[m["digest"]] = o.blobs[m["digest"]].replace(b'"schemaVersion":2', b'"schemaVersion":3')
    s["broken-oci-digest.tar"] = o.tar(o.index([named(m, "fuzz/bad:2")]))
    o = OCI()
    empty = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": []}
    s["broken-oci-empty-index.tar"] = o.tar(o.index([dict(mediaType=MT_INDEX, **o.blob(json.dumps(empty).encode()))]))
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "load")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        assert len(data) < 64 << 10, name
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{len(data):6d} {name}")


if __name__ == "__main__":
    main()
