#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The test world (DESIGN.md §10): a network namespace with no route off this
# machine, and around it fake public hosts, a DNS server, a LAN host, a
# metadata responder, a loopback service and registries. Root only.
#
#   scripts/world.sh up          create it (idempotent; waits until it answers)
#   scripts/world.sh down        stop what it started, delete the namespaces
#   scripts/world.sh status      check every service answers (exit 1 if not)
#   scripts/world.sh exec CMD..  run CMD inside the world namespace
#   scripts/world.sh images      build the test images and push them (tests/world/mkimages.sh)
#   scripts/world.sh env         print the world's settings (KEY=VALUE)
#
# MSB_WORLD names the namespace (default msbworld); MSB_WORLD_DIR the state
# directory (default /run/$MSB_WORLD). Addresses: tests/world/world.env.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WSRC=$REPO/tests/world
# shellcheck source=../tests/world/world.env
. "$WSRC/world.env"
NS=${MSB_WORLD:-$WORLD_NS}
WORLD_DIR=${MSB_WORLD_DIR:-/run/$NS}
NS_INET=$NS-inet
NS_PUB=$NS-pub
NS_LAN=$NS-lan
PY=/usr/bin/python3
export MSB_WORLD=$NS MSB_WORLD_DIR=$WORLD_DIR

die() { echo "world.sh: $*" >&2; exit 1; }
log() { echo "world.sh: $*" >&2; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces)"; }

need_tools() {
	local t missing=
	for t in ip nft openssl curl dnsmasq iperf3 docker-registry $PY; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] || die "missing tools:$missing (install deps/apt-packages.txt: make deps)"
}

ns_exists() { [ -e "/run/netns/$1" ]; }

# ---- namespaces and links ----------------------------------------------------

mkns() {
	ns_exists "$1" || ip netns add "$1"
	ip -n "$1" link set lo up
	# No duplicate address detection: v6 addresses are usable at once.
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 >/dev/null
}

# veth NS1 IF1 NS2 IF2
veth() {
	if ip -n "$1" link show "$2" >/dev/null 2>&1 && ip -n "$3" link show "$4" >/dev/null 2>&1; then
		:
	else
		ip -n "$1" link del "$2" >/dev/null 2>&1 || true
		ip -n "$3" link del "$4" >/dev/null 2>&1 || true
		ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	fi
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

addr() { # NS DEV ADDR/PREFIX
	case $3 in
	*:*) ip -n "$1" -6 addr replace "$3" dev "$2" nodad ;;
	*) ip -n "$1" addr replace "$3" dev "$2" ;;
	esac
}

net_up() {
	mkns "$NS"
	mkns "$NS_INET"
	mkns "$NS_PUB"
	mkns "$NS_LAN"
	ip netns exec "$NS_INET" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null

	# world <-> router ("internet"; the router has no uplink)
	veth "$NS" up0 "$NS_INET" down0
	addr "$NS" up0 "$WORLD_UPLINK_V4/$UPLINK_V4_PREFIX"
	addr "$NS" up0 "$WORLD_UPLINK_V6/$UPLINK_V6_PREFIX"
	addr "$NS_INET" down0 "$ROUTER_UPLINK_V4/$UPLINK_V4_PREFIX"
	addr "$NS_INET" down0 "$ROUTER_UPLINK_V6/$UPLINK_V6_PREFIX"
	ip -n "$NS" route replace default via "$ROUTER_UPLINK_V4" dev up0
	ip -n "$NS" -6 route replace default via "$ROUTER_UPLINK_V6" dev up0

	# router <-> public hosts (one namespace holding every public address)
	veth "$NS_INET" pub0 "$NS_PUB" eth0
	addr "$NS_INET" pub0 "$ROUTER_PUB_V4/24"
	addr "$NS_INET" pub0 "$ROUTER_PUB_V6/64"
	addr "$NS_PUB" eth0 "$PUB_LINK_V4/24"
	addr "$NS_PUB" eth0 "$PUB_LINK_V6/64"
	local a
	for a in "$PUB1_V4" "$PUB2_V4" "$PUB3_V4" "$DNS_V4" "$META_V4"; do addr "$NS_PUB" eth0 "$a/32"; done
	for a in "$PUB1_V6" "$PUB2_V6" "$PUB3_V6" "$DNS_V6"; do addr "$NS_PUB" eth0 "$a/128"; done
	ip -n "$NS_PUB" route replace default via "$ROUTER_PUB_V4" dev eth0
	ip -n "$NS_PUB" -6 route replace default via "$ROUTER_PUB_V6" dev eth0
	for a in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24 "$META_V4/32"; do
		ip -n "$NS_INET" route replace "$a" via "$PUB_LINK_V4" dev pub0
	done
	ip -n "$NS_INET" -6 route replace 2001:db8::/32 via "$PUB_LINK_V6" dev pub0
	# Everything else: no such network, answered at once (ICMP unreachable).
	ip -n "$NS_INET" route replace unreachable default
	ip -n "$NS_INET" -6 route replace unreachable default
	# TCP to those gets a reset from the router: an ICMP error is generated and
	# delivered within the connect() call that sent the SYN, while the socket is
	# locked, so the kernel drops it and the connect only fails on the first SYN
	# retransmit, a second later (seen for IPv6). A reset is queued instead.
	ip netns exec "$NS_INET" nft delete table inet msbworld_router >/dev/null 2>&1 || true
	ip netns exec "$NS_INET" nft -f - <<-EOF
		table inet msbworld_router {
			chain pre {
				type filter hook prerouting priority 0; policy accept;
				iifname "down0" meta l4proto tcp ip daddr != { 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, $META_V4, $ROUTER_UPLINK_V4/$UPLINK_V4_PREFIX, $ROUTER_PUB_V4/24 } reject with tcp reset
				iifname "down0" meta l4proto tcp ip6 daddr != { 2001:db8::/32, fe80::/10 } reject with tcp reset
			}
		}
	EOF

	# world <-> LAN host (directly attached, private addresses)
	veth "$NS" lan0 "$NS_LAN" eth0
	addr "$NS" lan0 "$LAN_GW_V4/$LAN_V4_PREFIX"
	addr "$NS" lan0 "$LAN_GW_V6/$LAN_V6_PREFIX"
	addr "$NS_LAN" eth0 "$LAN_V4/$LAN_V4_PREFIX"
	addr "$NS_LAN" eth0 "$LAN_V6/$LAN_V6_PREFIX"
	ip -n "$NS_LAN" route replace default via "$LAN_GW_V4" dev eth0
	ip -n "$NS_LAN" -6 route replace default via "$LAN_GW_V6" dev eth0

	# Processes run with `ip netns exec $NS` resolve through the world's dnsmasq
	# (ip bind-mounts /etc/netns/$NS/* over /etc/*).
	mkdir -p "/etc/netns/$NS"
	printf 'nameserver %s\nnameserver %s\noptions timeout:1 attempts:2\n' "$DNS_V4" "$DNS_V6" \
		>"/etc/netns/$NS/resolv.conf"
}

# ---- certificates --------------------------------------------------------------

certs() {
	[ -s "$WORLD_DIR/ca.pem" ] && [ -s "$WORLD_DIR/server.pem" ] && [ -s "$WORLD_DIR/server.key" ] && return 0
	local d=$WORLD_DIR ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	# shellcheck disable=SC2086
	openssl req -x509 $ec -keyout "$d/ca.key" -out "$d/ca.pem" -days 3650 -subj "/CN=msb test world CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" 2>/dev/null
	local san="DNS:localhost,DNS:*.test.example" n
	for n in $(sed -n 's/^NAME_[A-Z0-9_]*=//p' "$WSRC/world.env"); do san="$san,DNS:$n"; done
	for n in "$PUB1_V4" "$PUB2_V4" "$PUB3_V4" "$PUB1_V6" "$PUB2_V6" "$PUB3_V6" "$LAN_V4" "$LAN_V6" \
		"$META_V4" 127.0.0.1 ::1; do san="$san,IP:$n"; done
	cat >"$d/server.ext" <<-EOF
		basicConstraints=critical,CA:FALSE
		keyUsage=critical,digitalSignature,keyEncipherment
		extendedKeyUsage=serverAuth
		subjectKeyIdentifier=hash
		authorityKeyIdentifier=keyid,issuer
		subjectAltName=$san
	EOF
	# shellcheck disable=SC2086
	openssl req $ec -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=msb test world" 2>/dev/null
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -set_serial 0x$(openssl rand -hex 8) \
		-days 3650 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
	cat "$d/server.pem" "$d/ca.pem" >"$d/server-chain.pem"
	chmod 0644 "$d/ca.pem" "$d/server.pem" "$d/server-chain.pem"
	chmod 0600 "$d/ca.key" "$d/server.key"
}

# ---- services ------------------------------------------------------------------

alive() { # PIDFILE
	local pid
	[ -s "$1" ] || return 1
	pid=$(cat "$1")
	[ -r "/proc/$pid/cmdline" ] && [ -n "$(tr -d '\0' <"/proc/$pid/cmdline" 2>/dev/null)" ]
}

start_svc() { # NAME NS CMD...
	local name=$1 ns=$2
	shift 2
	local pidf=$WORLD_DIR/pids/$name.pid
	alive "$pidf" && return 0
	setsid ip netns exec "$ns" "$@" >"$WORLD_DIR/logs/$name.log" 2>&1 </dev/null &
	echo $! >"$pidf"
}

dnsmasq_conf() {
	local f=$WORLD_DIR/dnsmasq.conf
	cat >"$f" <<-EOF
		# generated by scripts/world.sh
		no-resolv
		no-hosts
		no-poll
		bind-interfaces
		listen-address=$DNS_V4
		listen-address=$DNS_V6
		log-queries
		log-facility=$WORLD_DIR/dnsmasq.log
		user=root
		group=root
		pid-file=
		# no upstream: every name not below answers NXDOMAIN
		local=/#/
		host-record=$NAME_PUB1,$PUB1_V4,$PUB1_V6
		host-record=$NAME_PUB2,$PUB2_V4,$PUB2_V6
		host-record=$NAME_PUB3,$PUB3_V4,$PUB3_V6
		host-record=$NAME_SAME_IP,$PUB3_V4
		host-record=$NAME_LAN,$LAN_V4,$LAN_V6
		host-record=$NAME_REBIND,$LAN_V4
		host-record=$NAME_META,$META_V4
		host-record=$NAME_V6ONLY,$PUB1_V6
		host-record=$NAME_GITHUB,$PUB2_V4,$PUB2_V6
		host-record=$NAME_GH_API,$PUB3_V4,$PUB3_V6
		host-record=$NAME_GH_RAW,$PUB3_V4,$PUB3_V6
		host-record=$NAME_MALWARE,$PUB1_V4
		host-record=$NAME_TRACKING,$PUB1_V4
	EOF
}

registry_conf() { # NAME PORT [tls|auth]
	local f=$WORLD_DIR/$1.yml
	{
		echo "version: 0.1"
		echo "log: {level: error, accesslog: {disabled: true}}"
		echo "storage:"
		echo "  filesystem: {rootdirectory: $WORLD_DIR/registry}"
		echo "  delete: {enabled: true}"
		echo "http:"
		echo "  addr: $REGISTRY_HOST:$2"
		echo "  secret: msb-test-world"
		case ${3:-} in
		tls) echo "  tls: {certificate: $WORLD_DIR/server.pem, key: $WORLD_DIR/server.key}" ;;
		auth)
			echo "auth:"
			echo "  htpasswd: {realm: msb-test-world, path: $WORLD_DIR/htpasswd}"
			;;
		esac
	} >"$f"
}

htpasswd_file() {
	[ -s "$WORLD_DIR/htpasswd" ] && return 0
	# bcrypt through the C library's crypt(3) (libxcrypt): no extra package.
	$PY -W ignore -c 'import crypt, sys
print("%s:%s" % (sys.argv[1], crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5))))' \
		"$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$WORLD_DIR/htpasswd"
}

services_up() {
	local d=$WORLD_DIR cert="--cert $WORLD_DIR/server.pem --key $WORLD_DIR/server.key" l=() a
	for a in "$PUB1_V4" "$PUB2_V4" "$PUB3_V4" "[$PUB1_V6]" "[$PUB2_V6]" "[$PUB3_V6]"; do
		l+=(--listen "http:$a:$HTTP_PORT" --listen "https:$a:$HTTPS_PORT")
	done
	# shellcheck disable=SC2086
	start_svc httpd-pub "$NS_PUB" $PY "$WSRC/httpd.py" $cert "${l[@]}"
	start_svc metadata "$NS_PUB" $PY "$WSRC/httpd.py" --listen "http:$META_V4:$META_PORT" --body "$META_BODY"
	start_svc tcpsvc "$NS_PUB" $PY "$WSRC/tcpsvc.py" \
		--echo "$PUB3_V4:$ECHO_PORT" --echo "[$PUB3_V6]:$ECHO_PORT" \
		--discard "$PUB3_V4:$DISCARD_PORT" --discard "[$PUB3_V6]:$DISCARD_PORT"
	start_svc iperf3 "$NS_PUB" iperf3 --server --port "$IPERF_PORT"
	dnsmasq_conf
	start_svc dnsmasq "$NS_PUB" dnsmasq --keep-in-foreground --conf-file="$d/dnsmasq.conf"
	# shellcheck disable=SC2086
	start_svc httpd-lan "$NS_LAN" $PY "$WSRC/httpd.py" $cert \
		--listen "http:$LAN_V4:$HTTP_PORT" --listen "http:[$LAN_V6]:$HTTP_PORT"
	start_svc loopback "$NS" $PY "$WSRC/httpd.py" --body "$LOOPBACK_BODY" \
		--listen "http:$LOOPBACK_V4:$LOOPBACK_PORT" --listen "http:[::1]:$LOOPBACK_PORT"
	htpasswd_file
	mkdir -p "$d/registry"
	registry_conf registry "$REGISTRY_HTTP_PORT"
	registry_conf registry-tls "$REGISTRY_TLS_PORT" tls
	registry_conf registry-auth "$REGISTRY_AUTH_PORT" auth
	local r
	for r in registry registry-tls registry-auth; do
		start_svc "$r" "$NS" docker-registry serve "$d/$r.yml"
	done
}

check() { ip netns exec "$NS" $PY "$WSRC/world.py" status "$@"; }

cmd_up() {
	need_root
	need_tools
	mkdir -p "$WORLD_DIR/pids" "$WORLD_DIR/logs"
	chmod 0755 "$WORLD_DIR"
	net_up
	certs
	services_up
	[ -n "${WORLD_NOWAIT:-}" ] && return 0
	local i
	for i in $(seq 1 50); do
		check -q && { log "up ($NS, state in $WORLD_DIR)"; return 0; }
		sleep 0.2
	done
	check || true
	die "world did not come up; logs in $WORLD_DIR/logs"
}

cmd_down() {
	need_root
	local f pid ns i
	if [ -d "$WORLD_DIR/pids" ]; then
		for f in "$WORLD_DIR"/pids/*.pid; do
			[ -e "$f" ] || continue
			alive "$f" && kill -TERM "$(cat "$f")" 2>/dev/null || true
		done
		for i in $(seq 1 20); do
			pid=
			for f in "$WORLD_DIR"/pids/*.pid; do
				[ -e "$f" ] || continue
				alive "$f" && pid=1
			done
			[ -z "$pid" ] && break
			sleep 0.1
		done
		for f in "$WORLD_DIR"/pids/*.pid; do
			[ -e "$f" ] || continue
			alive "$f" && kill -KILL "$(cat "$f")" 2>/dev/null || true
			rm -f "$f"
		done
	fi
	# The helper namespaces only ever hold what this script started.
	for ns in "$NS_PUB" "$NS_LAN" "$NS_INET"; do
		ns_exists "$ns" || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
	done
	for ns in "$NS_PUB" "$NS_LAN" "$NS_INET" "$NS"; do
		ns_exists "$ns" && ip netns del "$ns"
	done
	rm -rf "/etc/netns/$NS"
	log "down ($NS)"
}

cmd_exec() {
	need_root
	[ $# -gt 0 ] || die "usage: world.sh exec CMD [ARGS...]"
	ns_exists "$NS" || die "world $NS is not up (run: scripts/world.sh up)"
	# Like `ip netns exec` (the world's resolv.conf bind-mounted over
	# /etc/resolv.conf in a private mount namespace) but without its remount of
	# /sys, which would hide the cgroup hierarchies mounted below /sys/fs/cgroup.
	exec nsenter --net="/run/netns/$NS" -- unshare --mount --propagation slave -- \
		/bin/sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "/etc/netns/$NS/resolv.conf" "$@"
}

cmd_status() {
	need_root
	ns_exists "$NS" || die "world $NS is not up"
	check "$@"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) shift; cmd_status "$@" ;;
exec) shift; cmd_exec "$@" ;;
images) shift; need_root; exec "$WSRC/mkimages.sh" "$@" ;;
env)
	echo "MSB_WORLD=$NS"
	echo "MSB_WORLD_DIR=$WORLD_DIR"
	grep -E '^[A-Z0-9_]+=' "$WSRC/world.env"
	;;
*)
	echo "usage: scripts/world.sh up|down|status|exec CMD...|images|env" >&2
	exit 2
	;;
esac
