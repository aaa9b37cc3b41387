// The parts of libpci that Swift cannot call directly.
//
// pci_lookup_name() is variadic, and libpci's default `error` callback calls exit(1): a malformed
// sysfs entry or a device that vanishes during a scan (VFs being destroyed) would end the process.
// These wrappers install handlers that record the message and unwind to the wrapper with longjmp,
// so Swift sees a return code and the message instead.
#ifndef SRIOVCTL_CLIBPCI_SHIM_H
#define SRIOVCTL_CLIBPCI_SHIM_H

#include <pci/pci.h>
#include <errno.h>
#include <linux/memfd.h>
#include <setjmp.h>
#include <sys/syscall.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// Swift emits the functions of this header but not its global variables, so the state lives in a
// function-local static.
struct sriovctl_pci_state {
  jmp_buf jump;
  int armed;
  char message[512];
};

static inline struct sriovctl_pci_state *sriovctl_pci_state(void) {
  static _Thread_local struct sriovctl_pci_state state;
  return &state;
}

#define sriovctl_pci_jump (sriovctl_pci_state()->jump)
#define sriovctl_pci_armed (sriovctl_pci_state()->armed)
#define sriovctl_pci_message (sriovctl_pci_state()->message)

static void sriovctl_pci_on_error(char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(sriovctl_pci_message, sizeof sriovctl_pci_message, fmt, args);
  va_end(args);
  if (sriovctl_pci_armed) {
    sriovctl_pci_armed = 0;
    longjmp(sriovctl_pci_jump, 1);
  }
  // Not reached through a wrapper below: there is no safe place to return to.
  fprintf(stderr, "sriovctl: libpci: %s\n", sriovctl_pci_message);
  _exit(70);
}

static void sriovctl_pci_on_warning(char *fmt, ...) {
  // Warnings (an unreadable config file for a non-root reader) are expected; the Swift side falls
  // back to sysfs attributes, so they are not printed.
  (void)fmt;
}

static void sriovctl_pci_on_debug(char *fmt, ...) { (void)fmt; }

/// The last message libpci reported through its error callback.
static inline const char *sriovctl_pci_last_error(void) { return sriovctl_pci_message; }

/// pci_alloc() with handlers that never exit the process.
static inline struct pci_access *sriovctl_pci_alloc(void) {
  struct pci_access *a = pci_alloc();
  if (a) {
    a->error = sriovctl_pci_on_error;
    a->warning = sriovctl_pci_on_warning;
    a->debug = sriovctl_pci_on_debug;
  }
  return a;
}

/// Points libpci's "dump" method (lib/dump.c: `lspci -x` text) at `length` bytes of `text`, then
/// pci_init() and pci_scan_bus(); 0 on success, -1 with sriovctl_pci_last_error() set.
///
/// The text goes into a memory file (memfd_create(2)) that libpci opens as /proc/self/fd/N: libpci
/// then opens no host path at all, and no temporary file is left anywhere. dump_init() reads the
/// whole file inside pci_init(), so the descriptor is closed on return.
static inline int sriovctl_pci_init_dump(struct pci_access *a, const char *text, size_t length) {
  sriovctl_pci_message[0] = 0;
  int fd = (int)syscall(SYS_memfd_create, "sriovctl-pci-dump", MFD_CLOEXEC);
  if (fd < 0) {
    snprintf(sriovctl_pci_message, sizeof sriovctl_pci_message, "memfd_create: %s", strerror(errno));
    return -1;
  }
  size_t written = 0;
  while (written < length) {
    ssize_t n = write(fd, text + written, length - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      snprintf(sriovctl_pci_message, sizeof sriovctl_pci_message, "writing the dump: %s",
               strerror(n < 0 ? errno : EIO));
      close(fd);
      return -1;
    }
    written += (size_t)n;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  a->method = PCI_ACCESS_DUMP;
  pci_set_param(a, (char *)"dump.name", path);
  if (setjmp(sriovctl_pci_jump)) {
    close(fd);
    return -1;
  }
  sriovctl_pci_armed = 1;
  pci_init(a);
  pci_scan_bus(a);
  sriovctl_pci_armed = 0;
  close(fd);
  return 0;
}

/// pci_fill_info(); the filled flags, or -1 with sriovctl_pci_last_error() set.
static inline int sriovctl_pci_fill_info(struct pci_dev *d, int flags) {
  if (setjmp(sriovctl_pci_jump)) return -1;
  sriovctl_pci_armed = 1;
  int known = pci_fill_info(d, flags);
  sriovctl_pci_armed = 0;
  return known;
}

/// pci_read_word(); the value, or -1 on error.
static inline int sriovctl_pci_read_word(struct pci_dev *d, int pos) {
  if (setjmp(sriovctl_pci_jump)) return -1;
  sriovctl_pci_armed = 1;
  u16 value = pci_read_word(d, pos);
  sriovctl_pci_armed = 0;
  return value;
}

/// pci_read_block(); 1 on success, 0 when the bytes cannot be read, -1 on error.
static inline int sriovctl_pci_read_block(struct pci_dev *d, int pos, u8 *buf, int len) {
  if (setjmp(sriovctl_pci_jump)) return -1;
  sriovctl_pci_armed = 1;
  int ok = pci_read_block(d, pos, buf, len);
  sriovctl_pci_armed = 0;
  return ok;
}

/// The config-space offset of the SR-IOV extended capability, 0 when the device has none or its
/// extended config space cannot be read, -1 on error.
static inline int sriovctl_pci_sriov_offset(struct pci_dev *d) {
  if (setjmp(sriovctl_pci_jump)) return -1;
  sriovctl_pci_armed = 1;
  struct pci_cap *cap = pci_find_cap(d, PCI_EXT_CAP_ID_SRIOV, PCI_CAP_EXTENDED);
  sriovctl_pci_armed = 0;
  return cap ? (int)cap->addr : 0;
}

/// The vendor name from pci.ids, or NULL when the database has none.
/// A parse error in pci.ids is reported through the error callback, so it is trapped too.
static inline const char *sriovctl_pci_vendor_name(struct pci_access *a, char *buf, int size,
                                                   int vendor) {
  if (setjmp(sriovctl_pci_jump)) return NULL;
  sriovctl_pci_armed = 1;
  const char *name =
      pci_lookup_name(a, buf, size, PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS, vendor);
  sriovctl_pci_armed = 0;
  return name;
}

/// The device name from pci.ids, or NULL when the database has none.
static inline const char *sriovctl_pci_device_name(struct pci_access *a, char *buf, int size,
                                                   int vendor, int device) {
  if (setjmp(sriovctl_pci_jump)) return NULL;
  sriovctl_pci_armed = 1;
  const char *name = pci_lookup_name(a, buf, size, PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS,
                                     vendor, device);
  sriovctl_pci_armed = 0;
  return name;
}

/// The class name from pci.ids (base class and subclass, as in 0x0108), or NULL when unknown.
static inline const char *sriovctl_pci_class_name(struct pci_access *a, char *buf, int size,
                                                  int device_class) {
  if (setjmp(sriovctl_pci_jump)) return NULL;
  sriovctl_pci_armed = 1;
  const char *name =
      pci_lookup_name(a, buf, size, PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_NUMBERS, device_class);
  sriovctl_pci_armed = 0;
  return name;
}

/// The size in bytes of the config space the library could read for a device (64, 256 or 4096).
/// Only the cached bytes are counted; a non-root reader of sysfs gets 64.
static inline int sriovctl_pci_config_cached(struct pci_dev *d) { return d->cache_len; }

#endif
