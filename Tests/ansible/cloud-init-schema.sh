#!/usr/bin/env bash
# Validates cloud-config files with Debian's cloud-init (package cloud-init, 22.4 on Debian 12):
#
#   Tests/ansible/cloud-init-schema.sh contrib/cloud-init/sriov.yaml ...
#
# runs `cloud-init schema --config-file FILE` for each file and exits with its status.
#
# cloud-init is not installed on the machine: installing the package enables its boot services
# (cloud-init-local, cloud-init, cloud-config, cloud-final), which on this machine's next boot would
# look for a datasource and could rewrite its network configuration and SSH host keys. So the
# package is fetched with apt-get download and unpacked privately into the cache
# (${SRIOVCTL_CLOUD_INIT_CACHE:-/var/cache/sriovctl-cloud-init}; rebuilt when missing or damaged),
# and run with Debian's python3. Only its Python library dependencies are installed with apt-get
# (python3-jsonschema, -jinja2, -configobj, ...: libraries, no services), when missing.
set -euo pipefail
cache=${SRIOVCTL_CLOUD_INIT_CACHE:-/var/cache/sriovctl-cloud-init}
root=$cache/root
libraries=$root/usr/lib/python3/dist-packages
cloud_init() { PYTHONPATH=$libraries /usr/bin/python3 "$root/usr/bin/cloud-init" "$@"; }

modules=(yaml jsonschema jinja2 configobj requests jsonpatch oauthlib netifaces serial)
packages=(python3-yaml python3-jsonschema python3-jinja2 python3-configobj python3-requests
  python3-jsonpatch python3-oauthlib python3-netifaces python3-serial)
missing=()
for i in "${!modules[@]}"; do
  /usr/bin/python3 -c "import ${modules[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
done
if ((${#missing[@]})); then
  echo "installing cloud-init's Python libraries: ${missing[*]}" >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
if ! cloud_init --version >/dev/null 2>&1; then
  rm -rf "$cache" && mkdir -p "$cache"
  (cd "$cache" && apt-get download cloud-init >/dev/null 2>&1)
  dpkg -x "$cache"/cloud-init_*.deb "$root"
  cloud_init --version >/dev/null
fi
status=0
for file in "$@"; do
  cloud_init schema --config-file "$file" || status=$?
done
exit $status
