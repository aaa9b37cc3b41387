#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: The sriovctl authors
# Apache License 2.0 (see LICENSE)
# An Ansible module for sriovctl (the sriovctl.sriov collection): applies a node file with
# `sriovctl apply -o json`.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apply
short_description: Bring a node's SR-IOV VFs to a node file with sriovctl apply
description:
  - Runs C(sriovctl apply -o json) on a node file, given inline as O(config) (a mapping in
    sriovctl's own form, C(version) 1 and C(policies), or one C(SriovNetworkNodePolicy)) or as a
    file on the managed host (O(path)). Every PF the file selects is configured, in parallel; C(changed) is sriovctl's
    own, so a second run reports no change.
  - In check mode it runs C(sriovctl apply --dry-run) and returns the plan; with C(--diff) the diff
    shows the node file and, after it, the plan.
  - With O(persist=true) the node file and C(sriovctl.service) are installed
    (C(sriovctl persist --config --install)), so the same VFs are made at every boot.
version_added: "0.1.0"
author:
  - The sriovctl authors (!UNKNOWN)
extends_documentation_fragment:
  - sriovctl.sriov.sriovctl
options:
  config:
    description:
      - The node file's content, as a mapping (written to a temporary file as JSON, which is YAML).
      - Exactly one of O(config) and O(path) is required.
    type: dict
  path:
    description:
      - A node file on the managed host (C(sriovctl apply -f PATH)).
    type: path
  force:
    description:
      - Change a VF count even when VFs are in use (C(--force)).
    type: bool
    default: false
  persist:
    description:
      - Also install the node file and the boot unit (C(sriovctl persist --config --install)).
    type: bool
    default: false
  apply_now:
    description:
      - Change the running kernel now. False only plans (C(apply --dry-run)) and, with
        O(persist=true), installs the file and unit, for an image being built under O(root).
    type: bool
    default: true
  timeout:
    description:
      - Seconds for the whole run (C(--timeout)).
    type: float
    default: 60
  root:
    description:
      - Configure the host beneath this directory (C(--root)); only a dry run is possible there,
        and O(persist) installs into it.
    type: path
notes:
  - Supports check mode (the plan) and diff mode (the node file and the plan).
seealso:
  - module: sriovctl.sriov.verify
  - module: sriovctl.sriov.check
attributes:
  check_mode:
    support: full
    description: "Runs C(sriovctl apply --dry-run): the plan, nothing changed."
  diff_mode:
    support: full
    description: The node file and the plan.
"""

EXAMPLES = r"""
- name: Four VFs for DPDK and four for pods on each X710 port
  sriovctl.sriov.apply:
    persist: true
    config:
      version: 1
      policies:
        - name: dpdk
          nicSelector: {vendor: "8086", deviceID: "1572"}
          numVfs: 8
          deviceType: vfio-pci

- name: The cluster's policies, without the operator
  sriovctl.sriov.apply:
    path: /etc/sriovctl/policies.yaml
"""

RETURN = r"""
pfs:
  description: Per PF, the create-vfs result with C(policies) and C(error), as C(sriovctl apply -o json).
  returned: always
  type: list
  elements: dict
unmatched:
  description: Policies that select no PF on this host.
  returned: always
  type: list
  elements: str
notes:
  description: What the plan mentions (policies set aside by priority, selectors not evaluated).
  returned: always
  type: list
  elements: str
persist:
  description: C(sriovctl persist --config --install -o json)'s result, with O(persist=true).
  returned: when persist
  type: dict
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sriovctl.sriov.plugins.module_utils.sriovctl import run_json, sriovctl_binary


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="dict"),
            path=dict(type="path"),
            force=dict(type="bool", default=False),
            persist=dict(type="bool", default=False),
            apply_now=dict(type="bool", default=True),
            timeout=dict(type="float", default=60),
            root=dict(type="path"),
            sriovctl=dict(type="str", default="sriovctl"),
        ),
        required_one_of=[("config", "path")],
        mutually_exclusive=[("config", "path")],
        supports_check_mode=True,
    )
    p = module.params
    binary = sriovctl_binary(module)
    temporary = None
    try:
        if p["config"] is not None:
            handle, temporary = tempfile.mkstemp(prefix="sriovctl-node-", suffix=".yaml")
            with os.fdopen(handle, "w") as out:
                json.dump(p["config"], out, indent=2, sort_keys=True)
                out.write("\n")
            path = temporary
        else:
            path = p["path"]
        common = ["--timeout", str(p["timeout"])]
        if p["root"]:
            common += ["--root", p["root"]]
        command = [binary, "apply", "-f", path, "-o", "json"] + common
        if p["force"]:
            command.append("--force")
        planned_only = module.check_mode or not p["apply_now"]
        if planned_only:
            command.append("--dry-run")
        document = run_json(module, command)[1]
        result = dict(
            # Without apply_now nothing in the kernel changes, whatever the plan says.
            changed=bool(document.get("changed")) and (module.check_mode or p["apply_now"]),
            pfs=document.get("pfs", []),
            unmatched=document.get("unmatched", []),
            notes=document.get("notes", []),
        )
        if module._diff:
            with open(path) as source:
                text = source.read()
            plan = "".join(
                "%s %s: %s\n" % (pf.get("pf"), pf.get("policies"), action)
                for pf in document.get("pfs", [])
                for action in pf.get("actions", [])
            )
            result["diff"] = dict(before="", after=text + ("\n# plan\n" + plan if plan else ""),
                                  before_header="node file", after_header=path)
        if p["persist"]:
            persist = [binary, "persist", "--config", "-f", path, "-o", "json"] + common
            if not module.check_mode:
                persist.append("--install")
            installed = run_json(module, persist)[1]
            result["persist"] = installed
            if not module.check_mode and installed.get("changed"):
                result["changed"] = True
        module.exit_json(**result)
    finally:
        if temporary:
            os.unlink(temporary)


if __name__ == "__main__":
    main()
