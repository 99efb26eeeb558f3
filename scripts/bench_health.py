#!/usr/bin/python3
"""Benchmark fleet health in shoalsim: what every site's health record costs.

Runs sim/scenarios/health-10k.yaml (every site publishing its signed health
record through the real pacer: a meaningful change every ~3 h per site, the
refresh every max(60 s, N x 1 s); a real health table on every node's
replica) at the requested size and prints, from report.json and perf.json:
publishes per second, record size, health bytes per node per second (sent
and received, by kind: announcements, pulls, anti-entropy), counted by the
simulated network, and the time from each publish until every live node
held it, in seconds and gossip intervals. docs/health.md's budget predicts
~2.3 KB per publish per node and <= 4 KB/s per node at 10,000 sites.
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
    ap.add_argument("--nodes", default="10000")
    ap.add_argument("--duration", default="300s", help="virtual run length")
    ap.add_argument("--scenario", default="sim/scenarios/health-10k.yaml")
    ap.add_argument("--out", default="build/bench-health")
    ap.add_argument("--seed", default="1")
    args = ap.parse_args()

    out = os.path.join(args.out, "n%s" % args.nodes)
    cmd = [os.path.join(args.bin, "shoalsim"), args.scenario, "--nodes", args.nodes,
           "--duration", args.duration, "--seed", args.seed, "--out", out, "--no-plots"]
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    rc = subprocess.call(cmd)
    wall = time.monotonic() - t0
    if rc != 0:
        print("shoalsim failed with status %d" % rc, file=sys.stderr)
        return 1
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)["variants"][0]
    with open(os.path.join(out, "perf.json")) as f:
        perf = json.load(f)["variants"][0]
    h = rep["health"]
    b = h["bytes_per_node_per_s"]
    t = rep["traffic"]["per_node_per_second"]["bytes_sent"]
    pps = h["publishes_per_s"]
    print()
    print("nodes %s, %s virtual, seed %s: %.0f wall s, peak RSS %.0f MB" % (
        args.nodes, args.duration, args.seed, wall, perf["peak_rss_bytes"] / 2**20))
    print("publishes: %d (%d on change, %d refresh), %.2f/s, %.0f bytes each" % (
        h["published"], h["on_change"], h["on_refresh"], pps, h["record_bytes_mean"]))
    print("health bytes per node per s: sent mean %.0f p99 %.0f max %.0f; received mean %.0f "
          "p99 %.0f" % (b["sent"]["mean"], b["sent"]["p99"], b["sent"]["max"],
                        b["received"]["mean"], b["received"]["p99"]))
    print("  by kind (sent, mean): announce %.0f, pull %.0f, ae list %.0f, ae other %.0f" % (
        b["sent_mean_announce"], b["sent_mean_pull"], b["sent_mean_ae_list"],
        b["sent_mean_ae_other"]))
    if pps > 0:
        print("  per publish per node: %.0f bytes (announce %.0f, pull %.0f)" % (
            b["sent"]["mean"] / pps, b["sent_mean_announce"] / pps, b["sent_mean_pull"] / pps))
    p = h["all_live_s"]
    g = h.get("all_live_gossip_intervals", {})
    print("every live node held a publish: p50 %.2f s p99 %.2f s max %.2f s (%d of %d); "
          "p50 %.1f p99 %.1f max %.1f gossip intervals" % (
              p["p50"], p["p99"], p["max"], h["reached_all_live"], h["published"],
              g.get("p50", 0), g.get("p99", 0), g.get("max", 0)))
    print("all traffic per node: %.0f B/s sent (p99 %.0f); refused records: %d" % (
        t["mean"], t["p99"], h["rejected"]))
    if "copies_via_antientropy_only" in h:
        print("copies accepted %d, of them via anti-entropy only %d; anti-entropy rounds %d, "
              "roots differed %d; pull failures %d, abandoned %d" % (
                  h["copies_accepted"], h["copies_via_antientropy_only"],
                  h["antientropy_rounds"], h["antientropy_roots_differed"],
                  h["pull_failures"], h["abandoned"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
