#!/bin/sh
# libmsb exports exactly the functions include/msb.h declares, all prefixed msb_.
set -eu
cd "$(dirname "$0")/.."
lib=${1:-build/libmsb.so}
decl=$(grep -oE '\bmsb_[a-z0-9_]+\(' include/msb.h | tr -d '(' | sort -u)
exp=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort -u)
status=0
for s in $decl; do
	echo "$exp" | grep -qx "$s" || { echo "check-exports: $s is declared in msb.h but not exported" >&2; status=1; }
done
for s in $exp; do
	echo "$decl" | grep -qx "$s" || { echo "check-exports: $s is exported but not declared in msb.h" >&2; status=1; }
done
[ $status = 0 ] && echo "check-exports: $(echo "$exp" | wc -l) symbols, all declared, all msb_"
exit $status
