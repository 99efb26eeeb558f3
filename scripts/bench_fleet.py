#!/usr/bin/python3
"""Benchmark GET /v1/fleet on one shoald that holds a whole fleet's health.

Target (issue 5): a node holding 10,000 sites' records answers GET /v1/fleet
in <= 50 ms. GET /v1/fleet/sites lists every site (the whole list, well
under 150 ms at 10,000 sites), or a page of them (?limit=N&continue=T).

How the node comes to hold the fleet, honestly and without 10,000 processes:

1. `health-fill DATA_DIR N` (tests/tools/health_fill.c) writes N signed
   health records of N distinct sites into the node's LMDB "health"
   database, in the format shoald reloads at start (node/health_store.c).
   Site i is "site-NNNNN" with the Ed25519 key seeded by
   SHA-256("shoal-bench-fleet/" i).
2. shoald starts (LAN profile) on that data dir and reloads the records.
3. This script announces the N sites' member records: signed ALIVEs
   (tests/integration/wire.py, the format of docs/protocol.md) sealed with
   the cluster key, sent as gossip datagrams, each site at one loopback
   port that this script serves: it answers every PING with an ACK, so the
   node's failure detector keeps every site alive and the fleet view shows
   them fresh (with bands, distributions, worst sites), not unreachable.
4. Once the node's membership holds all N sites alive, GET /v1/fleet and
   GET /v1/fleet/sites are timed over many requests on one keep-alive
   connection (time to the last byte of the body), after a warm-up.

5. Then --walks page walks of the whole list with ?limit=--page-limit,
   each following the continue tokens to the end: every page timed, and
   each walk whole; a walk must list every site exactly once, in the order
   of the unpaged list.

Prints p50 / p90 / p99 / max per route and the response sizes, then the
per-page and per-walk figures.
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import msgpack
import nacl.signing
import hashlib

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, REPO)
from tests.integration import mesh, wire  # noqa: E402

REGIONS = ["jp-north", "jp-south", "us-east", "eu-west"]
PING, ACK = 1, 2
# The site list as the dashboard asks for it (node/dashboard/dashboard.js).
DASHBOARD_SITES = ("/v1/fleet/sites?fields=state%2Cview%2Cband%2Clabels%2Cscore%2Ccomponents"
                   "%2Ccpu_pct%2Cmem_pct%2Cdisk_pct%2Cage_s%2Clat%2Clon")


def site_key(i):
    return nacl.signing.SigningKey(hashlib.sha256(b"shoal-bench-fleet/%d" % i).digest())


class Responder:
    """One UDP port standing in for every site's gossip address: opens each
    datagram with the cluster key and ACKs every PING in it."""

    def __init__(self, key):
        self.key = key
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.pings = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            plain = wire.open_sealed(self.key, data)
            if plain is None:
                continue
            try:
                _, msgs = msgpack.unpackb(plain, raw=False)
            except Exception:
                continue
            acks = [[ACK, m[1]] for m in msgs if isinstance(m, list) and m and m[0] == PING]
            if acks:
                self.pings += len(acks)
                try:
                    self.sock.sendto(wire.seal(self.key, wire.datagram(*acks)), addr)
                except OSError:
                    pass

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def announce(key, node_port, resp_port, sites):
    """Signed ALIVEs of `sites`, packed into gossip datagrams of <= 1359 bytes."""
    out, batch, size = [], [], 8
    for i in sites:
        labels = {"region": REGIONS[i % 4], "env": "test" if i % 10 == 0 else "prod"}
        msg = wire.signed_alive(site_key(i), "site-%05d" % i, 1, "127.0.0.1", resp_port,
                                labels=labels, version="0.4.0")
        n = len(wire.pack(msg))
        if batch and size + n > 1300:
            out.append(wire.seal(key, wire.datagram(*batch)))
            batch, size = [], 8
        batch.append(msg)
        size += n
    if batch:
        out.append(wire.seal(key, wire.datagram(*batch)))
    return wire.send_udp(node_port, out, pace=0.0005)


def alive_sites(node):
    st, body = node.api("/v1/members", timeout=30)
    if st != 200:
        return set()
    return {m["name"] for m in body["members"] if m.get("state") == "alive"}


def timed(conn, path):
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    dt = time.perf_counter() - t0
    if r.status != 200:
        raise RuntimeError("%s: HTTP %d %s" % (path, r.status, body[:200]))
    return dt, body


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/rel", help="build dir with shoald and tests/health-fill")
    ap.add_argument("--sites", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--routes", default="/v1/fleet,/v1/fleet/sites," + DASHBOARD_SITES,
                    help="comma-separated (a comma inside a query as %%2C)")
    ap.add_argument("--page-limit", type=int, default=500,
                    help="sites per page of the page walks (0: no walks)")
    ap.add_argument("--walks", type=int, default=20, help="page walks of the whole list")
    ap.add_argument("--dump", help="write each route's last answer (and a few more) here")
    args = ap.parse_args()

    bindir = os.path.abspath(args.bin)
    mesh.SHOAL_BIN = bindir
    with mesh.Mesh(prefix="shoal-bench-fleet-", profile="lan") as m:
        node = m.add("bench-node", start=False, profile="lan")
        t0 = time.monotonic()
        subprocess.run([os.path.join(bindir, "tests", "health-fill"), node.data_dir,
                        str(args.sites)], check=True)
        print("filled %d records in %.1f s" % (args.sites, time.monotonic() - t0), flush=True)
        node.start().wait_ready(timeout=120)
        key = m.key
        resp = Responder(key)
        try:
            want = {"site-%05d" % i for i in range(args.sites)}
            missing = set(range(args.sites))
            t0 = time.monotonic()
            for attempt in range(10):
                announce(key, node.gossip_port, resp.port, sorted(missing))
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    have = alive_sites(node) & want
                    if len(have) == len(want):
                        break
                    time.sleep(1)
                missing = {int(s[5:]) for s in want - have}
                if not missing:
                    break
            print("membership: %d of %d sites alive after %.1f s (%d pings answered)" % (
                args.sites - len(missing), args.sites, time.monotonic() - t0, resp.pings),
                flush=True)
            host, port = node.api_addr.rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            results = []
            for route in [r for r in args.routes.split(",") if r]:
                for _ in range(args.warmup):
                    timed(conn, route)
                times, size = [], 0
                for _ in range(args.requests):
                    dt, body = timed(conn, route)
                    times.append(dt * 1000)
                    size = len(body)
                results.append((route, times, size, body))
            walks = []
            if args.page_limit > 0 and args.walks > 0:
                _, body = timed(conn, "/v1/fleet/sites")
                want_names = [x["name"] for x in json.loads(body)["sites"]]
                for w in range(args.walks + 1):  # the first warms up
                    pages, names, token = [], [], None
                    t0 = time.perf_counter()
                    while True:
                        path = "/v1/fleet/sites?limit=%d" % args.page_limit
                        if token:
                            path += "&continue=" + token
                        dt, body = timed(conn, path)
                        pages.append(dt * 1000)
                        page = json.loads(body)
                        names += [x["name"] for x in page["sites"]]
                        token = page.get("continue")
                        if not token:
                            break
                    total = (time.perf_counter() - t0) * 1000
                    if names != want_names:
                        raise RuntimeError("page walk %d: %d names, %d unique, unpaged list %d"
                                           % (w, len(names), len(set(names)), len(want_names)))
                    if w > 0:
                        walks.append((pages, total))
            if args.dump:
                os.makedirs(args.dump, exist_ok=True)
                extra = ["/v1/fleet?selector=env", "/v1/fleet?selector=env&worst=100",
                         "/v1/fleet?selector=region%3Djp-north",
                         "/v1/fleet/sites?selector=env", "/v1/sites/site-00042",
                         "/v1/sites/site-%05d" % (args.sites - 1)]
                for route in [r for r in args.routes.split(",") if r] + extra:
                    _, body = timed(conn, route)
                    name = route.strip("/").replace("/", "_").replace("?", "_")
                    with open(os.path.join(args.dump, name + ".json"), "wb") as f:
                        f.write(body)
            _, body = node.api("/v1/fleet", timeout=30)
            sites = body.get("sites", {})
            print("fleet view: %s" % json.dumps(sites, sort_keys=True))
            print()
            print("%-18s %8s %8s %8s %8s %8s %10s" % ("route", "n", "p50 ms", "p90 ms",
                                                       "p99 ms", "max ms", "bytes"))
            for route, times, size, _ in results:
                shown = "/v1/fleet/sites?fields=(dashboard)" if route == DASHBOARD_SITES else route
                print("%-18s %8d %8.1f %8.1f %8.1f %8.1f %10d" % (
                    shown, len(times), statistics.median(times), pct(times, 90), pct(times, 99),
                    max(times), size))
            if walks:
                pages = [t for p, _ in walks for t in p]
                totals = [t for _, t in walks]
                print("page walks: %d walks of %d pages (limit=%d), every site once, in order" % (
                    len(walks), len(walks[0][0]), args.page_limit))
                print("  per page  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms" % (
                    statistics.median(pages), pct(pages, 90), pct(pages, 99), max(pages)))
                print("  per walk  p50 %.1f ms  p90 %.1f ms  max %.1f ms" % (
                    statistics.median(totals), pct(totals, 90), max(totals)))
            print("load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
            alive = len(alive_sites(node) & want)
            print("sites alive at the end: %d of %d" % (alive, args.sites))
        finally:
            resp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
