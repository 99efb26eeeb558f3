#!/usr/bin/python3
"""Benchmark shoalsim: N real swim nodes in one process on a virtual clock.

Runs sim/scenarios/steady-10k-lan.yaml (converged start, one crash) at each
requested size and prints, per size: the real-time factor (virtual seconds
per wall second over the measured run), engine events per wall second, peak
RSS (VmHWM) and bytes per member entry (shared record pool + every node's
member tables, divided by N^2), read from the run's perf.json, plus the
protocol figures of report.json that say the run was healthy.

Target: 10,000 nodes x 300 virtual s at >= 1x real time on one core in
<= 8 GiB RSS.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/rel", help="build dir holding shoalsim")
    ap.add_argument("--nodes", default="1000,10000", help="comma-separated sizes")
    ap.add_argument("--duration", default="300s", help="virtual run length")
    ap.add_argument("--scenario", default="sim/scenarios/steady-10k-lan.yaml")
    ap.add_argument("--out", default="build/bench-sim")
    ap.add_argument("--seed", default="1")
    args = ap.parse_args()

    rows = []
    for n in [int(x) for x in args.nodes.split(",") if x]:
        out = os.path.join(args.out, "n%d" % n)
        cmd = [os.path.join(args.bin, "shoalsim"), args.scenario, "--nodes", str(n),
               "--duration", args.duration, "--seed", args.seed, "--out", out, "--no-plots"]
        print("$ " + " ".join(cmd), flush=True)
        t0 = time.monotonic()
        rc = subprocess.call(cmd)
        wall = time.monotonic() - t0
        if rc != 0:
            print("shoalsim failed with status %d" % rc, file=sys.stderr)
            return 1
        with open(os.path.join(out, "perf.json")) as f:
            perf = json.load(f)
        with open(os.path.join(out, "report.json")) as f:
            rep = json.load(f)
        p, r = perf["variants"][0], rep["variants"][0]
        rows.append((n, p, r, wall))

    print()
    print("%7s %9s %10s %12s %10s %9s %10s %11s %9s" % (
        "nodes", "virtual", "RT factor", "events/s", "peak RSS", "B/member",
        "start wall", "converge", "total"))
    for n, p, r, wall in rows:
        print("%7d %8.0fs %9.2fx %12.0f %8.0fMB %9.1f %9.1fs %10.1fs %8.0fs" % (
            n, perf_virtual(p, r), p["realtime_factor"], p["events_per_s"],
            p["peak_rss_bytes"] / 2**20, p["bytes_per_member_entry"], p["wall_start_s"],
            r["start"]["join_convergence_s"], wall))
    for n, p, r, wall in rows:
        t = r["traffic"]["per_node_per_second"]
        f = r["faults"]
        print("n=%d: per node %.1f pkt/s, %.0f B/s sent (p99 %.0f); crash: first suspicion "
              "%.2f s, all live agree %.2f s; false positives %d; converged at end: %s" % (
                  n, t["packets_sent"]["mean"], t["bytes_sent"]["mean"], t["bytes_sent"]["p99"],
                  f["first_suspicion_s"]["max"], f["all_live_agree_s"]["max"],
                  r["false_positives"]["suspect_events"], r["converged_at_end"]))
    return 0


def perf_virtual(p, r):
    return p["wall_run_s"] * p["realtime_factor"]


if __name__ == "__main__":
    sys.exit(main())
