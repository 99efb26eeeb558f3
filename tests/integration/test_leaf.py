"""Leaf mode: a metered site keeps its own health record, membership and the
intents, and asks a full node for the fleet.

One mesh of real shoald processes (fast profile): four full nodes and one
leaf (--leaf) with its own fakekube. Checked here:
- the leaf's health table holds its own record only (shoal_health_records
  is 1) while every full node holds all five, the leaf's included;
- GET /v1/fleet, /v1/fleet/sites, /v1/sites/{another site} and /v1/alerts on
  the leaf are answered by a full node, named in X-Shoal-Answered-By, and
  equal that node's own answer; /v1/sites/{the leaf} stays local;
- the leaf receives clearly fewer gossip bytes than a full node over the
  same window (no health announcements, no health lists in anti-entropy);
- an App intent applied at a full node reaches the leaf and lands in its
  cluster;
- with every full node killed, fleet queries on the leaf answer 503 with the
  reason.
"""
import time
import unittest

from .mesh import SuiteTimer, finish_suite, http_get, wait_until
from .test_reconcile import Fixture, configmap

TIMER = SuiteTimer("test_leaf")
FULL = 4


def start_leaf_mesh(prefix, full_count):
    """A Fixture running `full_count` full nodes (region=eu) and one leaf
    (region=jp, --leaf) with a fake cluster of its own, converged:
    (fixture, full nodes, the leaf's fake cluster, the leaf)."""
    fx = Fixture(prefix)
    try:
        mesh = fx.mesh
        trust = ["--trust", fx.trust]
        full = []
        for i in range(full_count):
            join = mesh.nodes[:2] if mesh.nodes else []
            full.append(mesh.add(f"full{i}", join=join, labels={"region": "eu"},
                                 extra_args=trust))
        fk = fx.fake()
        leaf = mesh.add("leaf0", join=full[:2], labels={"region": "jp"},
                        extra_args=trust + ["--leaf", "--kubeconfig", fk.info["kubeconfig"]])
        for n in mesh.nodes:
            n.wait_ready()
        mesh.wait_converged(timeout=60)
    except BaseException:
        fx.close()
        raise
    return fx, full, fk, leaf


def bytes_in(node):
    return node.metric("shoal_bytes_received_total")


class LeafTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        TIMER.start()
        cls.fx, cls.full, cls.fk, cls.leaf = start_leaf_mesh("shoal-leaf-", FULL)

    @classmethod
    def tearDownClass(cls):
        reports = cls.fx.close()
        finish_suite(reports, TIMER)

    def test_1_health_table_is_own_record(self):
        for n in self.full:
            wait_until(lambda n=n: n.metric("shoal_health_records") == FULL + 1, 30,
                       f"{n.name} holds every site's record")
        wait_until(lambda: self.leaf.metric("shoal_health_records") == 1, 30,
                   "the leaf holds its own record")
        # It stays that way: the leaf takes no other record over time.
        time.sleep(3)
        self.assertEqual(self.leaf.metric("shoal_health_records"), 1)
        for n in self.full:
            st, _, site = http_get(n, "/v1/sites/leaf0")
            self.assertEqual(st, 200)
            self.assertEqual(site["name"], "leaf0")
        # The leaf's member record says what it is and where its API is.
        me = self.full[0].members()["leaf0"]
        self.assertEqual(me["labels"].get("sys.shoal.io/role"), "leaf")
        self.assertEqual(me["labels"].get("sys.shoal.io/api-port"), str(self.leaf.api_port))
        self.assertNotIn("sys.shoal.io/role", self.full[0].members()["full1"]["labels"])

    def test_2_fleet_answered_by_a_full_node(self):
        wait_until(lambda: all(n.metric("shoal_health_records") == FULL + 1 for n in self.full),
                   30, "full nodes hold every record")
        names = {n.name: n for n in self.full}
        for path in ("/v1/fleet", "/v1/fleet/sites", "/v1/alerts", "/v1/sites/full2",
                     "/v1/fleet?selector=region%3Djp"):
            st, h, body = http_get(self.leaf, path)
            self.assertEqual(st, 200, f"{path}: {body}")
            by = h.get("x-shoal-answered-by")
            self.assertIn(by, names, f"{path}: answered by {by}")
            if path == "/v1/fleet":
                self.assertEqual(body["sites"]["total"], FULL + 1)
                _, _, direct = http_get(names[by], path)
                self.assertEqual(body["sites"], direct["sites"])
            if path.startswith("/v1/fleet?selector"):
                self.assertEqual(body["sites"]["total"], 1)
        # A client error from the full node is relayed as it is.
        st, h, body = http_get(self.leaf, "/v1/fleet?selector=%3D%3D")
        self.assertEqual(st, 400)
        self.assertIn("x-shoal-answered-by", h)
        # The leaf's own site is answered locally.
        st, h, body = http_get(self.leaf, "/v1/sites/leaf0")
        self.assertEqual(st, 200)
        self.assertNotIn("x-shoal-answered-by", h)

    def test_3_leaf_receives_fewer_bytes(self):
        window = 10.0
        nodes = self.full + [self.leaf]
        ann = "shoal_replica_announces_received_total"
        before = {n.name: (bytes_in(n), n.metric(ann)) for n in nodes}
        time.sleep(window)
        after = {n.name: (bytes_in(n), n.metric(ann)) for n in nodes}
        d = {k: (after[k][0] - before[k][0], after[k][1] - before[k][1]) for k in after}
        full = sum(d[n.name][0] for n in self.full) / len(self.full)
        full_ann = sum(d[n.name][1] for n in self.full) / len(self.full)
        leaf, leaf_ann = d["leaf0"]
        ratio = leaf / full
        print(f"\n  in {window:.0f} s: leaf received {leaf:.0f} B ({leaf / window:.0f} B/s), "
              f"{leaf_ann:.0f} announcements; full node mean {full:.0f} B "
              f"({full / window:.0f} B/s), {full_ann:.0f} announcements; "
              f"bytes ratio {ratio:.2f}", end="", flush=True)
        # Health announcements are most of what a full node hears of items
        # (each node sends each one 3 times at this size: the bulk limit);
        # the leaf hears almost none (only a rare one sent before its
        # senders knew it was a leaf, or relayed for a probe).
        self.assertGreater(full_ann, 10)
        self.assertLess(leaf_ann, full_ann * 0.2)
        self.assertLess(ratio, 0.9)

    def test_4_app_intent_lands_on_the_leaf(self):
        self.fx.apply(self.full[0], "leafapp", [configmap("leaf-cfg", {"k": "v"})],
                      selector="region=jp")

        def landed():
            for it in self.leaf.get("/v1/self/intents")["intents"]:
                if it["name"] == "leafapp" and it["state"] == "ready":
                    return True
            return False
        wait_until(landed, 30, "the App intent ready on the leaf")
        self.assertEqual(self.fk.get("/api/v1/namespaces/demo/configmaps/leaf-cfg").status, 200)

    def test_9_no_full_node_answers(self):
        for n in self.full:
            n.kill()
        st, h, body = http_get(self.leaf, "/v1/fleet", timeout=30)
        self.assertEqual(st, 503)
        self.assertEqual(body["error"], "unavailable")
        self.assertIn("full node", body["reason"])
        self.assertNotIn("x-shoal-answered-by", h)
        # Once membership has declared them dead, the reason says none is known.
        wait_until(lambda: http_get(self.leaf, "/v1/alerts", timeout=30)[2]["reason"].find(
            "knows no live full node") >= 0, 60, "no full node known")
        st, _, _ = http_get(self.leaf, "/v1/sites/leaf0")
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
