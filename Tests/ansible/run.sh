#!/usr/bin/env bash
# Runs the Ansible modules in contrib/ansible/library with the real ansible-core, installed from
# PyPI into a virtual environment that is cached (${SRIOVCTL_ANSIBLE_CACHE:-/var/cache/sriovctl-ansible})
# and rebuilt when missing or damaged. Python 3.11 (Debian 12) and ansible-core 2.17.
#
#   Tests/ansible/run.sh prepare                 # makes the venv; prints its bin directory
#   Tests/ansible/run.sh playbook PLAYBOOK ARG...   # ansible-playbook against localhost (local
#                                                # connection); with -v each task's result is
#                                                # printed as one line of JSON
#   Tests/ansible/run.sh doc MODULE              # ansible-doc for one of the modules
#   Tests/ansible/run.sh payload FILE.tar        # the modules + ansible-core's module_utils, to run
#                                                # a module where Ansible is not installed
#   Tests/ansible/run.sh all                     # every scenario on fixture hosts, with a summary
#                                                # (AnsibleTests.swift asserts the same, precisely)
#
# The playbooks here take their targets as extra variables (-e), usually a fixture root written
# by `sriovctl-fixture x710 DIR` and the sriovctl binary to use: see Tests/ansible/vfs.yml.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${SRIOVCTL_ANSIBLE_CACHE:-/var/cache/sriovctl-ansible}
venv=$cache/venv
requirement=${SRIOVCTL_ANSIBLE_CORE:-ansible-core>=2.17,<2.18}

prepare() {
  if "$venv/bin/ansible-playbook" --version >/dev/null 2>&1 && "$venv/bin/ansible-doc" --version >/dev/null 2>&1; then
    return 0
  fi
  if ! /usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "python3-venv is missing: installing it (apt-get install python3-venv)" >&2
    apt-get install -y -q python3-venv >&2
  fi
  rm -rf "$venv" && mkdir -p "$cache"
  # Debian's python3, not whatever python3 PATH finds first (pyenv shims on some machines).
  /usr/bin/python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "$requirement" >&2
  "$venv/bin/ansible-playbook" --version >/dev/null
}

# A private, quiet Ansible configuration: nothing from ~/.ansible or an ansible.cfg nearby.
ansible_env() {
  local home=$cache/home
  mkdir -p "$home"
  : >"$home/ansible.cfg"
  export ANSIBLE_CONFIG=$home/ansible.cfg
  export ANSIBLE_HOME=$home
  export ANSIBLE_LOCAL_TEMP=$home/tmp
  export ANSIBLE_REMOTE_TEMP=$home/remote-tmp
  export ANSIBLE_LIBRARY=$repo/contrib/ansible/library
  export ANSIBLE_NOCOLOR=1
  export ANSIBLE_RETRY_FILES_ENABLED=0
  export ANSIBLE_DEPRECATION_WARNINGS=0
  export ANSIBLE_LOCALHOST_WARNING=0
  export ANSIBLE_INVENTORY_UNPARSED_WARNING=0
  export ANSIBLE_PYTHON_INTERPRETER=$venv/bin/python3
  # ansible-core has no JSON stdout callback (that one is in the ansible.posix collection): the
  # default callback prints each task's result as one line of JSON instead, with -v.
  export ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default
  export ANSIBLE_CALLBACK_RESULT_FORMAT=json
  export ANSIBLE_CALLBACK_FORMAT_PRETTY=0
}

case ${1:-all} in
  prepare)
    prepare
    echo "$venv/bin"
    ;;
  playbook)
    shift
    prepare
    ansible_env
    playbook=$1
    shift
    exec "$venv/bin/ansible-playbook" -i localhost, -c local "$playbook" "$@"
    ;;
  payload)
    # A tar of the modules and ansible-core's module_utils (with an empty ansible/__init__.py, as
    # AnsiballZ ships them): unpacked into DIR, `PYTHONPATH=DIR python3 DIR/sriovctl_vfs.py ARGS`
    # runs a module on a host without Ansible (Tests/vm/scenarios/ansible-module.sh).
    out=${2:?usage: $0 payload FILE.tar}
    prepare
    "$venv/bin/python3" - "$out" "$repo/contrib/ansible/library" <<'PY'
import io, os, sys, tarfile
import ansible.module_utils
out, library = sys.argv[1], sys.argv[2]
utils = os.path.dirname(ansible.module_utils.__file__)
with tarfile.open(out, "w") as tar:
    empty = tarfile.TarInfo("ansible/__init__.py")
    tar.addfile(empty, io.BytesIO(b""))
    tar.add(utils, "ansible/module_utils", filter=lambda i: None if "__pycache__" in i.name else i)
    for name in ("sriovctl_vfs.py", "sriovctl_check.py", "sriovctl_apply.py", "sriovctl_verify.py"):
        tar.add(os.path.join(library, name), name)
PY
    ;;
  doc)
    prepare
    ansible_env
    exec "$venv/bin/ansible-doc" -M "$repo/contrib/ansible/library" "$2"
    ;;
  all)
    prepare
    bin=$repo/.build/debug
    work=$(mktemp -d /tmp/sriovctl-ansible-all.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    "$bin/sriovctl-fixture" x710 "$work/x710" >/dev/null
    "$bin/sriovctl-fixture" connectx5-disabled "$work/cx5" >/dev/null
    mkdir -p "$work/x710/usr/local/bin" && cp "$bin/sriovctl" "$work/x710/usr/local/bin/"
    play() { echo "== $*"; "$0" playbook "$@" -e "sriovctl=$bin/sriovctl" || echo "(exit $?)"; }
    x=(-e "root=$work/x710")
    "$0" doc sriovctl_vfs >/dev/null && echo "== ansible-doc sriovctl_vfs: ok"
    "$0" doc sriovctl_check >/dev/null && echo "== ansible-doc sriovctl_check: ok"
    play "$here/vfs.yml" "${x[@]}" -e persist=systemd -e apply_now=false --diff
    play "$here/vfs.yml" "${x[@]}" -e persist=systemd -e apply_now=false
    play "$here/vfs.yml" "${x[@]}" -e persist=systemd -e apply_now=false -e state=absent --diff
    play "$here/vfs.yml" "${x[@]}" -e num_vfs=8 --check
    play "$here/vfs.yml" "${x[@]}" -e num_vfs=4 --check
    play "$here/vfs.yml" "${x[@]}" -e pf=ens9 --check
    play "$here/check.yml" "${x[@]}"
    play "$here/check.yml" -e "root=$work/cx5"
    play "$repo/contrib/ansible/playbook.yml" -e "sriov_root=$work/x710" -e "sriovctl=$bin/sriovctl" --check --diff
    ;;
  *)
    echo "usage: $0 prepare | playbook PLAYBOOK [ARG...] | doc MODULE | payload FILE.tar | all" >&2
    exit 64
    ;;
esac
