// libkmod: whether a kernel module (vfio-pci, a VF driver) is loaded, built in or loadable.
#ifndef SRIOVCTL_CKMOD_SHIM_H
#define SRIOVCTL_CKMOD_SHIM_H
#include <libkmod.h>
#endif
