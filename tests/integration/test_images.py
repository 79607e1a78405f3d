# SPDX-License-Identifier: Apache-2.0
"""OCI images end to end (issue 3): pull from a real docker-registry in the
test world (HTTP, HTTPS with the test CA, htpasswd auth), digest pins and
verification, hostile layers, whiteouts across layers, load/save, the layer
store (shared layers, rmi, prune), pull policies, and the image config in
sandboxes. Images come from tests/world/mkimages.sh (built from busybox-static
and the host's python3; nothing is fetched from the internet); tests that
tamper with a registry build their own image and run their own registry."""
import gzip
import hashlib
import io
import json
import os
import pwd
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid

import pytest

from conftest import MODE, TEST_USER


@pytest.fixture(scope="session")
def images(world):
    if os.geteuid() == 0:
        world.ensure_images()
    if not os.path.exists(os.path.join(world.images_dir, ".done")):
        pytest.skip("test images not built (run scripts/world.sh images as root)")
    return world


def reg(world, repo):
    return "%s/%s" % (world.registry, repo)


def store_layers(msb):
    d = os.path.join(msb.home, "images", "layers")
    return sorted(x for x in os.listdir(d) if not x.startswith(".")) if os.path.isdir(d) else []


def store_refs(msb):
    d = os.path.join(msb.home, "images", "refs")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def readable(path):
    """Let the unprivileged test user read a world file (copied to /tmp)."""
    if MODE != "user":
        return path
    d = tempfile.mkdtemp(prefix="msb-img-", dir="/tmp")
    os.chmod(d, 0o755)
    dst = os.path.join(d, os.path.basename(path))
    shutil.copy(path, dst)
    os.chmod(dst, 0o644)
    return dst


# ---- a private registry and hand-built images ---------------------------------------


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Registry:
    """A docker-registry of our own on 127.0.0.1, with an access log."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="msb-reg-")
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        cfg = os.path.join(self.dir, "config.yml")
        with open(cfg, "w") as f:
            f.write("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s/data\n"
                    "  delete:\n    enabled: true\nhttp:\n  addr: %s\nlog:\n  level: info\n"
                    "  accesslog:\n    disabled: false\n" % (self.dir, self.host))
        self.log = os.path.join(self.dir, "registry.log")
        self.proc = subprocess.Popen(["docker-registry", "serve", cfg], stdout=open(self.log, "w"),
                                     stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start: " + open(self.log).read())

    def requests(self):
        text = open(self.log).read()
        return [l for l in text.splitlines() if '"GET /v2/' in l or '"HEAD /v2/' in l]

    def blob_path(self, digest):
        h = digest.split(":", 1)[1]
        return os.path.join(self.dir, "data", "docker", "registry", "v2", "blobs", "sha256", h[:2], h, "data")

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def registry(world):
    r = Registry()
    yield r
    r.close()


def tar_layer(files):
    """files: {path: bytes | None (dir) | ('sym', target)} -> uncompressed tar bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path in sorted(files):
            v = files[path]
            ti = tarfile.TarInfo(path)
            ti.mtime = 0
            if v is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            elif isinstance(v, tuple):
                ti.type, ti.linkname = tarfile.SYMTYPE, v[1]
                tf.addfile(ti)
            else:
                ti.mode, ti.size = 0o755 if path.startswith("bin/") else 0o644, len(v)
                tf.addfile(ti, io.BytesIO(v))
    return raw.getvalue()


def busybox_files():
    files = {"bin": None, "bin/busybox": open("/bin/busybox", "rb").read(), "etc": None, "tmp": None,
             "etc/os-release": b"ID=msbtest-own\n"}
    for c in ("sh", "cat", "ls", "true", "echo"):
        files["bin/" + c] = ("sym", "busybox")
    return files


def push_image(reg_host, repo, layers, cmd=("/bin/sh",), workdir=None, stop_signal=None):
    """Build an OCI layout from tar layers (gzip) and push it; returns (manifest digest, layer digests)."""
    d = tempfile.mkdtemp(prefix="msb-oci-")
    blobs = os.path.join(d, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        open(os.path.join(blobs, h), "wb").write(data)
        return "sha256:" + h

    descs, diffs = [], []
    for t in layers:
        gz = gzip.compress(t, mtime=0)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz), "size": len(gz)})
        diffs.append("sha256:" + hashlib.sha256(t).hexdigest())
    conf = {"Env": ["PATH=/bin"], "Cmd": list(cmd)}
    if workdir:
        conf["WorkingDir"] = workdir
    if stop_signal:
        conf["StopSignal"] = stop_signal
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": conf,
                      "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg),
                                 "size": len(cfg)}, "layers": descs}).encode()
    md = put(man)
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                  "digest": md, "size": len(man)}]},
              open(os.path.join(d, "index.json"), "w"))
    open(os.path.join(d, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                    "oci:%s" % d, "docker://%s/%s" % (reg_host, repo)], check=True)
    shutil.rmtree(d)
    return md, [x["digest"] for x in descs]


# ---- pull ----------------------------------------------------------------------------


def test_pull_by_tag_and_run(msb, images):
    ref = reg(images, "test/busybox:1")
    p = msb.ok("pull", ref)
    assert "Pulled" in p.err
    out = msb.ok("images", "--format", "json").out
    imgs = json.loads(out)
    assert [i["reference"] for i in imgs] == [ref]
    assert imgs[0]["layer_count"] == 1 and imgs[0]["os"] == "linux" and imgs[0]["digest"].startswith("sha256:")
    assert "ID=msbtest-busybox" in msb.ok("run", ref, "--", "cat", "/etc/os-release").out
    # a second pull is a cache hit
    assert "already cached" in msb.ok("pull", ref).err


def test_pull_by_digest_and_wrong_pin(msb, images):
    digest = None
    for line in open(os.path.join(images.images_dir, "images.txt")):
        if line.startswith("test/busybox:1 "):
            digest = line.split()[1]
    assert digest and digest.startswith("sha256:")
    pinned = "%s@%s" % (reg(images, "test/busybox"), digest)
    msb.ok("pull", pinned)
    assert json.loads(msb.ok("image", "inspect", pinned, "--format", "json").out)["digest"] == digest
    wrong = "%s@sha256:%s" % (reg(images, "test/busybox"), "0" * 64)
    p = msb.run("pull", wrong)
    assert p.returncode == 1
    assert "sha256:" + "0" * 64 in p.err
    assert len(store_refs(msb)) == 1  # only the good pin


def test_pin_must_match_the_manifest(msb, images, registry):
    """The registry answers a pinned pull with a manifest that hashes to something else: refused."""
    md, _ = push_image(registry.host, "pin/x:1", [tar_layer(busybox_files())])
    other = "sha256:" + hashlib.sha256(b"other").hexdigest()
    p = msb.run("pull", "%s/pin/x@%s" % (registry.host, other))
    assert p.returncode == 1 and store_layers(msb) == []


def test_tampered_blob_is_rejected_and_cache_stays_clean(msb, images, registry):
    files = busybox_files()
    files["etc/unique"] = uuid.uuid4().hex.encode()
    md, layers = push_image(registry.host, "tamper/x:1", [tar_layer(files)])
    blob = registry.blob_path(layers[0])
    data = bytearray(open(blob, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(blob, "wb").write(bytes(data))
    p = msb.run("pull", registry.host + "/tamper/x:1")
    assert p.returncode == 1
    assert layers[0] in p.err, p.err
    assert store_layers(msb) == [] and store_refs(msb) == []
    tmp = os.path.join(msb.home, "images", "tmp")
    assert not [f for f in os.listdir(tmp) if f.endswith(".blob")]
    assert msb.run("run", "--pull", "never", registry.host + "/tamper/x:1", "--", "true").returncode != 0


def test_interrupted_download_resumes(msb, images, registry):
    files = busybox_files()
    files["big"] = os.urandom(4 << 20)
    md, layers = push_image(registry.host, "resume/x:1", [tar_layer(files)])
    blob = open(registry.blob_path(layers[0]), "rb").read()
    # what an interrupted pull leaves: the first part of the blob in tmp/<hex>.part
    msb.ok("images")  # creates the store
    tmp = os.path.join(msb.home, "images", "tmp")
    os.makedirs(tmp, exist_ok=True)
    part = os.path.join(tmp, layers[0].split(":")[1] + ".part")
    open(part, "wb").write(blob[: len(blob) // 2])
    if MODE == "user":
        pw = pwd.getpwnam(TEST_USER)
        os.chown(part, pw.pw_uid, pw.pw_gid)
    msb.ok("pull", registry.host + "/resume/x:1")
    assert any(" 206 " in l for l in registry.requests()), "no ranged request: %s" % registry.requests()
    assert msb.ok("run", registry.host + "/resume/x:1", "--", "sh", "-c", "wc -c < /big").out.strip() == str(4 << 20)
    assert not os.path.exists(part)


def test_cached_run_makes_no_registry_request(msb, images, registry):
    push_image(registry.host, "cache/x:1", [tar_layer(busybox_files())])
    ref = registry.host + "/cache/x:1"
    msb.ok("run", ref, "--", "true")
    before = len(registry.requests())
    msb.ok("run", "--pull", "if-missing", ref, "--", "true")
    assert len(registry.requests()) == before
    msb.ok("run", "--pull", "always", ref, "--", "true")
    assert len(registry.requests()) > before


def test_pull_policy_never(msb, images):
    p = msb.run("run", "--pull", "never", reg(images, "test/busybox:1"), "--", "true")
    assert p.returncode == 125 and "pull policy is never" in p.err
    p = msb.run("run", "--pull", "sometimes", reg(images, "test/busybox:1"), "--", "true")
    assert p.returncode != 0 and "invalid pull policy" in p.err


def test_https_registry_needs_the_ca(msb, images):
    ref = "%s/test/busybox:1" % images.registry_tls
    p = msb.run("pull", ref)
    assert p.returncode == 1 and "TLS" in p.err and "ca_certs" in p.err
    ca = readable(images.ca)
    msb.ok("pull", "--ca-certs", ca, ref)
    assert "ID=msbtest-busybox" in msb.ok("run", ref, "--", "cat", "/etc/os-release").out


def test_registry_with_auth(msb, images):
    ref = "%s/test/busybox:1" % images.registry_auth
    p = msb.run("pull", ref)
    assert p.returncode == 1 and "registry login" in p.err
    p = msb.run("registry", "login", images.registry_auth, "--username", images.registry_user,
                "--password-stdin", input=b"wrong\n")
    assert p.returncode == 0
    p = msb.run("pull", ref)
    assert p.returncode == 1 and "authentication failed" in p.err and "wrong" not in p.err
    msb.ok("registry", "login", images.registry_auth, "--username", images.registry_user, "--password-stdin",
           input=(images.registry_password + "\n").encode())
    secrets = os.path.join(msb.home, "secrets", "registries")
    for f in os.listdir(secrets):
        assert os.stat(os.path.join(secrets, f)).st_mode & 0o077 == 0
    msb.ok("pull", ref)
    assert msb.ok("registry", "ls").out.splitlines()[1].split() == [images.registry_auth, images.registry_user,
                                                                    "keyring"]
    msb.ok("registry", "logout", images.registry_auth)
    assert os.listdir(secrets) == []


def test_bad_references(msb):
    for bad, part in (("Foo/bar", "lowercase"), ("a@sha256:xyz", "sha256"), ("x:" + "t" * 200, "tag")):
        p = msb.run("pull", bad)
        assert p.returncode != 0 and "invalid image reference" in p.err, (bad, p.err)
    p = msb.run("run", "nosuch.invalid:1/x", "--", "true")
    assert p.returncode == 125


# ---- hostile layers ------------------------------------------------------------------


def hostile_cases(world):
    p = os.path.join(world.hostile_dir, "cases.txt")
    return [l.split(" ", 1)[0] for l in open(p)] if os.path.exists(p) else []


def test_hostile_layers_are_refused(msb, images):
    cases = [c for c in hostile_cases(images) if c != "huge-size"]
    assert cases, "no hostile cases built"
    canary = "/tmp/msb-canary-" + uuid.uuid4().hex
    for c in cases:
        p = msb.run("pull", reg(images, "test/hostile:%s" % c), timeout=120)
        bad = p.returncode != 0
        if not bad:
            # accepted only if harmless: nothing of the case may be visible as a device or escape
            out = msb.ok("run", reg(images, "test/hostile:%s" % c), "--", "sh", "-c",
                         "ls -la / /tmp 2>&1; find / -xdev \\( -type b -o -type c \\) 2>/dev/null | grep -v '^/dev'; true").out
            assert "escape" not in out and "pwned" not in out, (c, out)
    # nothing written outside the store
    for path in ("/escape", "/tmp/escape", "/etc/evil", "/tmp/pwned", "/pwned", canary,
                 os.path.join(msb.home, "escape"), os.path.join(msb.home, "images", "escape")):
        assert not os.path.exists(path), path


def test_hostile_dotdot_layer_names_the_entry(msb, images):
    p = msb.run("pull", reg(images, "test/hostile:1"), timeout=120)
    assert p.returncode == 1 and "unsafe" in p.err, p.err
    assert store_refs(msb) == []


def test_hostile_archive_load_is_refused(msb, images, scratch):
    """A docker archive whose layer has ../ and symlink-escape entries."""
    t = tarfile.open(os.path.join(scratch, "evil.tar"), "w")

    def add(name, data):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as lt:
        ti = tarfile.TarInfo("lnk")
        ti.type, ti.linkname = tarfile.SYMTYPE, "/tmp"
        lt.addfile(ti)
        ti = tarfile.TarInfo("lnk/pwned-" + os.path.basename(scratch))
        ti.size = 1
        lt.addfile(ti, io.BytesIO(b"x"))
    lb = layer.getvalue()
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(lb).hexdigest()]}}).encode()
    add("c.json", cfg)
    add("l/layer.tar", lb)
    add("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["evil:1"], "Layers": ["l/layer.tar"]}]).encode())
    t.close()
    if MODE == "user":
        os.chmod(os.path.join(scratch, "evil.tar"), 0o644)
    p = msb.run("load", "-i", os.path.join(scratch, "evil.tar"))
    assert p.returncode == 1 and "symlink" in p.err, p.err
    assert not os.path.exists("/tmp/pwned-" + os.path.basename(scratch))
    assert store_refs(msb) == [] and store_layers(msb) == []
    # an archive entry escaping the archive
    t = tarfile.open(os.path.join(scratch, "evil2.tar"), "w")
    ti = tarfile.TarInfo("../manifest.json")
    ti.size = 2
    t.addfile(ti, io.BytesIO(b"[]"))
    t.close()
    p = msb.run("load", "-i", os.path.join(scratch, "evil2.tar"))
    assert p.returncode == 1 and "unsafe" in p.err


# ---- layers, whiteouts, the store ----------------------------------------------------


def test_whiteouts_across_layers(msb, images):
    ref = reg(images, "test/multi:1")
    out = msb.ok("run", ref, "--", "sh", "-c",
                 "ls /data | sort | tr '\\n' ' '; echo; cat /data/re.txt; ls /opq | tr '\\n' ' '; echo;"
                 "test -e /dir2 && echo dir2 || echo nodir2; cat /etc/layer").out.splitlines()
    assert out[0].split() == ["added.txt", "keep.txt", "re.txt"]
    assert out[1] == "v2"
    assert out[2].split() == ["new.txt"]
    assert out[3] == "nodir2"
    assert out[4] == "4"


def test_shared_layers_rmi_and_prune(msb, images):
    bb, multi = reg(images, "test/busybox:1"), reg(images, "test/multi:1")
    msb.ok("pull", bb)
    n_bb = len(store_layers(msb))
    msb.ok("pull", multi)
    n_all = len(store_layers(msb))
    assert n_all > n_bb  # the busybox layer is stored once
    msb.ok("create", multi, "--name", "user1")
    p = msb.run("rmi", multi)
    assert p.returncode == 1 and "user1" in p.err and "some images failed to remove" in p.err
    msb.ok("rmi", bb)
    assert len(store_layers(msb)) == n_all  # multi still needs the busybox layer
    msb.ok("rmi", "-f", multi)
    assert len(store_layers(msb)) == n_all  # the sandbox still pins its layers
    msb.ok("stop", "user1")
    msb.ok("start", "user1")
    assert msb.ok("exec", "user1", "--", "cat", "/etc/layer").out.strip() == "4"
    msb.ok("rm", "-f", "user1")
    p = msb.ok("image", "prune", "-y")
    assert store_layers(msb) == []
    assert "Pruned" in p.err and [l.split(":")[0] for l in p.out.splitlines()] == [
        "  Image refs", "  Manifests", "  Layers"], p.out
    assert msb.run("image", "prune").returncode == 1  # no -y and no terminal


def test_concurrent_pulls_share_the_work(msb, images):
    ref = reg(images, "test/python:1")
    procs = [msb.popen("pull", "-q", ref, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert len(json.loads(msb.ok("images", "--format", "json").out)) == 1
    assert not [f for f in os.listdir(os.path.join(msb.home, "images", "tmp"))]


# ---- image config, load/save, the seed's short names -----------------------------------


def test_image_config_applied(msb, images):
    ref = reg(images, "test/python:1")
    msb.ok("pull", ref)
    info = json.loads(msb.ok("image", "inspect", ref, "--format", "json").out)
    assert info["config"]["entrypoint"] == ["python3"] and info["config"]["user"] == "app"
    out = msb.ok("run", ref, "--", "-c", "import os; print(os.getuid(), os.getcwd())").out.split()
    assert out[0] == "1000"
    # ENV merged under -e by key
    out = msb.ok("run", "-e", "PATH=/bin:/usr/bin", "-e", "X=1", ref, "--", "-c",
                 "import os; print(os.environ['PATH'], os.environ['X'])").out.split()
    assert out == ["/bin:/usr/bin", "1"]
    # --entrypoint replaces ENTRYPOINT and drops CMD; --user overrides USER
    assert msb.ok("run", "--entrypoint", "/bin/id", "-u", "root", ref, "--", "-u").out.strip() == "0"


def test_save_load_round_trip_on_a_fresh_home(msb, images, scratch):
    ref = reg(images, "test/multi:1")
    msb.ok("pull", ref)
    for fmt in ("docker", "oci"):
        out = os.path.join(scratch, "img-%s.tar" % fmt)
        msb.ok("save", "--format", fmt, "-o", out, ref)
        names = tarfile.open(out).getnames()
        assert ("manifest.json" in names) == (fmt == "docker") and ("index.json" in names) == (fmt == "oci")
    # a fresh home: load and run
    home2 = msb.home + "-2"
    os.makedirs(home2, mode=0o700)
    if MODE == "user":
        pw = pwd.getpwnam(TEST_USER)
        os.chown(home2, pw.pw_uid, pw.pw_gid)
    m2 = type(msb)(home2, msb.mode)
    try:
        for fmt in ("docker", "oci"):
            m2.ok("load", "-i", os.path.join(scratch, "img-%s.tar" % fmt), "-t", "restored-%s:1" % fmt)
            assert m2.ok("run", "restored-%s:1" % fmt, "--", "cat", "/etc/layer").out.strip() == "4"
            assert "gone.txt" not in m2.ok("run", "restored-%s:1" % fmt, "--", "ls", "/data").out
    finally:
        if MODE == "user":
            subprocess.run(["runuser", "-u", TEST_USER, "--", "rm", "-rf", home2])
        shutil.rmtree(home2, ignore_errors=True)


def test_seed_examples_by_short_name(msb, images):
    """The reference's documented commands, after loading the test images as `alpine` and `python`."""
    msb.ok("load", "-i", readable(os.path.join(images.images_dir, "busybox.tar")), "-t", "alpine")
    msb.ok("load", "-i", readable(os.path.join(images.images_dir, "python-oci.tar")), "-t", "python")
    assert "ID=msbtest-busybox" in msb.ok("run", "alpine", "--", "cat", "/etc/os-release").out
    assert msb.ok("run", "python", "--", "-c", "print(6*7)").out.strip() == "42"
    msb.ok("create", "python", "--name", "isolated")
    assert msb.ok("exec", "isolated", "--", "python3", "-c", "print('hi')").out.strip() == "hi"
    msb.ok("create", "python", "--name", "worker", "--user", "app", "--security", "restricted")
    assert msb.ok("exec", "worker", "--", "id", "-u").out.strip() == "1000"
    refs = [i["reference"] for i in json.loads(msb.ok("images", "--format", "json").out)]
    assert "docker.io/library/python:latest" in refs and "docker.io/library/alpine:latest" in refs
    p = msb.run("rmi", "alpine")
    assert p.returncode == 0
    assert msb.run("run", "--pull", "never", "alpine", "--", "true").returncode == 125


def test_killed_pull_leaves_nothing_that_passes_for_valid(msb, images):
    """SIGKILL a pull at several points: no reference appears until the image is complete, and the next pull
    finishes the job and runs."""
    ref = reg(images, "test/python:1")
    for delay in (0.05, 0.2, 0.5):
        p = msb.popen("pull", "-q", ref, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      start_new_session=True)
        time.sleep(delay)
        os.killpg(p.pid, 9)  # the puller (msb execs msb-image in place) and, in user mode, runuser
        p.wait()
        refs = json.loads(msb.ok("images", "--format", "json").out)
        if refs:  # the pull finished before the kill: it must then be whole
            assert msb.ok("run", ref, "--", "-c", "print(1)").out.strip() == "1"
            msb.ok("rmi", ref)
            msb.ok("image", "prune", "-y")
        else:
            assert msb.run("run", "--pull", "never", ref, "--", "-c", "1").returncode == 125
    msb.ok("pull", ref)
    assert msb.ok("run", ref, "--", "-c", "import json; print(json.dumps([1]))").out.strip() == "[1]"


def test_stop_signal_from_the_image(msb, images, registry):
    files = busybox_files()
    for c in ("sleep", "trap"):
        files["bin/" + c] = ("sym", "busybox")
    push_image(registry.host, "stopsig/x:1", [tar_layer(files)], stop_signal="SIGUSR1")
    ref = registry.host + "/stopsig/x:1"
    msb.ok("run", "-d", "--name", "sig", ref, "--", "sh", "-c",
           "trap 'echo got-usr1 > /tmp/sig; exit 0' USR1; while true; do sleep 0.1; done")
    time.sleep(0.5)
    msb.ok("stop", "sig")
    msb.ok("start", "sig")
    assert msb.ok("exec", "sig", "--", "cat", "/tmp/sig").out.strip() == "got-usr1"


def test_image_owners_seen_through_the_sandbox_map(msb, images):
    """Layer files keep the image's owners inside (root: through id-mapped layers); root can change image
    files (copy-up into the sandbox's own layer), other users cannot, and the store is never written."""
    ref = reg(images, "test/busybox:1")
    out = msb.ok("run", ref, "--", "sh", "-c",
                 "stat -c '%u %g' /home/app /bin/busybox; echo changed >> /etc/os-release && tail -1 /etc/os-release;"
                 "su app -s /bin/sh -c 'echo x >> /etc/passwd' 2>/dev/null && echo app-wrote || echo app-denied").out
    lines = out.split("\n")
    assert lines[0] == "1000 1000" and lines[1] == "0 0", out
    assert lines[2] == "changed" and lines[3] == "app-denied", out
    # the store's copy is untouched
    for d in store_layers(msb):
        p = os.path.join(msb.home, "images", "layers", d, "etc", "os-release")
        if os.path.exists(p):
            assert "changed" not in open(p).read()


def test_index_selects_the_platform_and_skips_attestations(msb, images, registry):
    """An OCI index with an attestation first, then arm64 and amd64 images: the host gets amd64,
    --platform linux/arm64 gets arm64, an absent platform is refused and names what exists."""
    d = tempfile.mkdtemp(prefix="msb-idx-")
    blobs = os.path.join(d, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        open(os.path.join(blobs, h), "wb").write(data)
        return "sha256:" + h, len(data)

    def image(arch, marker):
        files = busybox_files()
        files["etc/arch"] = marker.encode()
        t = tar_layer(files)
        gz = gzip.compress(t, mtime=0)
        ld, ls = put(gz)
        cfg = json.dumps({"architecture": arch, "os": "linux", "config": {"Env": ["PATH=/bin"]},
                          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest()]}}).encode()
        cd, cs = put(cfg)
        man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                          "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld,
                                      "size": ls}]}).encode()
        return put(man)

    att = image("unknown", "attestation")
    arm = image("arm64", "arm64")
    amd = image("amd64", "amd64")
    mt = "application/vnd.oci.image.manifest.v1+json"
    idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": mt, "digest": att[0], "size": att[1], "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
        {"mediaType": mt, "digest": arm[0], "size": arm[1], "platform": {"os": "linux", "architecture": "arm64"}},
        {"mediaType": mt, "digest": amd[0], "size": amd[1], "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
    idig, isz = put(idx)
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                                  "digest": idig, "size": isz}]},
              open(os.path.join(d, "index.json"), "w"))
    open(os.path.join(d, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--all", "--dest-tls-verify=false", "oci:%s" % d,
                    "docker://%s/multiarch/x:1" % registry.host], check=True)
    shutil.rmtree(d)
    ref = registry.host + "/multiarch/x:1"
    assert msb.ok("run", ref, "--", "cat", "/etc/arch").out == "amd64"
    msb.ok("rmi", ref)
    msb.ok("pull", "--platform", "linux/arm64", ref)
    info = json.loads(msb.ok("image", "inspect", ref, "--format", "json").out)
    assert info["architecture"] == "arm64"
    p = msb.run("pull", "-f", "--platform", "linux/s390x", ref)
    assert p.returncode == 1 and "arm64" in p.err and "amd64" in p.err, p.err
    # pinned by the index digest: still the host's image
    msb.ok("image", "prune", "-y")
    msb.ok("pull", "%s/multiarch/x@%s" % (registry.host, idig))
