#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: The sriovctl authors
# Apache License 2.0 (see LICENSE)
# An Ansible module for sriovctl (the sriovctl.sriov collection): compares a node with its node
# file with `sriovctl verify -o json`.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: verify
short_description: Tell whether a node's SR-IOV VFs still match its node file (sriovctl verify)
description:
  - Runs C(sriovctl verify -o json) on the installed node file (or O(path)) and returns
    C(in_sync) and each difference (C(pf), C(vf), C(field), C(want), C(have)). It changes nothing.
  - A drifted node fails the task when O(fail_on_drift) is true (the default), naming the
    differences; otherwise it is reported for a later C(when). An error (a bad file, sriovctl
    missing) always fails.
version_added: "0.1.0"
author:
  - The sriovctl authors (!UNKNOWN)
extends_documentation_fragment:
  - sriovctl.sriov.sriovctl
  - sriovctl.sriov.sriovctl.read_only
options:
  path:
    description:
      - The node file (default C(/etc/sriovctl/sriovctl.yaml) beneath O(root)).
    type: path
  fail_on_drift:
    description:
      - Fail the task when the node has drifted.
    type: bool
    default: true
  root:
    description:
      - Compare the host beneath this directory (C(--root)).
    type: path
seealso:
  - module: sriovctl.sriov.apply
"""

EXAMPLES = r"""
- name: Alert when a node's VFs drifted from its file
  sriovctl.sriov.verify:
    fail_on_drift: false
  register: sriov
- ansible.builtin.debug:
    msg: "{{ sriov.differences }}"
  when: not sriov.in_sync
"""

RETURN = r"""
in_sync:
  description: True when every PF is as the node file says.
  returned: always
  type: bool
differences:
  description: Each difference, as C(sriovctl verify -o json) gives it.
  returned: always
  type: list
  elements: dict
  sample:
    - {pf: "0000:3b:00.1", vf: null, field: numVfs, want: "2", have: "0"}
unmatched:
  description: Policies that select no PF on this host.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sriovctl.sriov.plugins.module_utils.sriovctl import run_json, sriovctl_binary


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            fail_on_drift=dict(type="bool", default=True),
            root=dict(type="path"),
            sriovctl=dict(type="str", default="sriovctl"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    command = [sriovctl_binary(module), "verify", "-o", "json"]
    if p["path"]:
        command += ["-f", p["path"]]
    if p["root"]:
        command += ["--root", p["root"]]
    # verify exits 0 in sync, 2 drifted (both with a document), 1 on error.
    document = run_json(module, command, ok_codes=(0, 2))[1]
    result = dict(
        changed=False,
        in_sync=bool(document.get("in_sync")),
        differences=document.get("differences", []),
        unmatched=document.get("unmatched", []),
    )
    if not result["in_sync"] and p["fail_on_drift"]:
        lines = [
            "%s%s %s: want %s, have %s" % (d["pf"], "" if d["vf"] is None else " VF %s" % d["vf"], d["field"], d["want"], d["have"])
            for d in result["differences"]
        ]
        module.fail_json(msg="the node drifted from its node file: " + "; ".join(lines), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
