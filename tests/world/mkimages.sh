#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build the test images from what is on this machine (nothing is fetched) with
# umoci, push them to the world's registry with skopeo, and write them as OCI
# layouts, OCI archives and docker archives under $WORLD_DIR/images/:
#
#   test/busybox:1  (and :latest)  busybox-static root; ID=msbtest-busybox; user app (1000)
#   test/multi:1    busybox + 3 layers: whiteouts, an opaque dir, a re-added file
#   test/python:1   busybox + the host's python3.11 and the libraries it needs;
#                   Entrypoint ["python3"], User app
#   test/hostile:1  busybox + a layer with ../escape; test/hostile:<case> for
#                   every case of hostile_tars.py (one bad layer each)
#
# Root only; runs itself inside the world (scripts/world.sh up must have run).
# Layers are deterministic (mtime 0, sorted, numeric owners, fixed created).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WSRC=$REPO/tests/world
. "$WSRC/world.env"
NS=${MSB_WORLD:-$WORLD_NS}
WORLD_DIR=${MSB_WORLD_DIR:-/run/$NS}
PY=/usr/bin/python3
export MSB_WORLD=$NS MSB_WORLD_DIR=$WORLD_DIR

die() { echo "mkimages.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
for t in umoci skopeo busybox tar ldd; do command -v $t >/dev/null || die "missing $t (make deps)"; done
[ -e "/run/netns/$NS" ] || die "world $NS is not up (scripts/world.sh up)"
if [ "$(stat -L -c %i /proc/self/ns/net)" != "$(stat -L -c %i "/run/netns/$NS")" ]; then
	exec ip netns exec "$NS" "$0" "$@"
fi

start=$(date +%s.%N)
OUT=$WORLD_DIR/images
REG=$REGISTRY_HOST:$REGISTRY_HTTP_PORT
CREATED=2024-01-01T00:00:00Z
PATHV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORK=$(mktemp -d /tmp/msb-mkimages.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT/oci"
export LC_ALL=C SOURCE_DATE_EPOCH=0

# tar_dir DIR OUT.tar: a deterministic layer of DIR's contents (no ./ prefix).
tar_dir() {
	find "$1" -exec touch -h -d @0 {} +
	(cd "$1" && tar --sort=name --mtime=@0 --numeric-owner --format=gnu -cf "$2" $(ls -A | sort))
}

# new_image NAME LAYER.tar...: an OCI layout $OUT/oci/NAME, tag 1, with those layers.
new_image() {
	local name=$1 l
	shift
	umoci init --layout "$OUT/oci/$name"
	umoci new --image "$OUT/oci/$name:1"
	for l in "$@"; do
		umoci raw add-layer --image "$OUT/oci/$name:1" --history.created "$CREATED" \
			--history.created_by "msb mkimages: $(basename "$l" .tar)" "$l"
	done
}

# config NAME umoci-config-args...
config() {
	local name=$1
	shift
	umoci config --image "$OUT/oci/$name:1" --no-history --created "$CREATED" --os linux --architecture amd64 "$@"
}

# ---- busybox ------------------------------------------------------------------
bb=$WORK/busybox
mkdir -p "$bb"/{bin,etc,root,tmp,home/app,proc,sys,dev,usr/bin,var}
cp /bin/busybox "$bb/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$bb/bin/$a"; done
cat >"$bb/etc/os-release" <<EOF
NAME="msb test busybox"
ID=msbtest-busybox
VERSION_ID=1
PRETTY_NAME="msb test busybox 1"
EOF
cat >"$bb/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$bb/etc/group" <<EOF
root:x:0:
app:x:1000:
nogroup:x:65534:
EOF
echo "msbtest" >"$bb/etc/hostname"
chmod 1777 "$bb/tmp"
chmod 0700 "$bb/root"
chown -R 0:0 "$bb"
chown 1000:1000 "$bb/home/app"
tar_dir "$bb" "$WORK/busybox.tar"
new_image busybox "$WORK/busybox.tar"
config busybox --config.env "PATH=$PATHV" --config.cmd /bin/sh --config.workingdir / \
	--config.label org.opencontainers.image.title=msb-test-busybox --config.label msb.test.image=busybox

# ---- multi: whiteouts and an opaque directory across layers ---------------------
# Result: /data/{keep.txt,added.txt,re.txt=v2}, no /data/gone.txt, /opq holds only
# new.txt, no /dir2, /etc/layer = 4.
$PY - "$WORK" <<'EOF'
import io, sys, tarfile
work = sys.argv[1]
def layer(name, entries):
    with tarfile.open("%s/%s.tar" % (work, name), "w", format=tarfile.GNU_FORMAT) as tf:
        for path, data in entries:
            ti = tarfile.TarInfo(path)
            ti.mtime = 0; ti.uid = ti.gid = 0; ti.uname = ti.gname = ""
            if data is None:
                ti.type = tarfile.DIRTYPE; ti.mode = 0o755
                tf.addfile(ti)
            else:
                ti.mode = 0o644; ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
layer("multi2", [("data", None), ("data/keep.txt", b"keep\n"), ("data/gone.txt", b"gone\n"),
                 ("data/re.txt", b"v1\n"), ("dir2", None), ("dir2/f.txt", b"dir2\n"),
                 ("etc", None), ("etc/layer", b"2\n"), ("opq", None), ("opq/old1.txt", b"old1\n"),
                 ("opq/sub", None), ("opq/sub/old2.txt", b"old2\n")])
layer("multi3", [("data", None), ("data/.wh.gone.txt", b""), ("data/.wh.re.txt", b""),
                 ("data/added.txt", b"added\n"), ("etc", None), ("etc/layer", b"3\n"),
                 ("opq", None), ("opq/.wh..wh..opq", b""), ("opq/new.txt", b"new\n")])
layer("multi4", [(".wh.dir2", b""), ("data", None), ("data/re.txt", b"v2\n"),
                 ("etc", None), ("etc/layer", b"4\n")])
EOF
new_image multi "$WORK/busybox.tar" "$WORK/multi2.tar" "$WORK/multi3.tar" "$WORK/multi4.tar"
config multi --config.env "PATH=$PATHV" --config.cmd /bin/sh --config.workingdir /data \
	--config.label msb.test.image=multi

# ---- python: the host's interpreter ----------------------------------------------
py=$WORK/python
PYV=python3.11
mkdir -p "$py/usr/bin" "$py/usr/lib"
cp /usr/bin/$PYV "$py/usr/bin/$PYV"
ln -s $PYV "$py/usr/bin/python3"
ln -s python3 "$py/usr/bin/python"
tar -C /usr/lib -cf - --exclude=__pycache__ --exclude="$PYV/test" --exclude="$PYV/idlelib" \
	--exclude="$PYV/tkinter" --exclude="$PYV/turtledemo" --exclude="$PYV/ensurepip" \
	--exclude="$PYV/lib2to3" --exclude="$PYV/config-3.*" --exclude="$PYV/site-packages" \
	--exclude="$PYV/dist-packages" --exclude="$PYV/pydoc_data" --exclude="$PYV/unittest/test" \
	"$PYV" | tar -C "$py/usr/lib" -xf -
for lib in $( (ldd /usr/bin/$PYV; for so in /usr/lib/$PYV/lib-dynload/*.so; do ldd "$so"; done) |
	awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u); do
	mkdir -p "$py$(dirname "$lib")"
	cp -L "$lib" "$py$lib"
done
chown -R 0:0 "$py"
tar_dir "$py" "$WORK/python.tar"
new_image python "$WORK/busybox.tar" "$WORK/python.tar"
config python --config.env "PATH=$PATHV" --config.env LANG=C.UTF-8 --config.entrypoint python3 \
	--config.user app --config.workingdir /home/app --config.label msb.test.image=python

# ---- hostile ---------------------------------------------------------------------
HOST=$WORLD_DIR/hostile
rm -rf "$HOST"
cases=$($PY "$WSRC/hostile_tars.py" "$HOST")
new_image hostile "$WORK/busybox.tar" "$HOST/dotdot.tar"
config hostile --config.cmd /bin/sh --config.label msb.test.image=hostile
for c in $cases; do
	umoci init --layout "$OUT/oci/hostile-$c"
	umoci new --image "$OUT/oci/hostile-$c:1"
	umoci raw add-layer --image "$OUT/oci/hostile-$c:1" --history.created "$CREATED" "$WORK/busybox.tar"
	umoci raw add-layer --image "$OUT/oci/hostile-$c:1" --history.created "$CREATED" "$HOST/$c.tar"
	umoci config --image "$OUT/oci/hostile-$c:1" --no-history --created "$CREATED" --os linux \
		--architecture amd64 --config.cmd /bin/sh
done

# ---- push and archive ---------------------------------------------------------------
SK="skopeo --insecure-policy copy -q --dest-tls-verify=false"
push() { # LAYOUT-NAME REPO:TAG [archives]
	$SK "oci:$OUT/oci/$1:1" "docker://$REG/$2"
	if [ -n "${3:-}" ]; then
		local base=${2%%:*}
		base=${base##*/}
		$SK "oci:$OUT/oci/$1:1" "docker-archive:$OUT/$base.tar:$2"
		$SK "oci:$OUT/oci/$1:1" "oci-archive:$OUT/$base-oci.tar:$2"
	fi
}
push busybox test/busybox:1 archives
push busybox test/busybox:latest
push multi test/multi:1 archives
push python test/python:1 archives
push hostile test/hostile:1 archives
for c in $cases; do push "hostile-$c" "test/hostile:$c"; done

{
	for r in test/busybox:1 test/busybox:latest test/multi:1 test/python:1 test/hostile:1; do
		echo "$r $(skopeo --insecure-policy inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/$r")"
	done
	for c in $cases; do echo "test/hostile:$c"; done
} >"$OUT/images.txt"
touch "$OUT/.done"
printf 'mkimages.sh: images built and pushed to %s in %.1f s (list: %s)\n' "$REG" \
	"$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" "$OUT/images.txt" >&2
