#!/usr/bin/python3
"""shoald against HashiCorp Serf: membership on loopback, side by side.

Run by `make bench-membership N=50` (SHOAL_BIN=build/rel). In one invocation
it starts N shoald, measures, stops them, then N Serf agents, measures, stops
them, and repeats for --trials (3) trials; each figure is the median over
trials. Both sides run encrypted (shoald: keyring; Serf: -encrypt) on the
LAN profile (shoald's default profile is memberlist's LAN timers; Serf's
-profile=lan), one at a time so they never compete for the 2 cores.

Per trial and side:
  join        node 1 starts alone; nodes 2..N are launched at once, each
              joining node 1. Time from that launch until every node has
              logged every other member as joined (shoald: member_alive
              events; Serf: "EventMemberJoin" lines), confirmed afterwards
              by asking every node (GET /v1/self; `serf members`).
  idle        after a 5 s settle, a --idle (30) s window: CPU per node
              (utime+stime from /proc/PID/stat), and bytes on the wire:
              every UDP and TCP payload to or from an agent's gossip port,
              captured on lo with an AF_PACKET socket (root), divided by N
              and the window. The same capture measures both sides, so the
              figures compare like with like; shoald's own /metrics byte
              counters are shown next to it as a cross-check. At the end of
              the window: VmRSS and Private_Dirty (/proc/PID/smaps_rollup).
  failure     SIGKILL one node (not the seed). First suspicion anywhere
              (shoald: first member_suspect event; Serf: first memberlist
              "Suspect ... has failed" line) and all live nodes agreeing on
              dead (shoald: member_dead at every live node; Serf:
              "EventMemberFailed" at every live node).
Log lines are timestamped when they arrive through each process's stdout
pipe (one reader thread per process), the same way for both.

The Markdown table goes to stdout (for docs/benchmarks.md); progress,
versions and PIDs go to stderr. Every wait is bounded; the whole run stops
with an error rather than hang.
"""
import argparse
import base64
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
JOIN_TIMEOUT = 120
FAIL_TIMEOUT = 120
START_TIMEOUT = 30


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Fatal(Exception):
    pass


# ---- ports and processes -----------------------------------------------------
_given = set()


def free_port():
    for _ in range(5000):
        p = random.randint(20000, 32000)
        if p in _given:
            continue
        ok = True
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            _given.add(p)
            return p
    raise Fatal("no free port on 127.0.0.1")


class Proc:
    """A child process whose stdout lines are read and timestamped on arrival."""

    def __init__(self, name, argv, gossip_port, parse):
        self.name = name
        self.gossip_port = gossip_port
        self.parse = parse  # line -> (kind, member) or None
        self.lines = []     # (t_monotonic, raw line), capped
        self.events = []    # (t_monotonic, kind, member)
        self.lock = threading.Lock()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stdout:
            now = time.monotonic()
            line = raw.decode(errors="replace").rstrip("\n")
            ev = self.parse(line)
            with self.lock:
                if len(self.lines) < 5000:
                    self.lines.append((now, line))
                if ev:
                    self.events.append((now, ev[0], ev[1]))

    def find(self, kind, member=None):
        with self.lock:
            return [(t, m) for t, k, m in self.events
                    if k == kind and (member is None or m == member)]

    def alive(self):
        return self.p.poll() is None

    def tail(self, n=15):
        with self.lock:
            return "\n".join(l for _, l in self.lines[-n:])

    def kill(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def cpu_seconds(self):
        """CPU time used so far: utime+stime, in seconds.

        /proc/PID/stat counts in clock ticks (10 ms), too coarse for an idle
        agent over 30 s; schedstat's first field is the same time in ns,
        summed over the process's threads."""
        total_ns, ok = 0, False
        try:
            for tid in os.listdir(f"/proc/{self.p.pid}/task"):
                with open(f"/proc/{self.p.pid}/task/{tid}/schedstat") as f:
                    total_ns += int(f.read().split()[0])
                    ok = True
        except (OSError, ValueError):
            ok = False
        if ok:
            return total_ns / 1e9
        with open(f"/proc/{self.p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def memory_kb(self):
        """(VmRSS, Private_Dirty) in kB."""
        rss = pd = None
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open(f"/proc/{self.p.pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Private_Dirty:"):
                    pd = int(line.split()[1])
        return rss, pd


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise Fatal(f"timed out after {timeout} s waiting for {what}")


# ---- the two systems ----------------------------------------------------------
class Shoal:
    label = "shoald"

    def __init__(self, bindir, tmp):
        self.bin = os.path.join(bindir, "shoald")
        self.tmp = tmp
        if not os.access(self.bin, os.X_OK):
            raise Fatal(f"{self.bin} not built (run make)")
        self.key = base64.b64encode(os.urandom(32)).decode()

    def version(self):
        r = subprocess.run([self.bin, "--version"], capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr) else "?"

    @staticmethod
    def parse(line):
        if not line.startswith("{"):
            return None
        try:
            e = json.loads(line)
        except ValueError:
            return None
        ev = e.get("event")
        if ev == "ready":
            return ("ready", None)
        if ev in ("member_alive", "member_suspect", "member_dead"):
            return ({"member_alive": "join", "member_suspect": "suspect",
                     "member_dead": "dead"}[ev], e.get("member"))
        return None

    def start(self, i, seed):
        name = f"s{i}"
        port, api = free_port(), free_port()
        ddir = os.path.join(self.tmp, name)
        os.makedirs(ddir, exist_ok=True)
        kr = os.path.join(self.tmp, name + ".keyring")
        with open(kr, "w") as f:
            f.write(self.key + "\n")
        argv = [self.bin, "--name", name, "--bind", f"127.0.0.1:{port}",
                "--api", f"127.0.0.1:{api}", "--data-dir", ddir, "--keyring", kr]
        if seed is not None:
            argv += ["--join", f"127.0.0.1:{seed.gossip_port}"]
        p = Proc(name, argv, port, self.parse)
        p.api = api
        return p

    def started(self, p):
        return bool(p.find("ready"))

    def confirm_alive(self, p, n):
        c = http.client.HTTPConnection("127.0.0.1", p.api, timeout=5)
        try:
            c.request("GET", "/v1/self")
            body = json.loads(c.getresponse().read())
        finally:
            c.close()
        return body["members"]["alive"] == n

    def self_bytes(self, p):
        """Sum of shoald's own byte counters (sent+received) from /metrics."""
        c = http.client.HTTPConnection("127.0.0.1", p.api, timeout=5)
        try:
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
        finally:
            c.close()
        total = 0.0
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name.startswith("shoal_") and "bytes" in name and name.endswith("_total"):
                try:
                    total += float(line.rsplit(" ", 1)[1])
                except ValueError:
                    pass
        return total


class Serf:
    label = "serf"
    JOIN = re.compile(r"EventMemberJoin: (\S+) ")
    FAILED = re.compile(r"EventMemberFailed: (\S+) ")
    SUSPECT = re.compile(r"memberlist: Suspect (\S+) has failed")

    def __init__(self, tmp):
        self.bin = shutil.which("serf")
        if not self.bin:
            raise Fatal("serf not installed (Debian package serf; run make deps)")
        self.tmp = tmp
        self.key = base64.b64encode(os.urandom(32)).decode()

    def version(self):
        r = subprocess.run([self.bin, "version"], capture_output=True, text=True, timeout=10)
        v = " / ".join(l.strip() for l in r.stdout.strip().splitlines())
        # Debian's build reports an old version string; name the package too.
        d = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "serf"], capture_output=True,
                           text=True, timeout=10)
        return f"{v} (Debian package {d.stdout.strip()})" if d.returncode == 0 else v

    @classmethod
    def parse(cls, line):
        if "Serf agent running" in line:
            return ("ready", None)
        for rx, kind in ((cls.JOIN, "join"), (cls.FAILED, "dead"), (cls.SUSPECT, "suspect")):
            m = rx.search(line)
            if m:
                return (kind, m.group(1))
        return None

    def start(self, i, seed):
        name = f"s{i}"
        port, rpc = free_port(), free_port()
        argv = [self.bin, "agent", f"-node={name}", f"-bind=127.0.0.1:{port}",
                f"-rpc-addr=127.0.0.1:{rpc}", f"-encrypt={self.key}", "-profile=lan",
                "-log-level=info"]
        if seed is not None:
            argv.append(f"-join=127.0.0.1:{seed.gossip_port}")
        p = Proc(name, argv, port, self.parse)
        p.rpc = rpc
        return p

    def started(self, p):
        return bool(p.find("ready"))

    def confirm_alive(self, p, n):
        r = subprocess.run([self.bin, "members", f"-rpc-addr=127.0.0.1:{p.rpc}",
                            "-status=alive", "-format=json"],
                           capture_output=True, text=True, timeout=10)
        return r.returncode == 0 and len(json.loads(r.stdout)["members"]) == n

    def self_bytes(self, p):
        return None


# ---- wire bytes ------------------------------------------------------------------
class WireMeter:
    """Bytes of UDP and TCP payload to or from a set of ports on lo (AF_PACKET)."""

    def __init__(self, ports):
        self.ports = set(ports)
        self.udp = self.tcp = self.packets = 0
        self.stop_ev = threading.Event()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop_ev.is_set():
            try:
                frame, addr = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == 4 or len(frame) < 34 or frame[12:14] != b"\x08\x00":
                continue  # the outgoing copy of a loopback packet, or not IPv4
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            proto = ip[9]
            l4 = ip[ihl:total]
            if proto == 17 and len(l4) >= 8:
                sport, dport = struct.unpack("!HH", l4[:4])
                if sport in self.ports or dport in self.ports:
                    self.udp += len(l4) - 8
                    self.packets += 1
            elif proto == 6 and len(l4) >= 20:
                sport, dport = struct.unpack("!HH", l4[:4])
                off = (l4[12] >> 4) * 4
                if (sport in self.ports or dport in self.ports) and len(l4) > off:
                    self.tcp += len(l4) - off
                    self.packets += 1

    def stop(self):
        self.stop_ev.set()
        self.t.join(timeout=5)
        self.sock.close()


def can_capture():
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)).close()
        return True
    except (OSError, AttributeError):
        return False


# ---- one trial -------------------------------------------------------------------
def trial(system, n, idle_s, capture):
    procs = []
    res = {}
    try:
        seed = system.start(1, None)
        procs.append(seed)
        wait_for(lambda: system.started(seed) or not seed.alive(), START_TIMEOUT,
                 f"{system.label} seed to start")
        if not seed.alive():
            raise Fatal(f"{system.label} seed exited:\n{seed.tail()}")
        t0 = time.monotonic()
        for i in range(2, n + 1):
            procs.append(system.start(i, seed))
        wait_for(lambda: all(system.started(p) or not p.alive() for p in procs),
                 START_TIMEOUT, f"{n} {system.label} processes to start")
        dead = [p for p in procs if not p.alive()]
        if dead:
            raise Fatal(f"{len(dead)} {system.label} processes did not start; "
                        f"{dead[0].name}:\n{dead[0].tail()}")
        log(f"  {system.label}: {n} started, PIDs {' '.join(str(p.p.pid) for p in procs)}")
        names = {p.name for p in procs}

        def joined(p):
            seen = {m for _, m in p.find("join")} | {p.name}
            return names <= seen

        wait_for(lambda: all(joined(p) for p in procs), JOIN_TIMEOUT,
                 f"{system.label} join convergence")
        def first_seen(p, m):
            return min(t for t, mm in p.find("join", m))
        t_join = max(first_seen(p, m) for p in procs for m in names if m != p.name)
        res["join_s"] = t_join - t0
        wait_for(lambda: all(system.confirm_alive(p, n) for p in procs), 30,
                 f"every {system.label} node to report {n} alive")

        time.sleep(5)  # settle: join-time push-pulls and broadcasts drain
        meter = WireMeter([p.gossip_port for p in procs]) if capture else None
        self_b0 = [system.self_bytes(p) for p in procs]
        cpu0 = [p.cpu_seconds() for p in procs]
        w0 = time.monotonic()
        time.sleep(idle_s)
        w = time.monotonic() - w0
        # False positives: every node is healthy through the idle window, so
        # any suspicion or death raised in it is a false one.
        res["fp_suspect"] = sum(1 for p in procs for t, _ in p.find("suspect") if t >= w0)
        res["fp_dead"] = sum(1 for p in procs for t, _ in p.find("dead") if t >= w0)
        cpu1 = [p.cpu_seconds() for p in procs]
        self_b1 = [system.self_bytes(p) for p in procs]
        if meter:
            meter.stop()
            res["wire_Bps"] = (meter.udp + meter.tcp) / n / w
            res["pps"] = meter.packets / n / w
        if self_b0[0] is not None:
            # Each byte is counted by its sender and its receiver; halve to
            # compare with the on-the-wire figure.
            res["self_Bps"] = sum(b - a for a, b in zip(self_b0, self_b1)) / 2 / n / w
        res["cpu_pct"] = statistics.mean((b - a) / w * 100 for a, b in zip(cpu0, cpu1))
        mem = [p.memory_kb() for p in procs]
        res["rss_mb"] = statistics.median(m[0] for m in mem) / 1024
        res["pd_mb"] = statistics.median(m[1] for m in mem) / 1024

        victim = random.choice(procs[1:])
        live = [p for p in procs if p is not victim]
        tk = time.monotonic()
        victim.kill()

        def all_dead():
            return all(p.find("dead", victim.name) for p in live)

        wait_for(all_dead, FAIL_TIMEOUT, f"{system.label} to declare {victim.name} dead")
        sus = [t for p in live for t, _ in p.find("suspect", victim.name)]
        res["suspect_s"] = (min(sus) - tk) if sus else float("nan")
        res["dead_all_s"] = max(min(t for t, _ in p.find("dead", victim.name))
                                for p in live) - tk
        return res
    finally:
        for p in procs:
            p.kill()


# ---- report ------------------------------------------------------------------------
ROWS = [
    ("join_s", "join: all {n} see all {n} (s)", "{:.2f}"),
    ("suspect_s", "SIGKILL -> first suspicion anywhere (s)", "{:.2f}"),
    ("dead_all_s", "SIGKILL -> dead at every live node (s)", "{:.2f}"),
    ("rss_mb", "idle RSS per node (MiB, median)", "{:.1f}"),
    ("pd_mb", "idle Private_Dirty per node (MiB, median)", "{:.1f}"),
    ("cpu_pct", "idle CPU per node (% of a core, mean over {idle} s)", "{:.3f}"),
    ("wire_Bps", "bytes per node per second (UDP+TCP payload on lo)", "{:.0f}"),
    ("pps", "packets per node per second (on lo)", "{:.1f}"),
    ("self_Bps", "bytes per node per second (shoald /metrics, cross-check)", "{:.0f}"),
    ("fp_suspect", "healthy nodes suspected during the idle window (events)", "{:.0f}"),
    ("fp_dead", "healthy nodes declared dead during the idle window (events)", "{:.0f}"),
]


def median(vals):
    vals = [v for v in vals if v is not None and v == v]
    return statistics.median(vals) if vals else None


def report(results, n, trials, idle_s, versions, capture):
    out = []
    out.append(f"Command: `make bench-membership N={n}` ({trials} trials, median; "
               f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, loopback, "
               f"both encrypted, LAN profile; {time.strftime('%Y-%m-%d')}).")
    out.append("")
    out.append(f"shoald: `{versions['shoald']}`; Serf: `{versions['serf']}`.")
    if not capture:
        out.append("")
        out.append("(No AF_PACKET capture available: wire bytes not measured.)")
    out.append("")
    out.append("| metric | shoald | Serf | shoald / Serf |")
    out.append("|---|---:|---:|---:|")
    for key, title, fmt in ROWS:
        a = median(r.get(key) for r in results["shoald"])
        b = median(r.get(key) for r in results["serf"])
        if a is None and b is None:
            continue
        fa = fmt.format(a) if a is not None else "n/a"
        fb = fmt.format(b) if b is not None else "n/a"
        ratio = f"{a / b:.2f}" if a is not None and b else "n/a"
        out.append(f"| {title.format(n=n, idle=idle_s)} | {fa} | {fb} | {ratio} |")
    out.append("")
    out.append("CPU is utime+stime (schedstat) over the idle window; RSS and Private_Dirty "
               "are read at its end; wire bytes count every UDP and TCP payload to or from an "
               "agent's gossip port on lo, divided by N and the window.")
    out.append("")
    out.append("Per trial (shoald / Serf):")
    out.append("")
    for i in range(trials):
        s, f = results["shoald"][i], results["serf"][i]
        out.append(f"- trial {i + 1}: join {s['join_s']:.2f} / {f['join_s']:.2f} s, "
                   f"dead everywhere {s['dead_all_s']:.2f} / {f['dead_all_s']:.2f} s, "
                   f"CPU {s['cpu_pct']:.3f} / {f['cpu_pct']:.3f} %")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--idle", type=int, default=30,
                    help="idle window in seconds (600 for the 10-minute false-positive soak)")
    ap.add_argument("--bin", default=os.environ.get("SHOAL_BIN", "build/rel"))
    args = ap.parse_args()
    if args.nodes < 3 or args.nodes > 500:
        ap.error("--nodes must be in 3..500")
    bindir = os.path.abspath(args.bin)
    root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="shoal-bench-", dir=root)
    capture = can_capture()
    try:
        shoal, serf = Shoal(bindir, tmp), Serf(tmp)
        versions = {"shoald": shoal.version(), "serf": serf.version()}
        log(f"serf version: {versions['serf']}")
        log(f"shoald version: {versions['shoald']}")
        if not capture:
            log("warning: cannot open an AF_PACKET socket (not root?): no wire byte counts")
        results = {"shoald": [], "serf": []}
        for t in range(args.trials):
            for system in (shoal, serf):
                log(f"trial {t + 1}/{args.trials}: {system.label} x {args.nodes}")
                r = trial(system, args.nodes, args.idle, capture)
                log("  " + ", ".join(f"{k}={v:.3g}" for k, v in r.items()))
                results[system.label].append(r)
                # A fresh data dir per trial for shoald.
                for d in os.listdir(tmp):
                    shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)
        print(report(results, args.nodes, args.trials, args.idle, versions, capture))
        return 0
    except Fatal as e:
        log(f"bench-membership: {e}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
