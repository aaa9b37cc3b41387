// libsystemd: sd-device (devices and their udev state), sd-bus (systemd's manager on the system
// bus) and sd-journal (the kernel's messages when the ring buffer has rotated).
#ifndef SRIOVCTL_CSYSTEMD_SHIM_H
#define SRIOVCTL_CSYSTEMD_SHIM_H
#include <systemd/sd-bus.h>
#include <systemd/sd-device.h>
#include <systemd/sd-journal.h>

// sd_bus_call_method() is variadic; these build the two calls sriovctl makes to systemd's manager
// (org.freedesktop.systemd1(5)).

/// `systemctl daemon-reload`.
static inline int sriovctl_systemd_reload(sd_bus *bus, sd_bus_error *error) {
  return sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                            "org.freedesktop.systemd1.Manager", "Reload", error, NULL, "");
}

/// `systemctl enable UNIT` (enable != 0) or `systemctl disable UNIT`.
static inline int sriovctl_systemd_enable(sd_bus *bus, const char *unit, int enable,
                                          sd_bus_error *error) {
  sd_bus_message *call = NULL, *reply = NULL;
  int r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.systemd1",
                                         "/org/freedesktop/systemd1",
                                         "org.freedesktop.systemd1.Manager",
                                         enable ? "EnableUnitFiles" : "DisableUnitFiles");
  if (r < 0) return r;
  char *files[] = {(char *)unit, NULL};
  int no = 0;
  r = sd_bus_message_append_strv(call, files);
  if (r >= 0) r = sd_bus_message_append_basic(call, 'b', &no); /* runtime */
  if (r >= 0 && enable) r = sd_bus_message_append_basic(call, 'b', &no); /* force */
  if (r >= 0) r = sd_bus_call(bus, call, 0, error, &reply);
  sd_bus_message_unref(call);
  sd_bus_message_unref(reply);
  return r;
}
#endif
