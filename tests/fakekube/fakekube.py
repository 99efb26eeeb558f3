#!/usr/bin/python3
"""fakekube: a fake Kubernetes API server for Shoal's tests.

  python3 tests/fakekube/fakekube.py --port 0 --dir DIR [--plain-http]
      [--serve Namespace,ConfigMap,...] [--history N] [--controller] ...

Listens on 127.0.0.1 (HTTPS with a CA made at start, or plain HTTP), writes
DIR/kubeconfig (server, CA data, bearer token) and its variants
kubeconfig-cert, kubeconfig-files and kubeconfig-exec, DIR/port and DIR/token,
and prints one JSON line {"port", "url", "kubeconfig", "token"} on stdout once
it accepts connections. SIGTERM or SIGINT stop it. docs/testing.md says what it
implements and what it leaves out.
"""
import argparse
import base64
import json
import os
import secrets
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from discovery import Registry  # noqa: E402
from server import FakeKube, Options, Server, tls_context  # noqa: E402
from store import Store  # noqa: E402
from tlsgen import make_certs  # noqa: E402

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def kubeconfig_text(url, cluster, user):
    """A kubeconfig with one cluster, user and context; `cluster` and `user` are
    (key, value) pairs (a list value is written as a YAML sequence)."""
    lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: fakekube", "  cluster:",
             f"    server: {url}"]
    lines += [f"    {k}: {v}" for k, v in cluster]
    lines += ["users:", "- name: fakekube-user", "  user:"]
    for k, v in user:
        if isinstance(v, dict):
            lines.append(f"    {k}:")
            for k2, v2 in v.items():
                if isinstance(v2, list):
                    lines.append(f"      {k2}:")
                    lines += [f"      - {json.dumps(x)}" for x in v2]
                else:
                    lines.append(f"      {k2}: {v2}")
        else:
            lines.append(f"    {k}: {v}")
    lines += ["contexts:", "- name: fakekube", "  context:", "    cluster: fakekube",
              "    user: fakekube-user", "    namespace: default",
              "current-context: fakekube", "preferences: {}", ""]
    return "\n".join(lines)


def write_kubeconfigs(directory, url, certs, token):
    """kubeconfig (CA data + token) and the variants a client must also read:
    -cert (client certificate), -files (paths, tokenFile), -exec (exec plugin)."""
    def b64(path):
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode()

    token_file = os.path.join(directory, "token")
    write_file(token_file, token + "\n", 0o600)
    ca_data = [("certificate-authority-data", b64(certs["ca"]))] if certs else []
    ca_file = [("certificate-authority", certs["ca"])] if certs else []
    plugin = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exec_credential.py")
    variants = {
        "kubeconfig": (ca_data, [("token", token)]),
        "kubeconfig-files": (ca_file, [("tokenFile", token_file)]),
        "kubeconfig-exec": (ca_data, [("exec", {
            "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
            "args": [plugin, token_file], "interactiveMode": "Never"})]),
    }
    if certs:
        variants["kubeconfig-cert"] = (ca_data, [
            ("client-certificate-data", b64(certs["client_cert"])),
            ("client-key-data", b64(certs["client_key"]))])
    for name, (cluster, user) in variants.items():
        write_file(os.path.join(directory, name), kubeconfig_text(url, cluster, user), 0o600)
    return os.path.join(directory, "kubeconfig")


def write_file(path, text, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake Kubernetes API server for tests")
    ap.add_argument("--port", type=int, default=0, help="TCP port (0: pick a free one)")
    ap.add_argument("--dir", required=True, help="state directory (certs, kubeconfig)")
    ap.add_argument("--plain-http", action="store_true", help="serve HTTP instead of HTTPS")
    ap.add_argument("--serve", default="", help="comma-separated kinds to serve (default all)")
    ap.add_argument("--history", type=int, default=1000,
                    help="watch events retained; older resourceVersions get 410 Gone")
    ap.add_argument("--bookmark-interval", type=float, default=5.0,
                    help="seconds between BOOKMARK events when a watch allows them")
    ap.add_argument("--crd-delay", type=float, default=0.5,
                    help="seconds before a new CRD becomes Established")
    ap.add_argument("--controller", action="store_true",
                    help="simulate workload controllers: pods and ready status")
    ap.add_argument("--ready-delay", type=float, default=1.0,
                    help="seconds before a workload's pods are created and ready")
    ap.add_argument("--token", default="", help="bearer token (default: random)")
    ap.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = ap.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    token = args.token or secrets.token_hex(24)
    try:
        registry = Registry([s.strip() for s in args.serve.split(",") if s.strip()] or None)
    except ValueError as e:
        ap.error(str(e))
    options = Options(history=args.history, bookmark_interval=args.bookmark_interval,
                      crd_delay=args.crd_delay, controller=args.controller,
                      ready_delay=args.ready_delay, token=token, verbose=args.verbose)
    fk = FakeKube(options, registry, Store(args.history))
    ns_kind = registry.by_kind("", "Namespace")
    if ns_kind is not None:
        for ns in SYSTEM_NAMESPACES:
            fk.api.create_internal(ns_kind, {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": ns}}, "kube-apiserver")

    ctx, certs = None, None
    if not args.plain_http:
        certs = make_certs(args.dir)
        ctx = tls_context(certs["server_cert"], certs["server_key"], certs["ca"])
    httpd = Server(("127.0.0.1", args.port), fk, ctx)
    port = httpd.server_address[1]
    fk.server_address = f"127.0.0.1:{port}"
    url = f"{'http' if args.plain_http else 'https'}://127.0.0.1:{port}"
    kubeconfig = write_kubeconfigs(args.dir, url, certs, token)
    write_file(os.path.join(args.dir, "port"), f"{port}\n")

    def stop(signum, frame):
        fk.stopping = True
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    fk.controllers.start()
    print(json.dumps({"port": port, "url": url, "kubeconfig": kubeconfig, "token": token}),
          flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        fk.controllers.stop()
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
