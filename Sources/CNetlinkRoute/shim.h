// libnl-route-3: rtnetlink links, their VF settings (IFLA_VFINFO_LIST) and addresses.
#ifndef SRIOVCTL_CNETLINKROUTE_SHIM_H
#define SRIOVCTL_CNETLINKROUTE_SHIM_H
#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <netlink/route/addr.h>
#include <linux/if_link.h>
#include <net/if.h>
#endif
