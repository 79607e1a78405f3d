#!/bin/sh
# After `make deps all`: run a first sandbox on the built-in `host` image.
set -eu
cd "$(dirname "$0")/.."
export MSB_HOME="${MSB_HOME:-$HOME/.msb}"
echo "== msb run host -- sh -c 'echo hello; id; cat /etc/os-release'"
./build/msb run host -- sh -c 'echo hello from a sandbox; id; head -n 2 /etc/os-release'
echo
echo "msb is built: ./build/msb (make install puts it in /usr/local/bin). Try:"
echo "  ./build/msb create host --name dev"
echo "  ./build/msb exec dev -- python3 -c 'print(6*7)'"
echo "  ./build/msb rm -f dev"
