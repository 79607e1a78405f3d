#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Build and run the libFuzzer targets in tests/fuzz/ (docs/fuzzing.md).
#
#   scripts/fuzz.sh build [NAME...]     build build-fuzz/fuzz_NAME (default: every tests/fuzz/fuzz_*.c)
#   scripts/fuzz.sh smoke [NAME...]     build, then run each target over its seeds for FUZZ_SECONDS (default 10)
#   scripts/fuzz.sh run NAME SECONDS [LIBFUZZER_ARGS...]
#                                       run one target longer; new inputs are kept in build-fuzz/corpus/NAME
#
# Environment: FUZZ_CC (default clang), FUZZ_CFLAGS (appended), FUZZ_SECONDS.
# Crash, leak and timeout inputs land in build-fuzz/artifacts/NAME-*. Exit status is non-zero when a build
# fails or any target reports a problem.
set -eu
cd "$(dirname "$0")/.."

CC=${FUZZ_CC:-clang}
OUT=build-fuzz
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=gnu11 -D_GNU_SOURCE"
CFLAGS="$CFLAGS -Iinclude -Isrc/lib -Wall -Wextra -Wno-unused-parameter -Werror ${FUZZ_CFLAGS:-}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# The sources and libraries each target links besides its own file: keep in step with the "Build:"
# line in each target's header comment. A target missing here fails the build.
sources() {
	case "$1" in
	dns) echo "src/lib/net/dns.c" ;;
	sni) echo "src/lib/net/tls_sni.c" ;;
	# msb_image_load needs most of libmsb: link all of it (with the seccomp filter header make generates)
	load) echo "-I$OUT/gen src/lib/*.c src/lib/ns/*.c src/lib/net/*.c src/lib/image/*.c src/supervisor/*.c" \
		"$(pkg-config --libs sqlite3 jansson libcurl libssl libcrypto libarchive)" ;;
	manifest | tarpath) echo "src/lib/image/ref.c src/lib/image/manifest.c src/lib/image/tarpath.c src/lib/util.c -ljansson" ;;
	parse) echo "src/lib/parse.c src/lib/sha256.c src/lib/util.c" ;;
	policy) echo "src/lib/net/policy.c src/lib/net/policy_eval.c src/lib/net/policy_parse.c src/lib/util.c" ;;
	unpack) echo "src/lib/image/unpack.c src/lib/image/zstream.c src/lib/image/ref.c src/lib/image/manifest.c src/lib/image/tarpath.c src/lib/fsutil.c src/lib/util.c -larchive -lcrypto -ljansson" ;;
	proto) echo "-Isrc/agent src/lib/proto.c src/lib/util.c src/agent/spawn.c src/agent/users.c" ;;
	wwwauth) echo "src/lib/image/registry_parse.c src/lib/image/ref.c src/lib/image/manifest.c src/lib/util.c -ljansson" ;;
	*) return 1 ;;
	esac
}

die() {
	echo "fuzz.sh: $*" >&2
	exit 1
}

all_targets() {
	for f in tests/fuzz/fuzz_*.c; do
		[ -e "$f" ] || continue
		f=${f#tests/fuzz/fuzz_}
		echo "${f%.c}"
	done
}

build_one() {
	src=$(sources "$1") || die "no sources listed for tests/fuzz/fuzz_$1.c: add it to sources() in $0"
	[ -f "tests/fuzz/fuzz_$1.c" ] || die "no target tests/fuzz/fuzz_$1.c"
	echo "fuzz.sh: building $OUT/fuzz_$1"
	case "$src" in
	*"-I$OUT/gen"*) make -s BUILD="$OUT" "$OUT/gen/seccomp_bpf.h" ;;
	esac
	# $CFLAGS and $src are word lists on purpose
	# shellcheck disable=SC2086
	$CC $CFLAGS "tests/fuzz/fuzz_$1.c" $src -o "$OUT/fuzz_$1"
}

build() {
	mkdir -p "$OUT"
	# target names are single words
	# shellcheck disable=SC2046
	[ $# -gt 0 ] || set -- $(all_targets)
	for t in "$@"; do
		build_one "$t"
	done
}

# run_one NAME SECONDS CORPUS [ARGS...]: fuzz NAME with CORPUS (written to) and its seeds (read only).
run_one() {
	name=$1 secs=$2 corpus=$3
	shift 3
	mkdir -p "$corpus" "$OUT/artifacts"
	seeds="tests/fuzz/corpus/$name"
	[ -d "$seeds" ] || seeds=
	echo "fuzz.sh: running fuzz_$name for ${secs}s"
	# $seeds is empty or one path without spaces
	# shellcheck disable=SC2086
	"$OUT/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$OUT/artifacts/$name-" "$@" "$corpus" $seeds
}

smoke() {
	secs=${FUZZ_SECONDS:-10}
	# shellcheck disable=SC2046
	[ $# -gt 0 ] || set -- $(all_targets)
	build "$@"
	failed=
	for t in "$@"; do
		log="$OUT/smoke/$t.log"
		rm -rf "$OUT/smoke/$t"
		mkdir -p "$OUT/smoke/$t"
		if run_one "$t" "$secs" "$OUT/smoke/$t" >"$log" 2>&1; then
			execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
			echo "fuzz.sh: fuzz_$t ok (${execs:-?} executions)"
		else
			echo "fuzz.sh: fuzz_$t FAILED; last lines of $log:" >&2
			tail -n 30 "$log" >&2
			failed="$failed $t"
		fi
	done
	[ -z "$failed" ] || die "failed:$failed"
	echo "fuzz.sh: smoke passed"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
build) build "$@" ;;
smoke) smoke "$@" ;;
run)
	[ $# -ge 2 ] || die "usage: $0 run NAME SECONDS [LIBFUZZER_ARGS...]"
	name=$1 secs=$2
	shift 2
	case "$secs" in '' | *[!0-9]*) die "SECONDS must be a number: $secs" ;; esac
	build "$name"
	run_one "$name" "$secs" "$OUT/corpus/$name" "$@"
	;;
*)
	echo "usage: $0 build [NAME...] | smoke [NAME...] | run NAME SECONDS [LIBFUZZER_ARGS...]" >&2
	exit 2
	;;
esac
