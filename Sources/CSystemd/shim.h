// libsystemd: sd-device (devices and their udev state), sd-bus (systemd's manager on the system
// bus) and sd-journal (the kernel's messages when the ring buffer has rotated).
#ifndef SRIOVCTL_CSYSTEMD_SHIM_H
#define SRIOVCTL_CSYSTEMD_SHIM_H
#include <systemd/sd-bus.h>
#include <systemd/sd-device.h>
#include <systemd/sd-journal.h>
#endif
