#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: The sriovctl authors
# Apache License 2.0 (see LICENSE)
# An Ansible module for sriovctl (the sriovctl.sriov collection).
# It drives the installed sriovctl binary through its JSON output (-o json) and never edits
# sysfs or the persistence files itself: sriovctl decides what changes and reports it.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vfs
short_description: Create SR-IOV virtual functions and make them survive reboots, with sriovctl
description:
  - Brings a physical function (PF) to exactly O(num_vfs) virtual functions (VFs), configured as
    asked, by running C(sriovctl create-vfs), and optionally installs the udev rule, systemd unit or
    systemd .link file that recreates them at boot (C(sriovctl persist --install)).
  - The installed C(sriovctl) binary does the work; the module passes its options on, reads its JSON
    output (C(-o json)) and reports C(changed) exactly as sriovctl reports it, so a second run with
    the same options reports no change.
  - O(state=absent) brings the PF to 0 VFs and removes the persistence files sriovctl wrote for it.
  - In check mode C(create-vfs) runs with C(--dry-run) and C(persist) runs without C(--install); the
    file it would write is compared with the one on disk (beneath O(root)) to tell whether it would
    change. Nothing is changed.
  - In diff mode the persisted file's content before and after is returned.
  - On failure the task fails with sriovctl's own one-line error message (which says what is wrong
    and how to fix it).
version_added: "0.1.0"
author:
  - The sriovctl authors (!UNKNOWN)
requirements:
  - root privileges on the managed host for anything but check mode (C(become=true))
extends_documentation_fragment:
  - sriovctl.sriov.sriovctl
options:
  pf:
    description:
      - The PF, by interface name (C(ens1f0)) or PCI address (C(0000:3b:00.0), or short C(3b:00.0)).
    type: str
    required: true
  state:
    description:
      - V(present) creates O(num_vfs) VFs (and installs the persistence when O(persist) is set).
      - V(absent) brings the PF to 0 VFs and removes the persistence sriovctl wrote for it, only the
        method named by O(persist), or every method (udev, systemd, link) when O(persist=none).
    type: str
    choices: [present, absent]
    default: present
  num_vfs:
    description:
      - The number of VFs, from 0 to the PF's total (C(sriov_totalvfs)). Required with
        O(state=present).
      - The kernel accepts a new count only from 0; sriovctl destroys the existing VFs first, and
        refuses when one is in use unless O(force=true).
    type: int
  driver:
    description:
      - Bind every VF to this driver through C(driver_override), for example V(vfio-pci) for DPDK.
    type: str
  autoprobe:
    description:
      - Whether the kernel probes new VFs' drivers automatically (C(sriov_drivers_autoprobe)).
    type: bool
  mac:
    description:
      - VF MAC addresses, each C(INDEX=MAC), or V(auto) for stable, locally administered addresses
        derived from the PF's permanent MAC.
    type: list
    elements: str
  vlan:
    description:
      - VF VLAN IDs (0 for none), each C([INDEX=]VLAN); a value without an index applies to every VF.
      - A scalar is accepted for one value for every VF.
    type: list
    elements: str
  trust:
    description:
      - Trusted VFs (may change their MAC and use promiscuous modes), each C([INDEX=]on|off).
      - Booleans are accepted (V(true) is C(on)), also as C(INDEX=true).
    type: list
    elements: str
  spoofchk:
    description:
      - MAC spoof checking, each C([INDEX=]on|off); booleans are accepted.
    type: list
    elements: str
  link_state:
    description:
      - VF link state, each C([INDEX=]auto|enable|disable).
    type: list
    elements: str
  max_tx_rate:
    description:
      - VF transmit limit in Mbps (0 for none), each C([INDEX=]MBPS).
    type: list
    elements: str
  mtu:
    description:
      - The PF's MTU.
    type: int
  force:
    description:
      - Change the VF count even when VFs are in use (bound to a driver such as vfio-pci, moved to
        another network namespace, or up with addresses). Those VFs are destroyed.
    type: bool
    default: false
  apply_now:
    description:
      - Create and configure the VFs on the running kernel now.
      - Set V(false) to manage only the persistence, for example in an image mounted at O(root)
        (sriovctl changes no running kernel beneath O(root) except in check mode).
    type: bool
    default: true
  persist:
    description:
      - How the VFs survive reboots.
      - V(udev) writes C(/etc/udev/rules.d/70-sriovctl-PCI.rules) (only O(num_vfs) and O(autoprobe)).
      - V(systemd) writes and enables C(/etc/systemd/system/sriovctl-vfs-PCI.service), which runs
        C(sriovctl create-vfs) with every option at boot (sriovctl must be installed in
        C(/usr/bin) or C(/usr/local/bin) beneath O(root)).
      - V(link) writes C(/etc/systemd/network/10-sriovctl-PCI.link) (systemd 251 or newer; O(num_vfs),
        O(mac) by index, O(vlan), O(trust), O(spoofchk), O(link_state)).
      - V(none) installs nothing; with O(state=absent) it removes the files of every method.
      - sriovctl refuses options a method cannot carry, with a message naming the methods that can.
    type: str
    choices: [udev, systemd, link, none]
    default: none
  root:
    description:
      - Read and change the host beneath this directory instead of C(/) (C(sriovctl --root)), such as an
        image being built, or a fixture host in tests. File paths in the results are relative to it.
    type: path
  timeout:
    description:
      - Seconds sriovctl waits for the kernel, the VF drivers and udev (C(--timeout)); also written
        into the systemd unit.
    type: float
notes:
  - Supports check mode and diff mode.
  - The module runs sriovctl directly, never through a shell.
  - Gate a play on the host's readiness first with M(sriovctl.sriov.check).
seealso:
  - module: sriovctl.sriov.check
attributes:
  check_mode:
    support: full
    description: "Runs C(sriovctl create-vfs --dry-run) and C(persist) without C(--install): the plan and the file, nothing written."
  diff_mode:
    support: full
    description: The persisted file before and after.
"""

EXAMPLES = r"""
- name: 8 VFs on ens1f0, recreated at boot by a udev rule
  sriovctl.sriov.vfs:
    pf: ens1f0
    num_vfs: 8
    persist: udev
  become: true

- name: 4 VFs for DPDK with fixed MACs and VLANs, recreated at boot by a systemd unit
  sriovctl.sriov.vfs:
    pf: "0000:3b:00.0"
    num_vfs: 4
    driver: vfio-pci
    mac: auto
    vlan: ["100", "3=200"]
    trust: ["1=on"]
    spoofchk: false
    persist: systemd
  become: true

- name: Install the .link file into an image mounted at /srv/image (no running kernel touched)
  sriovctl.sriov.vfs:
    pf: "0000:3b:00.0"
    num_vfs: 4
    persist: link
    root: /srv/image
    apply_now: false

- name: No VFs, and nothing that recreates them at boot
  sriovctl.sriov.vfs:
    pf: ens1f0
    state: absent
  become: true
"""

RETURN = r"""
pf:
  description: The PF's PCI address.
  returned: always
  type: str
  sample: "0000:3b:00.0"
interface:
  description: The PF's interface name, or null when it has none.
  returned: when the VFs were created or planned (O(apply_now=true))
  type: str
  sample: ens1f0
num_vfs:
  description: The number of VFs asked for (0 with O(state=absent)).
  returned: always
  type: int
  sample: 8
previous:
  description: The number of VFs before the task.
  returned: when O(apply_now=true)
  type: int
  sample: 0
actions:
  description: What sriovctl did, or in check mode would do, to the running kernel.
  returned: when O(apply_now=true)
  type: list
  elements: str
  sample: ["create 8 VFs: write 8 to sriov_numvfs"]
vfs:
  description:
    - The VFs with their settings, as C(sriovctl create-vfs -o json) reports them (C(index),
      C(pci_address), C(interface), C(driver), C(mac), C(vlan), C(trust), C(spoofchk),
      C(link_state), C(max_tx_rate)). Empty in check mode when the count would change.
  returned: when O(apply_now=true)
  type: list
  elements: dict
create_vfs:
  description: sriovctl create-vfs's whole JSON document.
  returned: when O(apply_now=true)
  type: dict
persistence:
  description:
    - One entry per persistence file installed or removed, as C(sriovctl persist -o json) reports
      it (C(pf), C(method), C(path), C(changed), C(content), C(notes)); in check mode C(changed)
      says whether the file would change.
  returned: always
  type: list
  elements: dict
  sample:
    - pf: "0000:3b:00.0"
      method: udev
      path: /etc/udev/rules.d/70-sriovctl-0000-3b-00.0.rules
      changed: true
      content: "# Written by sriovctl ..."
      notes: []
commands:
  description: The sriovctl command lines the module ran.
  returned: always
  type: list
  elements: list
diff:
  description: The persisted files before and after (diff mode), with their paths as headers.
  returned: in diff mode, when persistence is managed
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sriovctl.sriov.plugins.module_utils.sriovctl import run_json, sriovctl_binary

PER_VF_BOOLEANS = ("trust", "spoofchk")
PER_VF_LISTS = ("mac", "vlan", "trust", "spoofchk", "link_state", "max_tx_rate")
METHODS = ("udev", "systemd", "link")
TRUE_WORDS = ("true", "yes", "on", "1", "y")
FALSE_WORDS = ("false", "no", "off", "0", "n")
HEADER = "# Written by sriovctl"


def on_off(value, option):
    """A boolean word as sriovctl spells it."""
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return "on"
    if word in FALSE_WORDS:
        return "off"
    raise ValueError("%s: '%s' is not on or off" % (option, value))


def per_vf_values(option, values):
    """The option's values as sriovctl's [INDEX=]VALUE strings."""
    result = []
    for value in values or []:
        text = str(value).strip()
        if option in PER_VF_BOOLEANS:
            if "=" in text:
                index, word = text.split("=", 1)
                text = "%s=%s" % (index.strip(), on_off(word, option))
            else:
                text = on_off(text, option)
        result.append(text)
    return result


def pf_file_name(pci):
    """The PCI address as sriovctl writes it into file names (colons become dashes)."""
    return pci.replace(":", "-")


def persistence_path(method, pci):
    """The documented path of a method's file (README: persist)."""
    name = pf_file_name(pci)
    return {
        "udev": "/etc/udev/rules.d/70-sriovctl-%s.rules" % name,
        "systemd": "/etc/systemd/system/sriovctl-vfs-%s.service" % name,
        "link": "/etc/systemd/network/10-sriovctl-%s.link" % name,
    }[method]


class Sriovctl(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.commands = []
        self.binary = sriovctl_binary(module)

    def host_path(self, path):
        """A host path (as sriovctl reports it) beneath root."""
        root = self.params["root"]
        if not root:
            return path
        return os.path.join(root, path.lstrip("/"))

    def read(self, path):
        """A file's content beneath root, or None when missing."""
        try:
            with open(self.host_path(path), "r") as handle:
                return handle.read()
        except (IOError, OSError):
            return None

    def run(self, arguments):
        """Runs sriovctl with -o json and returns its document; fails the task with its message."""
        command = [self.binary] + arguments + ["-o", "json"]
        if self.params["root"]:
            command += ["--root", self.params["root"]]
        self.commands.append(command)
        return run_json(self.module, command, commands=self.commands)[1]

    def vf_options(self, for_persist):
        """The create-vfs/persist options from the module's parameters."""
        p = self.params
        options = []
        if p["driver"]:
            options += ["--driver", p["driver"]]
        if p["autoprobe"] is not None:
            options += ["--autoprobe", "on" if p["autoprobe"] else "off"]
        for option in PER_VF_LISTS:
            try:
                values = per_vf_values(option, p[option])
            except ValueError as error:
                self.module.fail_json(msg=str(error))
            for value in values:
                options += ["--" + option.replace("_", "-"), value]
        if p["mtu"] is not None:
            options += ["--mtu", str(p["mtu"])]
        if p["timeout"] is not None:
            options += ["--timeout", "%g" % p["timeout"]]
        if p["force"] and not for_persist:
            options.append("--force")
        return options


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pf=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            num_vfs=dict(type="int"),
            driver=dict(type="str"),
            autoprobe=dict(type="bool"),
            mac=dict(type="list", elements="str"),
            vlan=dict(type="list", elements="str"),
            trust=dict(type="list", elements="str"),
            spoofchk=dict(type="list", elements="str"),
            link_state=dict(type="list", elements="str"),
            max_tx_rate=dict(type="list", elements="str"),
            mtu=dict(type="int"),
            force=dict(type="bool", default=False),
            apply_now=dict(type="bool", default=True),
            persist=dict(type="str", choices=["udev", "systemd", "link", "none"], default="none"),
            root=dict(type="path"),
            sriovctl=dict(type="str", default="sriovctl"),
            timeout=dict(type="float"),
        ),
        required_if=[("state", "present", ["num_vfs"])],
        supports_check_mode=True,
    )
    p = module.params
    tool = Sriovctl(module)
    check = module.check_mode
    present = p["state"] == "present"
    count = p["num_vfs"] if present else 0
    if count is not None and count < 0:
        module.fail_json(msg="num_vfs must be 0 or more, not %d" % count)

    result = dict(changed=False, num_vfs=count, persistence=[], commands=tool.commands)
    diffs = []

    # The PF (sriovctl's own message when it names nothing).
    listing = tool.run(["list", p["pf"]])
    pfs = listing.get("pfs") or []
    if len(pfs) != 1:
        module.fail_json(msg="sriovctl list %s found %d PFs" % (p["pf"], len(pfs)), commands=tool.commands)
    pci = pfs[0]["pci_address"]
    result["pf"] = pci

    def create_vfs():
        arguments = ["create-vfs", pci, "--count", str(count)]
        arguments += tool.vf_options(for_persist=False) if present else (["--force"] if p["force"] else [])
        if not present and p["timeout"] is not None:
            arguments += ["--timeout", "%g" % p["timeout"]]
        if check:
            arguments.append("--dry-run")
        document = tool.run(arguments)
        result["create_vfs"] = document
        for key in ("interface", "previous", "actions", "vfs"):
            result[key] = document.get(key)
        if document.get("changed"):
            result["changed"] = True

    def persist_arguments(method):
        return ["persist", pci, "--method", method, "--count", str(count)] + tool.vf_options(for_persist=True)

    def install(method, printed):
        """Installs the file `printed` (persist's output without --install) describes."""
        before = tool.read(printed["path"])
        if check:
            document = printed
            document["changed"] = before != document.get("content")
        else:
            document = tool.run(persist_arguments(method) + ["--install"])
        after = document.get("content")
        result["persistence"].append(document)
        if document.get("changed"):
            result["changed"] = True
        diffs.append(dict(
            before=before or "", after=after or "",
            before_header=document["path"] + (" (missing)" if before is None else ""),
            after_header=document["path"]))

    def remove(methods):
        for method in methods:
            path = persistence_path(method, pci)
            before = tool.read(path)
            ours = before is not None and before.startswith(HEADER)
            if check:
                document = dict(pf=pci, method=method, path=path, changed=ours, content=None, notes=[])
            else:
                document = tool.run(["persist", pci, "--method", method, "--remove"])
            if not document.get("changed") and not ours:
                continue
            result["persistence"].append(document)
            if document.get("changed"):
                result["changed"] = True
                diffs.append(dict(before=before or "", after="", before_header=path, after_header=path + " (removed)"))

    if present:
        printed = None
        if p["persist"] != "none":
            # Printing the file first checks that the method can carry every option (sriovctl
            # refuses, with a message, the ones it cannot) before anything changes.
            printed = tool.run(persist_arguments(p["persist"]))
        if p["apply_now"]:
            create_vfs()
        if printed is not None:
            install(p["persist"], printed)
    else:
        remove(METHODS if p["persist"] == "none" else [p["persist"]])
        if p["apply_now"]:
            create_vfs()

    if module._diff and diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
