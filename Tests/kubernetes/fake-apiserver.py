#!/usr/bin/env python3
"""A stand-in for kube-apiserver, enough for `kubectl get node` and `kubectl label node`.

Debian and PyPI carry no kube-apiserver; the tests run the real kubectl against this. It listens
on 127.0.0.1 only, serves discovery, one Node object, applies JSON merge patches to its labels and
records every request as a JSON line in --log. --mode forbidden answers 403 as RBAC would.
Prints the port on stdout once it listens; stops on SIGTERM or when stdin closes.
"""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--node", required=True)
parser.add_argument("--labels", default="{}")
parser.add_argument("--mode", choices=["normal", "forbidden"], default="normal")
parser.add_argument("--log", required=True)
args = parser.parse_args()

labels = json.loads(args.labels)
lock = threading.Lock()


def node_object():
    return {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {"name": args.node, "uid": "0b9a2b1e-5f6d-4c1e-9a63-1d2f3e4a5b6c",
                     "resourceVersion": "1", "labels": dict(labels)},
        "spec": {}, "status": {},
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
                 "shortNames": ["no"]}]}
        if path == "/version":
            return 200, {"major": "1", "minor": "20", "gitVersion": "v1.20.2"}
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
