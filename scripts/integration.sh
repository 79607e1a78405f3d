#!/bin/sh
# Run the integration suites with the real binary: once as root, once as an
# unprivileged user with subordinate ids (created here if missing).
set -eu
cd "$(dirname "$0")/.."
user=${MSB_TEST_USER:-msbtest}
if [ "$(id -u)" = 0 ]; then
	id "$user" >/dev/null 2>&1 || useradd -m -s /bin/sh "$user"
	grep -q "^$user:" /etc/subuid || echo "$user:300000:65536" >>/etc/subuid
	grep -q "^$user:" /etc/subgid || echo "$user:300000:65536" >>/etc/subgid
fi
status=0
echo "== integration tests as root"
MSB_TEST_MODE=root /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@" || status=1
if [ "$(id -u)" = 0 ]; then
	echo "== integration tests as unprivileged user $user"
	MSB_TEST_MODE=user /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@" || status=1
fi
exit $status
