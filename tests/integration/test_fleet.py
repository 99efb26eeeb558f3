"""The fleet's health on every node: 30 sites on loopback publish signed
health records through the replication service; every node then answers
GET /v1/fleet, /v1/fleet/sites and /v1/sites/{name} for the whole fleet.

Checked here, on a live mesh of real shoald processes (fast profile):
- every node counts all 30 sites, each with a fresh record and a band, and
  a selector narrows the counts identically on every node;
- coordinates come from the geo.shoal.io annotations each site carries in
  its record;
- an App intent's selected sites are judged from site labels (no cluster
  here, so they stay pending and none holds the version);
- sites killed with SIGKILL turn unreachable on every other node, never
  green or failed;
- a restarted node reloads the fleet's records from LMDB before it hears
  from anyone;
- bad selectors, bad site names and unknown sites get clear errors;
- /metrics carries the fleet's aggregate as gauges.
"""
import os
import unittest
import urllib.parse

from .mesh import Mesh, SuiteTimer, finish_suite, wait_until

TIMER = SuiteTimer("test_fleet")
MESH = None
KEYS = None
SITES = 30
REGIONS = ["jp-north", "jp-south", "eu-west"]

APP = """apiVersion: shoal.io/v1
kind: App
metadata: {name: kuard}
spec:
  target: {selector: "region=jp-north"}
  manifests: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: kuard, namespace: default}
    data: {greeting: hello}
"""


def region_of(i):
    return REGIONS[i % len(REGIONS)]


def setUpModule():
    global MESH, KEYS
    TIMER.start()
    MESH = Mesh(prefix="shoal-fleet-")
    try:
        KEYS = os.path.join(MESH.tmp, "keys")
        os.makedirs(KEYS)
        r = MESH.shoalctl("keygen", "--out", os.path.join(KEYS, "root"))
        assert r.returncode == 0, r.stderr
        trust = ["--trust", os.path.join(KEYS, "root.pub")]
        for i in range(SITES):
            geo = ["--annotation", f"geo.shoal.io/lat={10 + i}.5",
                   "--annotation", f"geo.shoal.io/lon={100 + i}"]
            join = MESH.nodes[:3] if MESH.nodes else []
            MESH.add(f"f{i:02d}", join=join, labels={"region": region_of(i)},
                     extra_args=trust + geo)
        for n in MESH.nodes:
            n.wait_ready()
        MESH.wait_converged(timeout=90)
    except BaseException:
        MESH.close()
        raise


def tearDownModule():
    finish_suite(MESH.close() if MESH else [], TIMER)


def fleet(node, selector=None):
    q = "" if selector is None else "?selector=" + urllib.parse.quote(selector)
    st, body = node.api("/v1/fleet" + q, timeout=10)
    assert st == 200, body
    return body


def banded(body):
    s = body["sites"]
    return s["green"] + s["orange"] + s["red"]


class Fleet(unittest.TestCase):
    def test_1_every_node_counts_every_site(self):
        for n in MESH.nodes:
            body = wait_until(lambda: (lambda b: b if banded(b) == SITES else None)(fleet(n)),
                              60, f"all {SITES} sites fresh on {n.name}", interval=0.5)
            s = body["sites"]
            self.assertEqual(s["total"], SITES)
            self.assertEqual(s["unknown"] + s["stale"] + s["unreachable"], 0)
            self.assertEqual(sum(body["cpu"]["histogram"]), SITES)
            self.assertGreater(body["links"]["reporting"], 0)
            self.assertEqual(body["refresh_s"], 6)  # max(60 s, 30 x 1 s), fast profile /10

    def test_2_selector_narrows_identically(self):
        for region in REGIONS:
            want = sum(1 for i in range(SITES) if region_of(i) == region)
            for n in MESH.nodes[::7]:
                body = fleet(n, f"region={region}")
                self.assertEqual(body["selector"], f"region={region}")
                self.assertEqual(body["sites"]["total"], want)
        st, body = MESH.nodes[0].api("/v1/fleet?selector=" + urllib.parse.quote("region in ("))
        self.assertEqual(st, 400)
        self.assertEqual(body["error"], "bad_selector")
        st, body = MESH.nodes[0].api("/v1/fleet?worst=0")
        self.assertEqual(st, 400)

    def test_3_sites_carry_records_and_coordinates(self):
        n = MESH.nodes[5]
        st, body = n.api("/v1/fleet/sites?selector=region%3Djp-south", timeout=10)
        self.assertEqual(st, 200)
        names = [s["name"] for s in body["sites"]]
        self.assertEqual(names, sorted(f"f{i:02d}" for i in range(SITES)
                                       if region_of(i) == "jp-south"))
        for s in body["sites"]:
            i = int(s["name"][1:])
            self.assertEqual(s["view"], "fresh")
            self.assertIn(s["band"], ("green", "orange", "red"))
            self.assertAlmostEqual(s["lat"], 10 + i + 0.5)
            self.assertAlmostEqual(s["lon"], 100 + i)
            self.assertEqual(s["labels"]["region"], "jp-south")
            self.assertTrue(0 <= s["score"] <= 100)
        st, one = n.api("/v1/sites/f01")
        self.assertEqual(st, 200)
        self.assertEqual(one["record"]["labels"]["region"], region_of(1))
        self.assertEqual(one["record"]["annotations"]["geo.shoal.io/lat"], "11.5")
        self.assertTrue(one["record"]["software"].startswith("shoal "))
        st, err = n.api("/v1/sites/nosuchsite")
        self.assertEqual(st, 404)
        self.assertEqual(err["error"], "not_found")
        st, err = n.api("/v1/sites/-bad")
        self.assertEqual(st, 400)

    def test_4_intent_selection_from_labels(self):
        f = os.path.join(MESH.tmp, "app.yaml")
        with open(f, "w") as fh:
            fh.write(APP)
        r = MESH.shoalctl("--node", MESH.nodes[3].api_addr, "apply", "-f", f, "--key",
                          os.path.join(KEYS, "root.key"))
        self.assertEqual(r.returncode, 0, r.stderr)
        want = sum(1 for i in range(SITES) if region_of(i) == "jp-north")

        def kuard(n):
            for it in fleet(n)["intents"]:
                if it["kind"] == "App" and it["name"] == "kuard":
                    return it
            return None

        for n in MESH.nodes[::6]:
            it = wait_until(lambda: kuard(n), 30, f"kuard in /v1/fleet on {n.name}")
            self.assertEqual(it["selected"], want)
            self.assertEqual(sum(it["states"].values()), want)

    def test_5_killed_sites_turn_unreachable(self):
        victims = MESH.nodes[-2:]
        for v in victims:
            v.kill()
        names = {v.name for v in victims}
        for n in MESH.nodes[:-2:9]:
            body = wait_until(
                lambda: (lambda b: b if b["sites"]["unreachable"] == 2 else None)(fleet(n)),
                60, f"2 unreachable on {n.name}", interval=0.5)
            self.assertEqual(banded(body), SITES - 2)
            st, lines = n.api("/v1/fleet/sites", timeout=10)
            for s in lines["sites"]:
                if s["name"] in names:
                    self.assertEqual(s["view"], "unreachable")
                    self.assertIsNone(s["band"])
            worst = [w["name"] for w in body["worst"][:2]]
            self.assertEqual(set(worst), names)
            # /metrics carries the same aggregate.
            self.assertEqual(n.metric("shoal_fleet_sites", band="unreachable"), 2)
            greens = sum(n.metric("shoal_fleet_sites", band=b) for b in ("green", "orange", "red"))
            self.assertEqual(greens, SITES - 2)
            self.assertGreater(n.metric("shoal_health_accepted_total"), 0)

    def test_6_restart_reloads_the_fleet_from_disk(self):
        n = MESH.nodes[10]
        n.terminate()
        n.start()
        n.wait_ready()
        ev = wait_until(lambda: n.events("health_loaded"), 10, "health_loaded")
        self.assertGreaterEqual(ev[0]["records"], SITES - 2)
        self.assertEqual(ev[0]["unreadable"], 0)
