// Linux kernel interfaces with no library behind them: the uevent netlink socket, the ethtool
// ioctl that reads a NIC's permanent MAC address, and openat2(2), which glibc 2.36 does not wrap.
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
#include <errno.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

/// O_PATH (a descriptor that only names a file; open(2)), which glibc declares only with
/// _GNU_SOURCE, so Swift's Glibc module lacks it.
static const int SRIOVCTL_O_PATH = 010000000;

/// openat2(2) (Linux 5.6): `open_how` carries the flags, the mode and the RESOLVE_* flags. Swift
/// cannot call the variadic syscall(2), hence this function. Returns the new fd, or -1 with errno.
static inline int sriovctl_openat2(int dirfd, const char *path, unsigned long long flags,
                                   unsigned long long mode, unsigned long long resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}


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
