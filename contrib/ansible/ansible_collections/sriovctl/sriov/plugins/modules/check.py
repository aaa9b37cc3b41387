#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: The sriovctl authors
# Apache License 2.0 (see LICENSE)
# An Ansible module for sriovctl (the sriovctl.sriov collection): gates a play on
# `sriovctl check -o json`.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: check
short_description: Check that a host is ready for SR-IOV (IOMMU, firmware, kernel, NICs) with sriovctl
description:
  - Runs C(sriovctl check -o json) and returns its checks, C(firmware.iommu), C(kernel.iommu),
    C(kernel.cmdline), C(kernel.log), C(nic.sriov) (per PF), C(modules.vfio), C(memory.hugepages),
    C(devices.vfio), C(devices.vhost-net) and C(host.conflicts), each with a status (C(pass),
    C(warn), C(fail), C(skip)), a summary and a remedy.
  - With O(kubeconfig), also what the cluster makes of the host, read through kubectl (get only),
    in C(kubernetes.node), C(kubernetes.label), C(kubernetes.device-plugin-config),
    C(kubernetes.device-plugin) and C(kubernetes.allocatable); or C(kubernetes.cluster) alone when
    the cluster cannot be read.
  - The task fails when a check failed (warnings do not fail), with the failed checks' summaries and
    remedies in its message, so a play stops before it creates VFs on a host that cannot have them.
    O(fail_on_error=false) reports instead, for a later C(when) or C(assert).
  - It changes nothing; it runs in check mode too.
version_added: "0.1.0"
author:
  - The sriovctl authors (!UNKNOWN)
extends_documentation_fragment:
  - sriovctl.sriov.sriovctl
  - sriovctl.sriov.sriovctl.read_only
options:
  pf:
    description:
      - Limit the per-PF checks to these PFs (interface names or PCI addresses).
    type: list
    elements: str
  fail_on_error:
    description:
      - Fail the task when sriovctl reports that a check failed (C(ok) is false).
    type: bool
    default: true
  root:
    description:
      - Check the host beneath this directory instead of C(/) (C(sriovctl --root)).
    type: path
  kubeconfig:
    description:
      - Check the cluster too, with kubectl and this kubeconfig (C(sriovctl check --kubeconfig)).
    type: path
  context:
    description:
      - The kubeconfig context kubectl uses. Needs O(kubeconfig).
    type: str
  node:
    description:
      - The node's name in the cluster (default, the host's name, lowercased). Needs O(kubeconfig).
    type: str
  kubectl:
    description:
      - The kubectl to run (default, kubectl from C(PATH)). Needs O(kubeconfig).
    type: path
  device_plugin_config:
    description:
      - The device plugin's ConfigMap, C(NAMESPACE/NAME) (default, C(kube-system/sriovdp-config)).
        Needs O(kubeconfig).
    type: str
seealso:
  - module: sriovctl.sriov.vfs
"""

EXAMPLES = r"""
- name: Stop here unless the host is ready for SR-IOV
  sriovctl.sriov.check:

- name: Check only ens1f0, and decide later
  sriovctl.sriov.check:
    pf: [ens1f0]
    fail_on_error: false
  register: readiness

- name: The host and what the cluster makes of it (node, labels, device plugin, allocatable)
  sriovctl.sriov.check:
    kubeconfig: /etc/kubernetes/kubelet.conf

- name: Warnings are worth a look
  ansible.builtin.debug:
    msg: "{{ readiness.checks | selectattr('status', 'equalto', 'warn') | map(attribute='remedy') | list }}"
"""

RETURN = r"""
ok:
  description: True when no check failed (warnings do not count).
  returned: always
  type: bool
  sample: true
checks:
  description:
    - Every check as C(sriovctl check -o json) reports it, with C(id), C(title), C(status),
      C(summary), C(remedy), C(pf) and C(details).
  returned: always
  type: list
  elements: dict
  sample:
    - id: kernel.iommu
      title: if an IOMMU is active
      status: pass
      summary: dmar0 with 11 IOMMU groups, passthrough mode
      remedy: null
      pf: null
      details: []
failed_checks:
  description: The ids of the checks that failed.
  returned: always
  type: list
  elements: str
  sample: ["nic.sriov"]
rc:
  description:
    - The exit status of C(sriovctl check), 1 when a check failed; with O(fail_on_error=false)
      the task still succeeds.
  returned: always
  type: int
  sample: 0
warnings_checks:
  description: The ids of the checks that passed with a warning.
  returned: always
  type: list
  elements: str
  sample: ["kernel.cmdline"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sriovctl.sriov.plugins.module_utils.sriovctl import run_json, sriovctl_binary


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pf=dict(type="list", elements="str"),
            fail_on_error=dict(type="bool", default=True),
            root=dict(type="path"),
            kubeconfig=dict(type="path"),
            context=dict(type="str"),
            node=dict(type="str"),
            kubectl=dict(type="path"),
            device_plugin_config=dict(type="str"),
            sriovctl=dict(type="str", default="sriovctl"),
        ),
        required_by=dict(
            context="kubeconfig", node="kubeconfig", kubectl="kubeconfig", device_plugin_config="kubeconfig",
        ),
        supports_check_mode=True,
    )
    p = module.params
    command = [sriovctl_binary(module), "check", "-o", "json"]
    for pf in p["pf"] or []:
        command += ["--pf", pf]
    if p["root"]:
        command += ["--root", p["root"]]
    for option in ("kubeconfig", "context", "node", "kubectl", "device_plugin_config"):
        if p[option]:
            command += ["--" + option.replace("_", "-"), p[option]]
    # check exits 1 when a check failed, with its document.
    rc, document = run_json(module, command, ok_codes=(0, 1))
    checks = document.get("checks") or []
    ok = bool(document.get("ok"))
    failed = [c for c in checks if c.get("status") == "fail"]
    result = dict(
        changed=False, ok=ok, checks=checks, rc=rc, cmd=command,
        failed_checks=[c.get("id") for c in failed],
        warnings_checks=[c.get("id") for c in checks if c.get("status") == "warn"],
    )
    if not ok and p["fail_on_error"]:
        reasons = []
        for c in failed:
            reason = "%s%s: %s" % (c.get("id"), " (%s)" % c["pf"] if c.get("pf") else "", c.get("summary"))
            if c.get("remedy"):
                reason += "; remedy: %s" % c["remedy"]
            reasons.append(reason)
        module.fail_json(msg="not ready for SR-IOV: " + " | ".join(reasons), **result)
    # sriovctl check exits 1 when a check failed, and ansible-core fails any result with a
    # non-zero rc unless it says otherwise: with fail_on_error false, say so.
    module.exit_json(failed=False, **result)


if __name__ == "__main__":
    main()
