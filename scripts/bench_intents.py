#!/usr/bin/env python3
"""One intent to every node, against a Serf user event to every agent.

Starts N shoald (LAN profile, one trusted root key) and, after them, N Serf
agents (-profile=lan) on 127.0.0.1, each system alone on the machine while it
is measured. For each trial:

  shoald  a signed App intent (a small Deployment, signed here with the root
          key) is POSTed to one node; the time until every node has logged
          "intent_committed" for its id (verified, merged and in LMDB).
  Serf    `serf event -coalesce=false` to one agent; the time until every
          agent has logged "Received event: user-event: NAME".

Both are timed from just before the submission (the HTTP POST; the serf CLI
call, which includes starting the CLI) to the last node's log line, read
from each process's stdout as it arrives. Also reported: the time from the
origin's own log line to the last node's, which leaves the submission path
out. Median over the trials. Process management is bench_membership.py's.
The machine's load average (1 min) is printed before each system's trials
and at the end: other jobs on a shared machine move these figures.

Usage: scripts/bench_intents.py [--nodes 50] [--trials 5] [--bin build/rel]
(`make bench-intents N=50 TRIALS=11`). Not a test: it prints a Markdown table.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import bench_membership as bm  # noqa: E402
from tests.integration import intents as I  # noqa: E402

MANIFEST = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kuard\nspec:\n"
            "  replicas: 2\n  selector: {matchLabels: {app: kuard}}\n  template:\n"
            "    metadata: {labels: {app: kuard}}\n    spec:\n      containers:\n"
            "      - name: kuard\n        image: gcr.io/kuar-demo/kuard-amd64:blue\n")


class ShoalIntents(bm.Shoal):
    def __init__(self, bindir, tmp, trust):
        super().__init__(bindir, tmp)
        self.trust = trust

    @staticmethod
    def parse(line):
        ev = bm.Shoal.parse(line)
        if ev or not line.startswith("{"):
            return ev
        try:
            e = json.loads(line)
        except ValueError:
            return None
        if e.get("event") == "intent_committed":
            return ("got", e.get("id"))
        return None

    def start(self, i, seed):
        name = f"s{i}"
        port, api = bm.free_port(), bm.free_port()
        ddir = os.path.join(self.tmp, name)
        os.makedirs(ddir, exist_ok=True)
        kr = os.path.join(self.tmp, name + ".keyring")
        with open(kr, "w") as f:
            f.write(self.key + "\n")
        argv = [self.bin, "--name", name, "--bind", f"127.0.0.1:{port}",
                "--api", f"127.0.0.1:{api}", "--data-dir", ddir, "--keyring", kr,
                "--trust", self.trust]
        if seed is not None:
            argv += ["--join", f"127.0.0.1:{seed.gossip_port}"]
        p = bm.Proc(name, argv, port, self.parse)
        p.api = api
        return p


class SerfEvents(bm.Serf):
    USER = re.compile(r"Received event: user-event: (\S+)")

    @classmethod
    def parse(cls, line):
        m = cls.USER.search(line)
        if m:
            return ("got", m.group(1))
        return bm.Serf.parse(line)


def start_mesh(system, n):
    procs = [system.start(0, None)]
    bm.wait_for(lambda: system.started(procs[0]), bm.START_TIMEOUT, "the first node")
    for i in range(1, n):
        procs.append(system.start(i, procs[0]))
    bm.wait_for(lambda: all(system.started(p) for p in procs), bm.START_TIMEOUT, "all started")
    bm.wait_for(lambda: all(system.confirm_alive(p, n) for p in procs[::max(1, n // 10)]),
                60, f"{system.label}: every sampled node to see {n} alive")
    time.sleep(2)  # let join traffic settle
    return procs


def spread(procs, tag, t0, timeout=30):
    """(seconds from t0 to the last node, from the origin's line to the last)."""
    bm.wait_for(lambda: all(p.find("got", tag) for p in procs), timeout,
                f"{tag} at all {len(procs)} nodes")
    times = [min(t for t, _ in p.find("got", tag)) for p in procs]
    origin = min(t for t, _ in procs[0].find("got", tag))
    return max(times) - t0, max(times) - origin


def shoal_trials(system, procs, root, trials):
    out = []
    for k in range(trials):
        env, iid = I.signed(root, "App", f"bench-{k}", {"manifests": MANIFEST},
                            I.hlc(int(time.time() * 1000)), target={"selector": "region=jp"})
        body = json.dumps(env)
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", procs[0].api, timeout=10)
        try:
            c.request("POST", "/v1/intents", body=body,
                      headers={"Content-Type": "application/json"})
            resp = c.getresponse()
            answer = resp.read()
        finally:
            c.close()
        if resp.status != 202:
            raise bm.Fatal(f"POST answered {resp.status}: {answer[:200]!r}")
        out.append(spread(procs, iid, t0))
        bm.log(f"  shoald trial {k + 1}: {out[-1][0] * 1000:.0f} ms")
        time.sleep(1)
    return out, len(env["body"]) * 3 // 4 + 64


def serf_trials(system, procs, trials):
    out = []
    for k in range(trials):
        name = f"bench-{k}"
        t0 = time.monotonic()
        r = subprocess.run([system.bin, "event", "-coalesce=false",
                            f"-rpc-addr=127.0.0.1:{procs[0].rpc}", name, "x" * 200],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise bm.Fatal(f"serf event failed: {r.stderr}")
        out.append(spread(procs, name, t0))
        bm.log(f"  serf trial {k + 1}: {out[-1][0] * 1000:.0f} ms")
        time.sleep(1)
    return out


def load():
    return f"{os.getloadavg()[0]:.1f}"


def med(vals):
    v = sorted(vals)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--bin", default=os.environ.get("SHOAL_BIN", "build/rel"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="shoal-bench-intents-",
                           dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    procs = []
    try:
        root = I.Key()
        trust = os.path.join(tmp, "root.pub")
        root.write_pub(trust)
        shoal = ShoalIntents(os.path.abspath(args.bin), tmp, trust)
        serf = SerfEvents(tmp)
        versions = {"shoald": shoal.version(), "serf": serf.version()}

        bm.log(f"starting {args.nodes} shoald")
        procs = start_mesh(shoal, args.nodes)
        loads = [load()]
        sh, size = shoal_trials(shoal, procs, root, args.trials)
        for p in procs:
            p.kill()
        bm.log(f"starting {args.nodes} serf agents")
        procs = start_mesh(serf, args.nodes)
        loads.append(load())
        sf = serf_trials(serf, procs, args.trials)
        loads.append(load())
        for p in procs:
            p.kill()
        procs = []

        def ms(v):
            return f"{v * 1000:.0f} ms"

        print(f"\n{args.nodes} processes each on 127.0.0.1, {args.trials} trials, median; "
              f"shoald `{versions['shoald']}` (LAN profile), Serf `{versions['serf']}` "
              f"(-profile=lan). Load average (1 min) before shoald's trials {loads[0]}, "
              f"before Serf's {loads[1]}, at the end {loads[2]}.\n")
        print("| | shoald: signed intent (" + f"{size} B envelope)" +
              " | Serf: user event (200 B payload) |")
        print("|---|---|---|")
        print(f"| submit -> last node (median) | {ms(med(t for t, _ in sh))} | "
              f"{ms(med(t for t, _ in sf))} |")
        print(f"| origin's log line -> last node (median) | {ms(med(o for _, o in sh))} | "
              f"{ms(med(o for _, o in sf))} |")
        print(f"| submit -> last node, each trial | "
              f"{', '.join(ms(t) for t, _ in sh)} | {', '.join(ms(t) for t, _ in sf)} |")
    except bm.Fatal as e:
        bm.log(f"bench-intents: {e}")
        return 1
    finally:
        for p in procs:
            p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
