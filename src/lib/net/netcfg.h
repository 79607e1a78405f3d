/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netcfg.h - the fixed addressing of every sandbox's network namespace
 * (spec/network.md §4, slot 0 of the default pools): each sandbox has its own
 * namespace, so all of them can use the same addresses.
 */
#ifndef MSB_NET_NETCFG_H
#define MSB_NET_NETCFG_H

#define NET_GUEST_IF    "eth0"
#define NET_PEER_IF     "msb0" /* the veth peer: stays inside the namespace, no address, no link out */
#define NET_GUEST4      "172.16.0.2"
#define NET_GW4         "172.16.0.1"
#define NET_PREFIX4     30
#define NET_GUEST6      "fd42:6d73:62::2"
#define NET_GW6         "fd42:6d73:62::1"
#define NET_PREFIX6     64
#define NET_HOST_NAME   "host.microsandbox.internal"
#define NET_GUEST_MAC   {0x02, 0x6d, 0x73, 0x00, 0x00, 0x02}
#define NET_MTU         1500

#endif
