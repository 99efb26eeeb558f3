#!/usr/bin/python3
"""Failure detection under loss: suspicion timeout against false positives
and time to agreement, one shoalsim run per point.

Each point is a protocol variant of sim/scenarios/loss-10pct.yaml (10 % iid
loss, a crash every 5 minutes, restarted 2 minutes later): the scenario is
copied with a `compare:` list appended, so shoalsim runs every point in turn
on the same seed, one process, one core. Per point the table gives the
suspicion timeout bounds at the run's size, time for all live nodes to agree
on a crash, false suspicions and false deaths per node-hour (healthy members
only, as report.json counts them), and datagram bytes sent per node per
second.

    scripts/tradeoff_curve.py --nodes 1000 --duration 1200s --seeds 1
    make bench-tradeoff N=1000 DURATION=1200s SEEDS=1,2
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

# (name, protocol overrides). The defaults row runs with no overrides.
# "fixed" rows turn Lifeguard's dynamic timeout off: every suspicion then
# lasts exactly min, the plain SWIM trade. "lg" rows keep Lifeguard and move
# min (suspicion_mult) or k around the defaults; memberlist-lan is the LAN
# profile Shoal started from (1 s period, 3 helpers, min 12 s at 1,000).
POINTS = [
    ("fixed-m1", {"lifeguard_suspicion": "false", "suspicion_mult": 1}),
    ("fixed-m2", {"lifeguard_suspicion": "false", "suspicion_mult": 2}),
    ("fixed-m4", {"lifeguard_suspicion": "false", "suspicion_mult": 4}),
    ("lg-m1", {"suspicion_mult": 1}),
    ("lg-m2-k1", {"suspicion_confirm": 1}),
    ("defaults", {}),
    ("lg-m4", {"suspicion_mult": 4}),
    ("lg-m8", {"suspicion_mult": 8}),
    ("memberlist-lan", {"probe_interval": "1s", "probe_timeout": "500ms",
                        "indirect_checks": 3, "suspicion_mult": 4,
                        "suspicion_max_mult": 6, "suspicion_confirm": 2}),
]


def yaml_protocol(over):
    return "{" + ", ".join("%s: %s" % (k, v) for k, v in over.items()) + "}"


def write_scenario(base, path, points, crash_every, duration_s):
    with open(base) as f:
        text = f.read()
    if crash_every:
        # More crashes per virtual minute than the hour-long scenario's one
        # per 5 minutes, so a short run still yields a distribution.
        start = 20
        churn = "  - {at: %ds, churn: {interval: %s, for: %ds, down: 120s}}" % (
            start, crash_every, max(1, duration_s - start - 30))
        text = re.sub(r"(?m)^  - \{at: [^\n]*churn: [^\n]*$", churn, text)
    if "\ncompare:" in text:
        raise SystemExit("%s already has a compare list" % base)
    lines = [text.rstrip("\n"), "compare:"]
    for name, over in points:
        if over:
            lines.append("  - {name: %s, protocol: %s}" % (name, yaml_protocol(over)))
        else:
            lines.append("  - {name: %s}" % name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def seconds(d):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", d)
    if not m:
        raise SystemExit("bad duration %r" % d)
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    return int(int(m.group(1)) * mult)


def bounds(proto, n):
    """Suspicion min/max (s) and k at n members, as gossip/swim_state.c."""
    scale = math.log10(n) if n > 10 else 1.0
    lo = proto["suspicion_mult"] * scale * proto["probe_interval_s"]
    if not proto["lifeguard_suspicion"]:
        return lo, lo, 0
    return lo, lo * proto["suspicion_max_mult"], proto.get("suspicion_confirm", 0)


def pct(vals, q):
    if not vals:
        return float("nan")
    vals = sorted(vals)
    i = min(len(vals) - 1, max(0, int(math.ceil(q * len(vals))) - 1))
    return vals[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/rel", help="build dir holding shoalsim")
    ap.add_argument("--scenario", default="sim/scenarios/loss-10pct.yaml")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--duration", default="1200s", help="virtual length of each run")
    ap.add_argument("--seeds", default="1", help="comma-separated seeds")
    ap.add_argument("--points", default="", help="comma-separated point names (default all)")
    ap.add_argument("--crash-every", default="",
                    help="crash interval replacing the scenario's (e.g. 15s)")
    ap.add_argument("--out", default="build/bench-tradeoff")
    args = ap.parse_args()

    want = [p for p in args.points.split(",") if p]
    points = [p for p in POINTS if not want or p[0] in want]
    if not points:
        print("no such points; known: %s" % ", ".join(p[0] for p in POINTS), file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    # shoalsim runs at most 8 variants per scenario: one file per batch.
    batches = []
    for b in range(0, len(points), 8):
        sc = os.path.join(args.out, "tradeoff-%d.yaml" % (b // 8))
        write_scenario(args.scenario, sc, points[b:b + 8], args.crash_every,
                       seconds(args.duration))
        batches.append(sc)

    acc = {name: {"agree": [], "fs": 0, "fd": 0, "dead_nodes": 0, "hours": 0.0,
                  "bytes": [], "never": 0, "proto": None} for name, _ in points}
    for seed, (bi, sc) in [(s, b) for s in args.seeds.split(",") if s
                           for b in enumerate(batches)]:
        out = os.path.join(args.out, "n%d-s%s-b%d" % (args.nodes, seed, bi))
        cmd = [os.path.join(args.bin, "shoalsim"), sc, "--nodes", str(args.nodes),
               "--duration", args.duration, "--seed", seed, "--out", out, "--no-plots"]
        print("$ " + " ".join(cmd), flush=True)
        if subprocess.call(cmd, stdout=subprocess.DEVNULL) != 0:
            print("shoalsim failed", file=sys.stderr)
            return 1
        with open(os.path.join(out, "report.json")) as f:
            rep = json.load(f)
        for v in rep["variants"]:
            a = acc[v["variant"]]
            a["proto"] = v["protocol"]
            for e in v["faults"]["list"]:
                if e["kind"] == "crash" and e["all_live_agree_s"] is not None:
                    a["agree"].append(e["all_live_agree_s"])
            a["never"] += v["faults"]["never_agreed"]
            fp = v["false_positives"]
            a["fs"] += fp["suspicions"]
            a["fd"] += fp["death_declarations"]
            a["dead_nodes"] += fp["healthy_nodes_ever_declared_dead"]
            a["hours"] += fp["node_hours"]
            a["bytes"].append(v["traffic"]["per_node_per_second"]["bytes_sent"]["mean"])

    print()
    print("%d nodes, 10 %% loss, %s per run, seeds %s (%s%s)" % (
        args.nodes, args.duration, args.seeds, args.scenario,
        ", a crash every " + args.crash_every if args.crash_every else ""))
    print()
    print("| point | susp. min / max (s) | k | crashes | agree p50 / p99 / max (s) "
          "| false susp. /node-h | false deaths /node-h | healthy nodes declared dead "
          "| bytes sent /node/s |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|")
    for name, _ in points:
        a = acc[name]
        lo, hi, k = bounds(a["proto"], args.nodes)
        ag = a["agree"]
        h = a["hours"] if a["hours"] > 0 else 1.0
        never = " (+%d never)" % a["never"] if a["never"] else ""
        print("| %s | %.1f / %.1f | %d | %d%s | %.1f / %.1f / %.1f | %.3f | %.4f | %d | %.0f |" % (
            name, lo, hi, k, len(ag), never, pct(ag, 0.5), pct(ag, 0.99), max(ag or [0]),
            a["fs"] / h, a["fd"] / h, a["dead_nodes"],
            sum(a["bytes"]) / max(1, len(a["bytes"]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
