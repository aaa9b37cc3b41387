#!/usr/bin/env python3
"""A stand-in for kube-apiserver, enough for what `sriovctl label` and `sriovctl check` ask.

Debian and PyPI carry no kube-apiserver; the tests run the real kubectl against this. It listens
on 127.0.0.1 only and serves discovery; one Node (--node, --labels, and --node-status: its status
as JSON, Ready by default), to which it applies JSON merge patches of labels; the ConfigMaps of
--configmaps and the Pods of --pods (JSON lists of objects; pods filtered by labelSelector
`app in (a,b)` or `app=a` and fieldSelector `spec.nodeName=X` as the real server does). It
records every request as a JSON line in --log. --mode answers as RBAC or authentication would:
forbidden (everything), forbidden-configmaps, forbidden-pods, unauthorized.
Prints the port on stdout once it listens; stops on SIGTERM or when stdin closes.
"""
import argparse
import json
import re
import urllib.parse
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--node", required=True)
parser.add_argument("--labels", default="{}")
parser.add_argument("--node-status", default='{"conditions": [{"type": "Ready", "status": "True"}]}')
parser.add_argument("--configmaps", default="[]")
parser.add_argument("--pods", default="[]")
parser.add_argument("--mode", choices=["normal", "forbidden", "forbidden-configmaps", "forbidden-pods", "unauthorized"],
                    default="normal")
parser.add_argument("--log", required=True)
args = parser.parse_args()

labels = json.loads(args.labels)
node_status = json.loads(args.node_status)
configmaps = json.loads(args.configmaps)
pods = json.loads(args.pods)
lock = threading.Lock()


def selected(pod, query):
    """Whether a pod passes the request's labelSelector and fieldSelector (the forms kubectl sends)."""
    pod_labels = (pod.get("metadata") or {}).get("labels") or {}
    for selector in query.get("labelSelector", []):
        for term in re.split(r",(?![^()]*\))", selector):
            term = term.strip()
            match = re.fullmatch(r"([\w./-]+)\s+in\s+\(([^)]*)\)", term)
            if match:
                values = [v.strip() for v in match.group(2).split(",")]
                if pod_labels.get(match.group(1)) not in values:
                    return False
            elif "=" in term:
                key, value = term.split("=", 1)
                if pod_labels.get(key.rstrip("=")) != value.lstrip("="):
                    return False
            else:
                raise ValueError(f"unsupported label selector {selector!r}")
    for selector in query.get("fieldSelector", []):
        for term in selector.split(","):
            key, value = term.split("=", 1)
            if key != "spec.nodeName":
                raise ValueError(f"unsupported field selector {selector!r}")
            if (pod.get("spec") or {}).get("nodeName") != value.lstrip("="):
                return False
    return True


def node_object():
    return {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {"name": args.node, "uid": "0b9a2b1e-5f6d-4c1e-9a63-1d2f3e4a5b6c",
                     "resourceVersion": "1", "labels": dict(labels)},
        "spec": {}, "status": node_status,
    }


def status(code, reason, message, kind="nodes", name=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if name is not None:
        body["details"] = {"name": name, "kind": kind}
    return code, body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def record(self, body):
        with lock, open(args.log, "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path,
                                  "content_type": self.headers.get("Content-Type"),
                                  "body": body}) + "\n")

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route(self, body):
        global labels
        path = self.path.split("?")[0]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if args.mode == "unauthorized":  # as for a token the server does not know: everything
            return 401, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                         "serverAddress": "127.0.0.1"}]}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
        if path == "/api/v1":
            return 200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "nodes", "singularName": "", "namespaced": False, "kind": "Node",
                 "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                 "shortNames": ["no"]},
                {"name": "configmaps", "singularName": "", "namespaced": True, "kind": "ConfigMap",
                 "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                 "shortNames": ["cm"]},
                {"name": "pods", "singularName": "", "namespaced": True, "kind": "Pod",
                 "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                 "shortNames": ["po"]}]}
        if path == "/version":
            return 200, {"major": "1", "minor": "20", "gitVersion": "v1.20.2"}
        configmap = re.fullmatch(r"/api/v1/namespaces/([^/]+)/configmaps/([^/]+)", path)
        if configmap:
            namespace, name = configmap.groups()
            if args.mode in ("forbidden", "forbidden-configmaps"):
                return status(403, "Forbidden",
                              f'configmaps "{name}" is forbidden: User "system:serviceaccount:default:sriov" '
                              f'cannot get resource "configmaps" in API group "" in the namespace "{namespace}"',
                              kind="configmaps", name=name)
            for item in configmaps:
                metadata = item.get("metadata") or {}
                if metadata.get("namespace") == namespace and metadata.get("name") == name and self.command == "GET":
                    return 200, dict(item, kind="ConfigMap", apiVersion="v1")
            return status(404, "NotFound", f'configmaps "{name}" not found', kind="configmaps", name=name)
        if path == "/api/v1/pods" and self.command == "GET":
            if args.mode in ("forbidden", "forbidden-pods"):
                return status(403, "Forbidden",
                              'pods is forbidden: User "system:serviceaccount:default:sriov" cannot list '
                              'resource "pods" in API group "" at the cluster scope')
            items = [dict(pod, kind="Pod", apiVersion="v1") for pod in pods if selected(pod, query)]
            return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                         "items": items}
        if path.startswith("/api/v1/nodes/"):
            name = path[len("/api/v1/nodes/"):]
            verb = "get" if self.command == "GET" else "patch"
            if args.mode == "forbidden":
                return status(403, "Forbidden",
                              f'nodes "{name}" is forbidden: User "system:serviceaccount:default:sriov" '
                              f'cannot {verb} resource "nodes" in API group "" at the cluster scope',
                              name=name)
            if name != args.node:
                return status(404, "NotFound", f'nodes "{name}" not found', name=name)
            if self.command == "GET":
                return 200, node_object()
            if self.command == "PATCH":
                patch = json.loads(body or "{}")
                with lock:
                    for key, value in ((patch.get("metadata") or {}).get("labels") or {}).items():
                        if value is None:
                            labels.pop(key, None)
                        else:
                            labels[key] = value
                return 200, node_object()
        return status(404, "NotFound", "the server could not find the requested resource")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        self.record(body)
        code, reply = self.route(body)
        self.reply(code, reply)

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = handle_any


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
# The log exists (empty) before the port is announced, so "no request was sent" (an empty log) is
# told apart from "the server never ran" (no log).
with open(args.log, "x"):
    pass
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()  # until the test closes our stdin (or kills us)
server.shutdown()
