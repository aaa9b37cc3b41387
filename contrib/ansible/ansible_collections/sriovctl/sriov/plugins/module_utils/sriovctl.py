# -*- coding: utf-8 -*-
# Copyright: The sriovctl authors
# Apache License 2.0 (see LICENSE at the root of the sriovctl repository)
"""What the sriovctl.sriov modules share: finding the sriovctl binary and running it for its JSON."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

# The Debian package installs /usr/sbin/sriovctl and `make install` /usr/local/sbin/sriovctl;
# Ansible's PATH for a module may not hold the sbin directories.
SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin"]


def sriovctl_binary(module):
    """The sriovctl to run: the module's `sriovctl` option as a path, or that name looked up on PATH
    and in the sbin directories. Fails the task when there is none."""
    binary = module.params["sriovctl"]
    if os.sep in binary:
        return binary
    return module.get_bin_path(binary, required=True, opt_dirs=SBIN_DIRS)


def error_message(rc, stdout, stderr, document):
    """One line for a failed run: the document's own errors, else sriovctl's last line of stderr."""
    if document and document.get("errors"):
        return "; ".join(document["errors"])
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if lines:
        return lines[-1]
    if stdout.strip() and document is None:
        return "sriovctl exited with %d and printed no JSON document" % rc
    return "sriovctl exited with %d" % rc


def run_json(module, command, ok_codes=(0,), **context):
    """Runs `command` (sriovctl ... -o json) and returns (rc, document). Fails the task, with
    sriovctl's message and `context`, when the exit status is not in `ok_codes` or the output is
    no JSON document."""
    rc, stdout, stderr = module.run_command(command)
    try:
        document = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        document = None
    if rc not in ok_codes or not isinstance(document, dict):
        module.fail_json(
            msg=error_message(rc, stdout, stderr, document), rc=rc, cmd=command, stdout=stdout, stderr=stderr,
            **context)
    return rc, document
