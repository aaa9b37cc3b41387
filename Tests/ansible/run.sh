#!/usr/bin/env bash
# Runs the sriovctl.sriov collection (contrib/ansible/ansible_collections/sriovctl/sriov), built
# with ansible-galaxy and installed from its tarball, with the real ansible-core, installed from
# PyPI into a virtual environment that is cached (${SRIOVCTL_ANSIBLE_CACHE:-/var/cache/sriovctl-ansible})
# and rebuilt when missing or damaged. Python 3.11 (Debian 12) and ansible-core 2.17.
#
#   Tests/ansible/run.sh prepare                 # makes the venv; prints its bin directory
#   Tests/ansible/run.sh collection [OUTDIR]     # ansible-galaxy collection build (into OUTDIR,
#                                                # default the cache), then install of that tarball
#                                                # where the playbooks find it; prints its path
#   Tests/ansible/run.sh sanity                  # ansible-test sanity on the collection
#   Tests/ansible/run.sh playbook PLAYBOOK ARG...   # ansible-playbook against localhost (local
#                                                # connection); with -v each task's result is
#                                                # printed as one line of JSON
#   Tests/ansible/run.sh doc [--json] MODULE     # ansible-doc for one of the modules (its FQCN)
#   Tests/ansible/run.sh payload FILE.tar        # the modules + their module_utils and
#                                                # ansible-core's, to run
#                                                # a module where Ansible is not installed
#   Tests/ansible/run.sh controller FILE.tar     # this venv and the installed collection (at
#                                                # their paths) plus python3-apt's packages, for
#                                                # a guest that runs the role on itself
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
collection_src=$repo/contrib/ansible/ansible_collections/sriovctl/sriov
collections=$cache/collections

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
  # Only the installed collection: the modules are reached by their FQCN, sriovctl.sriov.vfs.
  export ANSIBLE_COLLECTIONS_PATH=$collections
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

# sanity: ansible-test sanity on the collection, the tests that need no container, in a venv of
# their own ($cache/sanity: ansible-core and the pinned requirements ansible-test ships for
# ansible-doc, import, pep8, pylint, yamllint, validate-modules and runtime-metadata, from PyPI;
# ansible-test makes a venv per test and bootstraps pip in it with a get-pip script it downloads
# from its own CI host, which cannot be reached here: a stand-in at the path it caches that script
# bootstraps pip with Python's own ensurepip, then installs what get-pip was asked for, from PyPI.
# Runs on a copy at .../ansible_collections/sriovctl/sriov, the layout ansible-test wants,
# outside any git tree so that it sees exactly the collection's files.
sanity_venv=$cache/sanity
sanity() {
  if ! "$sanity_venv/bin/ansible-test" --version >/dev/null 2>&1 || ! "$sanity_venv/bin/python3" -c 'import pylint, yamllint, voluptuous' 2>/dev/null; then
    rm -rf "$sanity_venv"
    /usr/bin/python3 -m venv "$sanity_venv" >&2
    "$sanity_venv/bin/pip" install -q --disable-pip-version-check "$requirement" >&2
    local requirements
    requirements=$("$sanity_venv/bin/python3" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_data/requirements
    local files=() test
    for test in ansible-doc import pep8 pylint yamllint validate-modules runtime-metadata; do
      files+=(-r "$requirements/sanity.$test.txt")
    done
    "$sanity_venv/bin/pip" install -q --disable-pip-version-check "${files[@]}" >&2
  fi
  export HOME=$cache/sanity-home
  local pip_version
  # The pip version ansible-test bootstraps (infrastructure_packages in python_requirements.py).
  pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',\$/\1/p" \
    "$("$sanity_venv/bin/python3" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py")
  [[ -n $pip_version ]] || { echo "cannot tell which pip ansible-test bootstraps" >&2; return 1; }
  mkdir -p "$HOME/.ansible/test/cache"
  cat >"$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py" <<'GETPIP'
# A stand-in for get-pip (Tests/ansible/run.sh sanity): pip from Python's ensurepip, then
# `pip install` of the arguments get-pip was given, from PyPI.
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + sys.argv[1:]))
GETPIP
  local work
  work=$(mktemp -d /tmp/sriovctl-sanity.XXXXXX)
  mkdir -p "$work/ansible_collections/sriovctl"
  cp -a "$collection_src" "$work/ansible_collections/sriovctl/sriov"
  rm -rf "$work/ansible_collections/sriovctl/sriov/tests/output"
  local status=0
  (cd "$work/ansible_collections/sriovctl/sriov" &&
    PATH=$sanity_venv/bin:$PATH "$sanity_venv/bin/ansible-test" sanity --python 3.11 --color no "$@") || status=$?
  rm -rf "$work"
  return "$status"
}

# collection [OUTDIR]: builds the collection's tarball and installs it into $collections.
collection() {
  local out=${1:-$cache/build}
  mkdir -p "$out"
  "$venv/bin/ansible-galaxy" collection build "$collection_src" --output-path "$out" --force >/dev/null
  local version tarball
  version=$(sed -n 's/^version: //p' "$collection_src/galaxy.yml")
  tarball=$out/sriovctl-sriov-$version.tar.gz
  [[ -f $tarball ]] || { echo "ansible-galaxy built no $tarball" >&2; exit 1; }
  rm -rf "$collections"
  "$venv/bin/ansible-galaxy" collection install "$tarball" -p "$collections" --force >/dev/null
  echo "$tarball"
}

case ${1:-all} in
  prepare)
    prepare
    ansible_env
    collection >/dev/null
    echo "$venv/bin"
    ;;
  collection)
    prepare
    ansible_env
    collection "${2:-}"
    ;;
  sanity)
    prepare
    sanity
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
    # AnsiballZ ships them): unpacked into DIR, `PYTHONPATH=DIR python3 DIR/vfs.py ARGS`
    # runs a module on a host without Ansible (Tests/vm/scenarios/ansible-module.sh).
    out=${2:?usage: $0 payload FILE.tar}
    prepare
    "$venv/bin/python3" - "$out" "$collection_src" <<'PY'
import io, os, sys, tarfile
import ansible.module_utils
out, collection = sys.argv[1], sys.argv[2]
utils = os.path.dirname(ansible.module_utils.__file__)
skip = lambda i: None if "__pycache__" in i.name else i
with tarfile.open(out, "w") as tar:
    empty = tarfile.TarInfo("ansible/__init__.py")
    tar.addfile(empty, io.BytesIO(b""))
    tar.add(utils, "ansible/module_utils", filter=skip)
    tar.add(os.path.join(collection, "plugins/module_utils"),
            "ansible_collections/sriovctl/sriov/plugins/module_utils", filter=skip)
    for name in ("vfs.py", "check.py", "apply.py", "verify.py"):
        tar.add(os.path.join(collection, "plugins/modules", name), name)
PY
    ;;
  controller)
    out=${2:?usage: $0 controller FILE.tar}
    prepare
    ansible_env
    collection >/dev/null
    # The apt module needs python3-apt on the managed host (a minimal Debian has none, and the
    # module would fetch it with apt-get, which a guest without network cannot).
    debs=$cache/guest-debs
    rm -rf "$debs" && mkdir -p "$debs"
    (cd "$debs" && apt-get download -q python3-apt python-apt-common distro-info-data >&2)
    tar -cf "$out" -C / "${venv#/}" "${collections#/}" "${debs#/}"
    ;;
  doc)
    prepare
    ansible_env
    shift
    exec "$venv/bin/ansible-doc" "$@"
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
    "$0" collection >/dev/null
    for module in check vfs apply verify; do
      "$0" doc "sriovctl.sriov.$module" >/dev/null && echo "== ansible-doc sriovctl.sriov.$module: ok"
    done
    play "$here/vfs.yml" "${x[@]}" -e persist=systemd -e apply_now=false --diff
    play "$here/vfs.yml" "${x[@]}" -e persist=systemd -e apply_now=false
    play "$here/vfs.yml" "${x[@]}" -e persist=systemd -e apply_now=false -e state=absent --diff
    play "$here/vfs.yml" "${x[@]}" -e num_vfs=8 --check
    play "$here/vfs.yml" "${x[@]}" -e num_vfs=4 --check
    play "$here/vfs.yml" "${x[@]}" -e pf=ens9 --check
    play "$here/check.yml" "${x[@]}"
    play "$here/check.yml" -e "root=$work/cx5"
    play "$collection_src/playbooks/sriov.yml" -e "sriov_root=$work/x710" -e "sriovctl=$bin/sriovctl" --check --diff
    ;;
  *)
    echo "usage: $0 prepare | collection [OUTDIR] | sanity | playbook PLAYBOOK [ARG...] | doc MODULE | payload FILE.tar | controller FILE.tar | all" >&2
    exit 64
    ;;
esac
