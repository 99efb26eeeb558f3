"""A harness for multi-process tests: real shoald processes on loopback.

Node is one shoald process (and its restarts on the same data dir); Mesh is a
set of them sharing a temporary directory and, by default, one cluster key.
Everything here is bounded: every wait has a timeout that fails the test with
a description of what was awaited, and Mesh.close() kills every process it
started (SIGKILL), even when the test failed, and then reads each process's
stderr for sanitizer reports so a crash or leak is never silent.

Data directories live under /dev/shm when it is writable (tmpfs: LMDB's
fsyncs cost nothing there and nothing is left on disk). Ports are picked free
on 127.0.0.1 for both UDP and TCP. Logs are shoald's stdout, one JSON object
per line, kept per start in <tmp>/<name>.<start>.log.

Only the Python standard library is used here; tests/integration/wire.py adds
python3-nacl and python3-msgpack for crafting packets.
"""
import base64
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHOAL_BIN = os.path.abspath(os.environ.get("SHOAL_BIN") or os.path.join(REPO, "build", "san"))

# Sanitizer settings when a test is run by hand; tests/run.py sets the same.
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}

# What a sanitizer prints when it finds something; any of these in a node's
# stderr fails the test that ran it.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ERROR: UndefinedBehaviorSanitizer", "AddressSanitizer:DEADLYSIGNAL")


def tmp_root():
    """/dev/shm if usable (tmpfs), else the system temp dir."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


def new_key():
    """A fresh cluster key as keyring-file text (base64 of 32 bytes)."""
    return base64.b64encode(os.urandom(32)).decode()


def write_keyring(path, keys):
    with open(path, "w") as f:
        for k in keys:
            f.write(k + "\n")
    os.chmod(path, 0o600)


def read_keyring(path):
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.strip().startswith("#")]


class Timeout(AssertionError):
    """A bounded wait ran out; the message says what was awaited."""


def wait_until(pred, timeout, what="condition", interval=0.1):
    """Call pred() until it returns something truthy; return that value.

    Exceptions from pred count as "not yet" (a node may be restarting); the
    last one is reported if the wait times out.
    """
    deadline = time.monotonic() + timeout
    last_err = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, ValueError, KeyError, http.client.HTTPException) as e:
            last_err = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_err!r})" if last_err else ""
            raise Timeout(f"timed out after {timeout:.1f} s waiting for {what}{extra}")
        time.sleep(interval)


class Ports:
    """Free ports on 127.0.0.1, free for both TCP and UDP, never handed out twice.

    Drawn from 20000-32000, below Linux's ephemeral range, so an outgoing
    connection's local port cannot take one between the check and the bind.
    """
    _given = set()

    @classmethod
    def free(cls, host="127.0.0.1"):
        for _ in range(2000):
            p = random.randint(20000, 32000)
            if p in cls._given:
                continue
            ok = True
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET, kind)
                try:
                    s.bind((host, p))
                except OSError:
                    ok = False
                finally:
                    s.close()
                if not ok:
                    break
            if ok:
                cls._given.add(p)
                return p
        raise RuntimeError("no free port found on 127.0.0.1")


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels.items())): float}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            head, value = line.rsplit(" ", 1)
            if "{" in head:
                name, rest = head.split("{", 1)
                labels = {}
                for part in rest.rstrip("}").split(","):
                    if "=" in part:
                        k, v = part.split("=", 1)
                        labels[k.strip()] = v.strip().strip('"')
            else:
                name, labels = head, {}
            out[(name, frozenset(labels.items()))] = float(value)
        except ValueError:
            continue
    return out


class Node:
    """One shoald: its flags, its data dir, its process and its logs."""

    def __init__(self, mesh, name, keyring=None, join=(), labels=None, profile="fast",
                 extra_args=(), data_dir=None, api_host="127.0.0.1", api_bind=None):
        self.mesh = mesh
        self.name = name
        self.gossip_port = Ports.free()
        self.api_port = Ports.free()
        self.api_host = api_host  # where the harness connects to the API
        self.api_bind = api_bind or api_host  # what shoald's --api binds
        # A unique id for files: an impostor may share `name` with another node.
        self.uid = f"{name}-{len(mesh.nodes)}"
        self.data_dir = data_dir or os.path.join(mesh.tmp, self.uid + ".data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.keyring = keyring  # path of this node's keyring file, or None
        self.join = list(join)
        self.labels = dict(labels or {})
        self.profile = profile
        self.extra_args = list(extra_args)
        self.env = {}
        self.proc = None
        self.starts = 0
        self.log_path = None
        self.err_path = None
        self._log_files = []  # every (log, err) path of every start
        self._log_pos = 0
        self._log_buf = b""
        self._events = []  # parsed log lines of the current start
        self.exit_codes = []

    # ---- addresses -------------------------------------------------------
    @property
    def gossip(self):
        return f"127.0.0.1:{self.gossip_port}"

    @property
    def api_addr(self):
        return f"{self.api_host}:{self.api_port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- process ---------------------------------------------------------
    def argv(self):
        a = [os.path.join(SHOAL_BIN, "shoald"), "--name", self.name, "--bind", self.gossip,
             "--api", f"{self.api_bind}:{self.api_port}", "--data-dir", self.data_dir]
        if self.profile:
            a += ["--profile", self.profile]
        if self.keyring:
            a += ["--keyring", self.keyring]
        for j in self.join:
            a += ["--join", j.gossip if isinstance(j, Node) else j]
        for k, v in sorted(self.labels.items()):
            a += ["--label", f"{k}={v}"]
        return a + self.extra_args

    def start(self):
        assert not self.running, f"{self.name} already running"
        self.starts += 1
        base = os.path.join(self.mesh.tmp, f"{self.uid}.{self.starts}")
        self.log_path, self.err_path = base + ".log", base + ".err"
        self._log_files.append((self.log_path, self.err_path))
        self._log_pos, self._log_buf, self._events = 0, b"", []
        env = dict(os.environ)
        for k, v in SAN_ENV.items():
            env.setdefault(k, v)
        env.update(self.env)
        with open(self.log_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv(), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
        self.started_at = time.monotonic()
        return self

    def wait_ready(self, timeout=20):
        """Until the node logged "ready" and /healthz answers ok."""
        def ready():
            if not self.running:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode} before "
                                     f"ready; stderr:\n{self.stderr_tail()}")
            if not self.events("ready"):
                return False
            st, body = self.api("/healthz", timeout=1)
            return st == 200 and body.get("status") == "ok"
        wait_until(ready, timeout, f"{self.name} ready")
        return self

    def kill(self):
        """SIGKILL: a crash, as far as the mesh can tell."""
        if self.running:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.exit_codes.append(self.proc.wait(timeout=10))

    def terminate(self, timeout=15):
        """SIGTERM: graceful leave. Returns the exit code (SIGKILL after timeout)."""
        if not self.running:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(timeout=10)
            self.exit_codes.append(rc)
            raise AssertionError(f"{self.name} did not exit within {timeout} s of SIGTERM")
        self.exit_codes.append(rc)
        return rc

    def restart(self):
        """Start again on the same data dir, ports and flags."""
        if self.running:
            self.kill()
        return self.start()

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise ValueError("no VmRSS")

    # ---- logs ------------------------------------------------------------
    def _read_log(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return
        with open(self.log_path, "rb") as f:
            f.seek(self._log_pos)
            data = f.read()
        self._log_pos += len(data)
        self._log_buf += data
        *lines, self._log_buf = self._log_buf.split(b"\n")
        for ln in lines:
            ln = ln.strip()
            if not ln:
                continue
            try:
                obj = json.loads(ln)
            except ValueError:
                obj = {"event": "_unparsed", "text": ln.decode(errors="replace")}
            self._events.append(obj)

    def events(self, event=None, member=None):
        """Parsed log lines of the current start, filtered by event/member."""
        self._read_log()
        return [e for e in self._events
                if (event is None or e.get("event") == event)
                and (member is None or e.get("member") == member)]

    def all_events(self, event=None, member=None):
        """Like events() but over every start of this node."""
        out = []
        for path, _ in self._log_files:
            with open(path, "rb") as f:
                for ln in f:
                    try:
                        e = json.loads(ln)
                    except ValueError:
                        continue
                    if ((event is None or e.get("event") == event)
                            and (member is None or e.get("member") == member)):
                        out.append(e)
        return out

    def stderr_tail(self, n=4000):
        if not self.err_path or not os.path.exists(self.err_path):
            return ""
        with open(self.err_path, "rb") as f:
            data = f.read()
        return data[-n:].decode(errors="replace")

    def sanitizer_reports(self):
        reports = []
        for _, err in self._log_files:
            if not os.path.exists(err):
                continue
            with open(err, "rb") as f:
                text = f.read().decode(errors="replace")
            if any(m in text for m in SANITIZER_MARKS):
                reports.append(f"--- {err}\n{text[-6000:]}")
        return reports

    # ---- API ---------------------------------------------------------------
    def api(self, path, method="GET", body=None, timeout=3):
        """(status, parsed JSON or text) of one API call; no proxies involved."""
        conn = http.client.HTTPConnection(self.api_host, self.api_port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        ctype = resp.getheader("Content-Type", "")
        if "json" in ctype or raw[:1] in (b"{", b"["):
            return resp.status, json.loads(raw)
        return resp.status, raw.decode(errors="replace")

    def get(self, path):
        st, body = self.api(path)
        if st != 200:
            raise ValueError(f"{self.name} GET {path}: HTTP {st}: {body}")
        return body

    def members(self):
        """{name: member object} as this node sees the mesh."""
        return {m["name"]: m for m in self.get("/v1/members")["members"]}

    def self_info(self):
        return self.get("/v1/self")

    def keys(self):
        """[(key, primary)] of this node's keyring."""
        return [(k["key"], bool(k["primary"])) for k in self.get("/v1/keyring")["keys"]]

    def metrics(self):
        st, text = self.api("/metrics")
        if st != 200:
            raise ValueError(f"{self.name} /metrics: HTTP {st}")
        return parse_metrics(text if isinstance(text, str) else json.dumps(text))

    def metric(self, name, **labels):
        """Sum of every sample of `name` whose labels include `labels` (0 if none)."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.metrics().items()
                   if n == name and want <= set(ls))

    def __repr__(self):
        return f"Node({self.name}, gossip={self.gossip}, api={self.api_addr}, pid={self.pid})"


class Mesh:
    """A set of nodes in one temp dir. Use as a context manager or call close()."""

    def __init__(self, prefix="shoal-it-", key=None, profile="fast"):
        self.tmp = tempfile.mkdtemp(prefix=prefix, dir=tmp_root())
        self.key = key or new_key()
        self.profile = profile
        self.nodes = []
        self._names = set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def keyring_file(self, name, keys=None):
        """A keyring file for one node (each node rewrites its own)."""
        path = os.path.join(self.tmp, name + ".keyring")
        write_keyring(path, keys or [self.key])
        return path

    def add(self, name=None, join=None, keys=None, start=True, **kw):
        """Create (and by default start) a node. join defaults to the first node."""
        name = name or f"n{len(self.nodes) + 1:02d}"
        if "keyring" not in kw:
            kw["keyring"] = self.keyring_file(f"{name}-{len(self.nodes)}", keys)
        if join is None:
            join = [self.nodes[0]] if self.nodes else []
        kw.setdefault("profile", self.profile)
        node = Node(self, name, join=join, **kw)
        self.nodes.append(node)
        self._names.add(name)
        if start:
            node.start()
        return node

    def start(self, n, labels=None, seeds=3):
        """Start n nodes: the first alone, each later one joining up to `seeds`
        of the nodes before it. Waits until each is ready."""
        first = len(self.nodes)
        for i in range(n):
            before = self.nodes[:first + i]
            join = random.sample(before, min(seeds, len(before))) if before else []
            lab = {"role": "test", "idx": str(first + i)}
            lab.update(labels or {})
            self.add(join=join, labels=lab)
        for node in self.nodes[first:]:
            node.wait_ready()
        return self.nodes[first:]

    def running(self):
        return [n for n in self.nodes if n.running]

    def converged(self, nodes=None):
        """True when every running node (or `nodes`) sees all of them alive."""
        nodes = nodes if nodes is not None else self.running()
        names = {n.name for n in nodes}
        for n in nodes:
            ms = n.members()
            alive = {k for k, m in ms.items() if m["state"] == "alive"}
            if not names <= alive:
                return False
        return True

    def wait_converged(self, timeout=60, nodes=None):
        t0 = time.monotonic()
        wait_until(lambda: self.converged(nodes), timeout,
                   f"{len(nodes if nodes is not None else self.running())} nodes to see each "
                   "other alive", interval=0.25)
        return time.monotonic() - t0

    def views(self, member, nodes=None):
        """{observer name: member object or None} for one member."""
        nodes = nodes if nodes is not None else self.running()
        return {n.name: n.members().get(member) for n in nodes}

    def shoalctl(self, *args, env=None, timeout=30):
        """Run shoalctl; returns CompletedProcess with text stdout/stderr."""
        e = dict(os.environ)
        for k, v in SAN_ENV.items():
            e.setdefault(k, v)
        e.pop("SHOAL_NODE", None)
        e.update(env or {})
        return subprocess.run([os.path.join(SHOAL_BIN, "shoalctl"), *args], env=e,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def close(self):
        """SIGKILL everything, then return the sanitizer reports found."""
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                try:
                    n.proc.send_signal(signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for n in self.nodes:
            if n.proc is not None:
                try:
                    n.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        reports = []
        for n in self.nodes:
            reports += n.sanitizer_reports()
        if os.environ.get("SHOAL_IT_KEEP"):
            print(f"keeping {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.nodes = []
        return reports


def sanitizer_check(testcase, reports):
    """Fail `testcase` if any node's stderr had a sanitizer report."""
    if reports:
        testcase.fail("sanitizer reports from shoald:\n" + "\n".join(reports)[-12000:])


def http_request(node, method, path, body=None, timeout=15):
    """(status, headers with lower-case names, parsed JSON body) of one request
    to a node's API, `body` sent as JSON; unlike Node.api, the headers too
    (X-Shoal-Answered-By)."""
    conn = http.client.HTTPConnection(node.api_host, node.api_port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data,
                     headers={"Content-Type": "application/json"} if data else {})
        resp = conn.getresponse()
        raw = resp.read()
        headers = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    return resp.status, headers, json.loads(raw)


def http_get(node, path, timeout=15):
    return http_request(node, "GET", path, timeout=timeout)


def finish_suite(reports, timer=None):
    """End a suite or class: stop its timer, then fail if any node's stderr had a
    sanitizer report (`reports`, as Mesh.close returns them)."""
    if timer is not None:
        timer.stop()
    if reports:
        raise AssertionError("sanitizer reports:\n" + "\n".join(reports)[-12000:])


class SuiteTimer:
    """Prints a suite's wall time when the module ends (setUpModule/tearDownModule)."""

    def __init__(self, name):
        self.name = name
        self.t0 = None

    def start(self):
        self.t0 = time.monotonic()

    def stop(self):
        if self.t0 is not None:
            print(f"\nsuite {self.name}: wall time {time.monotonic() - self.t0:.1f} s",
                  flush=True)
