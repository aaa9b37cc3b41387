# -*- coding: utf-8 -*-
# Copyright: The sriovctl authors
# Apache License 2.0 (see LICENSE)
"""Documentation every sriovctl.sriov module shares."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The sriovctl option and the requirement (all modules); the attributes of a read-only one."""

    DOCUMENTATION = r"""
requirements:
  - sriovctl installed on the managed host (the Debian package, or C(make install)), or its path in O(sriovctl)
options:
  sriovctl:
    description:
      - The sriovctl binary, a path or a name looked up in C(PATH) and in C(/usr/local/sbin) and
        C(/usr/sbin), where the Debian package installs it.
    type: str
    default: sriovctl
"""

    READ_ONLY = r"""
notes:
  - Supports check mode; it never changes anything.
attributes:
  check_mode:
    support: full
    description: It changes nothing, so it runs in check mode as it does otherwise.
  diff_mode:
    support: none
    description: "No diff: nothing changes."
"""
