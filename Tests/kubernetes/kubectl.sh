#!/usr/bin/env bash
# Prints the path of Debian's kubectl (package kubernetes-client) for the tests, fetching it with
# apt-get download and unpacking it privately: on these machines /usr/bin/kubectl belongs to
# another package, so kubernetes-client cannot be installed over it. Cached; rebuilt if damaged.
set -euo pipefail
cache=${SRIOVCTL_KUBECTL_CACHE:-/var/cache/sriovctl-kubectl}
kubectl=$cache/root/usr/bin/kubectl
if ! "$kubectl" version --client >/dev/null 2>&1; then
  rm -rf "$cache" && mkdir -p "$cache"
  (cd "$cache" && apt-get download kubernetes-client >/dev/null)
  dpkg -x "$cache"/kubernetes-client_*.deb "$cache/root"
  "$kubectl" version --client >/dev/null
fi
echo "$kubectl"
