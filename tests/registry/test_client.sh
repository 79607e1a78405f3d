#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The registry client (src/lib/image/registry.c) against a real registry:
# Debian's docker-registry on 127.0.0.1, loaded with an OCI image built by umoci
# from busybox-static and pushed by skopeo, plus tests/registry/fakereg.py for
# Bearer tokens and cross-host redirects. Nothing leaves the loopback.
#
#   tests/registry/test_client.sh [REGGET]       (make registry-test builds REGGET)
#
# Under ASan + UBSan: make BUILD=build-asan CC=clang SAN="-fsanitize=address,undefined" \
#   MSB_LIBS="$(pkg-config --libs sqlite3 jansson libcurl libssl libcrypto)" build-asan/tests/regget
# then pass build-asan/tests/regget.
#
# Covers: anonymous pull over HTTP (OCI and Docker v2 manifests, by tag and by
# digest), 404, connection refused, HTTPS with a test CA (and without it),
# htpasswd Basic auth (right, wrong and missing password), Bearer token auth,
# no Authorization forwarded on a redirect to another host, resume with Range
# (206 seen in the registry's log), restart when the server ignores Range,
# a corrupt part file, and a tampered blob in the registry's storage.
# TAP output; exit 77 when a required tool is missing.
set -u
cd "$(dirname "$0")/../.."
REGGET=$(realpath "${1:-build/tests/regget}")

for tool in docker-registry skopeo umoci openssl python3 curl busybox; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool not installed"; exit 77; }
done
[ -x "$REGGET" ] || { echo "regget not built: make registry-test" >&2; exit 1; }

T=$(mktemp -d /tmp/msb-regtest.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

n=0 failed=0
ok() { # ok NAME STATUS
	n=$((n + 1))
	if [ "$2" = 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}
# run NAME EXPECT_RC PATTERN REGGET-ARGS...: run regget, check exit status and that PATTERN occurs in its output
run() {
	local name=$1 want=$2 pat=$3 rc
	shift 3
	"$REGGET" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pat" "$T/out" "$T/err"; then
		ok "$name" 0
	else
		ok "$name" 1
		echo "#   rc=$rc (want $want), pattern: $pat"
		sed 's/^/#   /' "$T/out" "$T/err"
	fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # wait_port URL [curl args]
	local i
	for i in $(seq 1 100); do
		curl -s -o /dev/null "$@" && return 0
		sleep 0.1
	done
	echo "# server at $1 did not come up" >&2
	return 1
}
# start_registry NAME PORT [tls|htpasswd]: a docker-registry on the shared storage, log in $T/NAME.log
start_registry() {
	local name=$1 port=$2 mode=${3:-}
	{
		printf 'version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$T/storage"
		printf 'http:\n  addr: 127.0.0.1:%s\n  secret: msb-test\n' "$port"
		[ "$mode" = tls ] && printf '  tls:\n    certificate: %s\n    key: %s\n' "$T/srv.pem" "$T/srv.key"
		[ "$mode" = htpasswd ] && printf 'auth:\n  htpasswd:\n    realm: msb-test\n    path: %s\n' "$T/htpasswd"
	} >"$T/$name.yml"
	docker-registry serve "$T/$name.yml" >"$T/$name.log" 2>&1 &
	PIDS+=($!)
	if [ "$mode" = tls ]; then wait_port "https://127.0.0.1:$port/v2/" --cacert "$T/ca.pem"; else wait_port "http://127.0.0.1:$port/v2/"; fi
}

# --- the image: two layers (busybox; 3 MiB of random bytes so a resume has something to skip) ---
(
	set -e
	cd "$T"
	umoci init --layout oci
	umoci new --image oci:t
	umoci unpack --image oci:t bundle
	mkdir -p bundle/rootfs/bin
	cp "$(command -v busybox)" bundle/rootfs/bin/busybox
	umoci repack --image oci:t bundle
	umoci unpack --image oci:t bundle2
	head -c 3145728 /dev/urandom >bundle2/rootfs/random
	umoci repack --image oci:t bundle2
	umoci config --image oci:t --config.cmd /bin/busybox --config.cmd sh
) >"$T/build.log" 2>&1 || { echo "Bail out! building the test image failed"; cat "$T/build.log"; exit 1; }

P1=$(free_port)
start_registry plain "$P1" || exit 1
skopeo copy -q --dest-tls-verify=false "oci:$T/oci:t" "docker://127.0.0.1:$P1/test/bb:1" >"$T/push.log" 2>&1 &&
	skopeo copy -q --dest-tls-verify=false --format v2s2 "oci:$T/oci:t" "docker://127.0.0.1:$P1/test/bbd:1" >>"$T/push.log" 2>&1 ||
	{ echo "Bail out! skopeo push failed"; cat "$T/push.log"; exit 1; }

# --- anonymous, plain HTTP ---
mkdir -p "$T/o1" "$T/o2" "$T/o3"
run "anonymous pull over HTTP (OCI manifest)" 0 "^ok" -k -j 2 "127.0.0.1:$P1" test/bb 1 "$T/o1"
grep -q "application/vnd.oci.image.manifest.v1+json" "$T/out"; ok "OCI content type reported" $?
MDIGEST=$(awk '/^manifest/ {print $2}' "$T/out")
bad=0
for f in "$T"/o1/*; do
	[ "sha256:$(sha256sum "$f" | cut -d' ' -f1)" = "sha256:$(basename "$f")" ] || bad=1
done
[ "$(find "$T/o1" -type f | wc -l)" = 2 ] && [ $bad = 0 ]; ok "two layer files, each named by its digest" $?
! ls "$T"/o1/*.part >/dev/null 2>&1; ok "no part files left" $?
run "pull by manifest digest" 0 "^ok" -k "127.0.0.1:$P1" test/bb "$MDIGEST" "$T/o2"
run "Docker v2 schema 2 manifest" 0 "vnd.docker.distribution.manifest.v2+json" -k "127.0.0.1:$P1" test/bbd 1 "$T/o3"
run "unknown image: not found" 1 "error not found: image not found in registry 127.0.0.1:$P1: test/nope:1" \
	-k "127.0.0.1:$P1" test/nope 1 "$T/o3"
run "unknown digest: not found" 1 "error not found" -k "127.0.0.1:$P1" test/bb \
	"sha256:0000000000000000000000000000000000000000000000000000000000000000" "$T/o3"
run "progress reported" 0 "progress 1 3" -k -P "127.0.0.1:$P1" test/bb 1 "$(mkdir -p "$T/o4" && echo "$T/o4")"
PDEAD=$(free_port)
run "connection refused names host and port" 1 "cannot connect to registry 127.0.0.1:$PDEAD (port $PDEAD)" \
	-k "127.0.0.1:$PDEAD" test/bb 1 "$T/o3"

# --- HTTPS with a test CA ---
(
	set -e
	cd "$T"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=msb test CA"
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1"
	printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf
) >"$T/ca.log" 2>&1 || { echo "Bail out! openssl failed"; cat "$T/ca.log"; exit 1; }
P2=$(free_port)
start_registry tls "$P2" tls || exit 1
mkdir -p "$T/t1"
run "HTTPS with the test CA as ca_file" 0 "^ok" -c "$T/ca.pem" "127.0.0.1:$P2" test/bb 1 "$T/t1"
run "HTTPS without the CA: TLS error mentions CA and insecure" 1 "TLS connection to registry 127.0.0.1:$P2 failed.*insecure" \
	"127.0.0.1:$P2" test/bb 1 "$T/t1"
run "CA file without a certificate is refused up front" 1 "holds no PEM certificate" -c "$T/ext.cnf" \
	"127.0.0.1:$P2" test/bb 1 "$T/t1"

# --- htpasswd (Basic) ---
python3 -W ignore -c 'import crypt; print("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' >"$T/htpasswd"
P3=$(free_port)
start_registry auth "$P3" htpasswd || exit 1
mkdir -p "$T/h1"
run "Basic auth with the right password" 0 "^ok" -k -u alice -p s3cret "127.0.0.1:$P3" test/bb 1 "$T/h1"
run "wrong password: authentication failed, says how to log in" 1 \
	"authentication failed for registry 127.0.0.1:$P3; run \`msb registry login 127.0.0.1:$P3\`" \
	-k -u alice -p wrong "127.0.0.1:$P3" test/bb 1 "$T/h1"
run "no credentials: authentication required" 1 "error permission denied: authentication required for registry" \
	-k "127.0.0.1:$P3" test/bb 1 "$T/h1"
! grep -q "s3cret\|wrong" "$T/out" "$T/err"; ok "no password in the output" $?

# --- resume: the big layer, half of it already in the part file ---
BIG=$(find "$T/o1" -type f -size +1M | head -1)
BIGHEX=$(basename "$BIG")
BIGSIZE=$(stat -c %s "$BIG")
HALF=$((BIGSIZE / 2))
mkdir -p "$T/r1"
head -c "$HALF" "$BIG" >"$T/r1/$BIGHEX.part"
: >"$T/plain.log.mark"
before=$(wc -l <"$T/plain.log")
run "resume a half-downloaded blob" 0 "^ok" -k -b "sha256:$BIGHEX:$BIGSIZE" "127.0.0.1:$P1" test/bb - "$T/r1"
cmp -s "$BIG" "$T/r1/$BIGHEX"; ok "resumed blob is complete and correct" $?
tail -n +"$((before + 1))" "$T/plain.log" | grep "blobs/sha256:$BIGHEX" | grep -q "http.response.status=206.*http.response.written=$((BIGSIZE - HALF))\b"
ok "the registry served only the missing $((BIGSIZE - HALF)) bytes (206)" $?
mkdir -p "$T/r2"
head -c "$HALF" /dev/zero >"$T/r2/$BIGHEX.part"
run "a corrupt part file: digest mismatch" 1 "digest mismatch: expected sha256:$BIGHEX, got" \
	-k -b "sha256:$BIGHEX:$BIGSIZE" "127.0.0.1:$P1" test/bb - "$T/r2"
[ ! -e "$T/r2/$BIGHEX.part" ] && [ ! -e "$T/r2/$BIGHEX" ]; ok "corrupt part removed, no final file" $?
run "the next try downloads it whole" 0 "^ok" -k -b "sha256:$BIGHEX:$BIGSIZE" "127.0.0.1:$P1" test/bb - "$T/r2"
run "a complete, correct part file is just renamed" 0 "^ok" -k -b "sha256:$BIGHEX:$BIGSIZE" "127.0.0.1:$PDEAD" test/bb - \
	"$(mkdir -p "$T/r3" && cp "$BIG" "$T/r3/$BIGHEX.part" && echo "$T/r3")"
run "wrong size in the descriptor: size mismatch" 1 "sent $BIGSIZE bytes\|more than the" \
	-k -b "sha256:$BIGHEX:$((BIGSIZE - 1))" "127.0.0.1:$P1" test/bb - "$(mkdir -p "$T/r4" && echo "$T/r4")"
[ ! -e "$T/r4/$BIGHEX" ] && [ ! -e "$T/r4/$BIGHEX.part" ]; ok "no final and no part file after a size mismatch" $?

# --- Bearer tokens and redirects (fakereg.py) ---
P4=$(free_port)
head -c 200000 /dev/urandom >"$T/fakeblob"
python3 tests/registry/fakereg.py "$P4" "$T/fakeblob" "$T/fake.log" >"$T/fake.out" 2>&1 &
PIDS+=($!)
wait_port "http://127.0.0.1:$P4/v2/" || exit 1
FD=$(cut -d' ' -f1 "$T/fake.out")
mkdir -p "$T/f1" "$T/f2"
head -c 1000 "$T/fakeblob" >"$T/f1/${FD#sha256:}.part"
run "Bearer token auth, blob redirected to another host" 0 "^ok" -k -u u -p p "127.0.0.1:$P4" test/r 1 "$T/f1"
cmp -s "$T/fakeblob" "$T/f1/${FD#sha256:}"; ok "redirected blob restarted when Range was ignored, and correct" $?
grep -q "^/token?service=fake&scope=repository%3Atest%2Fr%3Apull host=127.0.0.1:$P4 auth=Basic" "$T/fake.log"
ok "token requested with service, scope and basic credentials" $?
[ "$(grep -c "^/token" "$T/fake.log")" = 1 ]; ok "token fetched once and reused" $?
grep -q "^/v2/test/r/blobs/$FD .*auth=Bearer tok-123.abc range=bytes=1000-" "$T/fake.log"; ok "registry got the token and the Range" $?
grep "^/storage/" "$T/fake.log" | grep -q "host=127.0.0.2:$P4 auth=- range=bytes=1000-"
ok "no Authorization forwarded to the redirect target" $?
run "Bearer: wrong password" 1 "authentication failed for registry 127.0.0.1:$P4" -k -u u -p x "127.0.0.1:$P4" test/r 1 "$T/f2"
run "Bearer: anonymous token refused" 1 "authentication required for registry 127.0.0.1:$P4" -k "127.0.0.1:$P4" test/r 1 "$T/f2"

# --- a tampered blob in the registry's storage (last: it breaks the image) ---
DATA="$T/storage/docker/registry/v2/blobs/sha256/${BIGHEX:0:2}/$BIGHEX/data"
head -c "$BIGSIZE" /dev/urandom >"$DATA"
mkdir -p "$T/x1"
run "tampered blob: digest mismatch names the blob" 1 "blob sha256:$BIGHEX of test/bb: digest mismatch: expected sha256:$BIGHEX, got sha256:" \
	-k "127.0.0.1:$P1" test/bb 1 "$T/x1"
[ ! -e "$T/x1/$BIGHEX" ] && [ ! -e "$T/x1/$BIGHEX.part" ]; ok "no final file and no part file for the tampered blob" $?

echo "1..$n"
[ $failed = 0 ] || { echo "# $failed of $n checks failed"; exit 1; }
