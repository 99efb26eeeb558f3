"""Start tests/fakekube/fakekube.py and talk to it the way a client of a real
cluster does: from its kubeconfig, over HTTPS verified against the CA in it,
with its bearer token.

Only the standard library: the kubeconfig is the fake's own, so its few keys
are read line by line rather than with a YAML parser.
"""
import base64
import http.client
import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.parse

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FAKEKUBE = os.path.join(REPO, "tests", "fakekube", "fakekube.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


def read_kubeconfig(path):
    """The fake's kubeconfig as a flat dict: server, ca_pem (from
    certificate-authority-data) and whichever of token, tokenFile,
    certificate-authority, client-certificate-data, client-key-data, command
    and args (a list) it holds."""
    out = {"ca_pem": None}
    in_args = False
    with open(path) as f:
        for line in f:
            stripped = line.strip()
            if in_args and stripped.startswith("- "):
                out["args"].append(json.loads(stripped[2:]))
                continue
            in_args = False
            key, _, value = stripped.partition(":")
            value = value.strip()
            if key == "certificate-authority-data":
                out["ca_pem"] = base64.b64decode(value).decode()
            elif key == "args":
                out["args"], in_args = [], True
            elif key in ("server", "token", "tokenFile", "certificate-authority", "command",
                         "client-certificate-data", "client-key-data"):
                out[key] = value
    return out


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class FakeKube:
    """One fakekube process with its own state directory."""

    def __init__(self, *args, prefix="fakekube-"):
        self.dir = tempfile.mkdtemp(prefix=prefix, dir="/dev/shm" if os.access(
            "/dev/shm", os.W_OK) else None)
        self.proc = subprocess.Popen([PYTHON, FAKEKUBE, "--port", "0", "--dir", self.dir, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            err = self.stop()
            raise RuntimeError(f"fakekube did not start: {err}")
        self.info = json.loads(line)
        self.kubeconfig = read_kubeconfig(self.info["kubeconfig"])
        url = urllib.parse.urlsplit(self.kubeconfig["server"])
        self.scheme, self.host, self.port = url.scheme, url.hostname, url.port
        self.token = self.kubeconfig["token"]
        self.ssl = None
        if self.scheme == "https":
            self.ssl = ssl.create_default_context(cadata=self.kubeconfig["ca_pem"])

    def stop(self):
        """Stop the process; returns its stderr."""
        err = b""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read() or b""
        self.proc.stdout.close()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return err.decode(errors="replace")

    def connect(self, timeout=10, context=None):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=context or self.ssl)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, ctype="application/json", token=True,
                query=None, headers=None):
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        hdrs = dict(headers or {})
        if token is True:
            hdrs["Authorization"] = "Bearer " + self.token
        elif token:
            hdrs["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            hdrs["Content-Type"] = ctype
        conn = self.connect()
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, dict(r.getheaders()), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def apply(self, path, obj, manager="shoal", force=False, dry_run=False, raw=None):
        q = {"fieldManager": manager}
        if force:
            q["force"] = "true"
        if dry_run:
            q["dryRun"] = "All"
        return self.request("PATCH", path, raw if raw is not None else obj,
                            ctype="application/apply-patch+yaml", query=q)

    def merge_patch(self, path, patch, manager="kubectl-edit"):
        return self.request("PATCH", path, patch, ctype="application/merge-patch+json",
                            query={"fieldManager": manager})

    def control(self, method, path, body=None):
        return self.request(method, "/fakekube/" + path, body)

    def watch(self, path, query, timeout=10):
        """An open watch: iterate events() for the decoded events."""
        return Watch(self, path, query, timeout)


class Watch:
    def __init__(self, fk, path, query, timeout):
        q = dict(query, watch="true")
        self.conn = fk.connect(timeout=timeout)
        self.conn.request("GET", path + "?" + urllib.parse.urlencode(q),
                          headers={"Authorization": "Bearer " + fk.token})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = dict(self.resp.getheaders())

    def next_event(self):
        """The next event, or None when the stream ended."""
        line = self.resp.readline()
        if not line:
            return None
        return json.loads(line)

    def until(self, predicate, deadline_s=10):
        """Events read until one satisfies `predicate`; that one is last."""
        seen = []
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            ev = self.next_event()
            if ev is None:
                break
            seen.append(ev)
            if predicate(ev):
                return seen
        raise AssertionError(f"watch: awaited event not seen; got {seen!r}")

    def close(self):
        self.conn.close()
