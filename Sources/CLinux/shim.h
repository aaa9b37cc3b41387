// Linux kernel interfaces with no library behind them: the uevent netlink socket, and the
// ethtool ioctl that reads a NIC's permanent MAC address.
#ifndef SRIOVCTL_CLINUX_SHIM_H
#define SRIOVCTL_CLINUX_SHIM_H
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <string.h>
#include <unistd.h>

/// The permanent (burnt-in) MAC address of an interface (`ethtool -P NAME`), into `mac`; 0 on
/// success, -errno on failure. ethtool_perm_addr ends in a flexible array, which Swift cannot
/// allocate, hence this function.
static inline int sriovctl_permanent_mac(const char *name, unsigned char mac[6]) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct {
    struct ethtool_perm_addr header;
    unsigned char data[32];
  } request;
  memset(&request, 0, sizeof request);
  request.header.cmd = ETHTOOL_GPERMADDR;
  request.header.size = sizeof request.data;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_data = (void *)&request;
  int result = ioctl(fd, SIOCETHTOOL, &ifr);
  close(fd);
  if (result < 0 || request.header.size != 6) return -1;
  memcpy(mac, request.header.data, 6);
  return 0;
}
#endif
