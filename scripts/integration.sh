#!/bin/sh
# Run the integration suites with the real binary: once as root, once as an
# unprivileged user with subordinate ids (created here if missing).
# As root, both runs execute inside the test world (scripts/world.sh: a network
# namespace with no route off the machine); it is brought up here and taken
# down afterwards unless it was already up (or MSB_WORLD_KEEP=1).
set -eu
cd "$(dirname "$0")/.."
user=${MSB_TEST_USER:-msbtest}
in_world=
if [ "$(id -u)" = 0 ]; then
	id "$user" >/dev/null 2>&1 || useradd -m -s /bin/sh "$user"
	grep -q "^$user:" /etc/subuid || echo "$user:300000:65536" >>/etc/subuid
	grep -q "^$user:" /etc/subgid || echo "$user:300000:65536" >>/etc/subgid
	world_was_up=
	[ -e "/run/netns/${MSB_WORLD:-msbworld}" ] && world_was_up=1
	scripts/world.sh up
	in_world="scripts/world.sh exec"
	if [ -z "$world_was_up" ] && [ "${MSB_WORLD_KEEP:-}" != 1 ]; then
		trap 'scripts/world.sh down' EXIT
	fi
fi
status=0
echo "== integration tests as root"
MSB_TEST_MODE=root $in_world /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@" || status=1
if [ "$(id -u)" = 0 ]; then
	echo "== integration tests as unprivileged user $user"
	MSB_TEST_MODE=user $in_world /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@" || status=1
fi
exit $status
