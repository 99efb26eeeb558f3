"""Leaf mode and intents: a leaf keeps whole only the intents that select it.

One mesh of real shoald processes (fast profile): three full nodes and one
leaf (--leaf, labels region=jp) with its own fakekube. N App intents of
about 2 KB are posted at a full node; a few select the leaf. Checked here:
- the leaf holds those whole and the rest as stubs (shoal_intents_stubs,
  the LMDB record bytes in shoal_intents_stored_bytes), its store digest
  equals a full node's, and its cluster gets the selected ones only;
- GET /v1/intents on the leaf is answered by a full node; ?local=true shows
  the leaf's own store with its stubs marked and no body for them;
- shoalctl get intents works against the leaf;
- no full node ever asks the leaf for a body it cannot serve
  (shoal_replica_not_held_total and pull failures stay 0 on full nodes);
- a VirtualSite change deselects an intent (pruned from the cluster, cut to
  a stub) and selects it again (its body pulled from a full node, applied);
- SIGKILL and a restart with one more label: the stubs come back from LMDB
  (intents_loaded), and the intent the new label selects is made whole and
  applied;
- POST /v1/intents on the leaf (raw, and by shoalctl apply) is committed by a full node (named in
  X-Shoal-Answered-By): killing the leaf right after loses nothing;
- the leaf's data dir restarted as a full node pulls the body of every stub.
The bytes the leaf stores and receives against a full node are printed.
"""
import base64
import os
import time
import unittest

from . import intents as ix
from .mesh import SuiteTimer, finish_suite, http_request, wait_until
from .test_leaf import start_leaf_mesh
from .test_reconcile import configmap

TIMER = SuiteTimer("test_leaf_intents")
FULL = 3
APPS = 40
SELECTING = 4  # app-00 .. app-03 select region=jp
ZONE_APP = "app-zone"  # selects zone=z1: nobody at first
VS_APP = "app-vs"  # targets the virtual site "edge"


def manifests(name, pad):
    """A ConfigMap whose data makes the envelope about 2 KB."""
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
            f"  namespace: demo\ndata:\n  blob: \"{pad}\"\n")


class LeafIntentsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        TIMER.start()
        cls.fx, cls.full, cls.fk, cls.leaf = start_leaf_mesh("shoal-leafint-", FULL)
        cls.root = ix.Key.from_file(os.path.join(cls.fx.keys, "root.key"))
        cls.seq = 0

    @classmethod
    def tearDownClass(cls):
        reports = cls.fx.close()
        finish_suite(reports, TIMER)

    # ---- helpers ---------------------------------------------------------
    def version(self):
        type(self).seq += 1
        return ix.hlc(int(time.time() * 1000), self.seq % 60000)

    def post(self, node, env):
        st, h, body = http_request(node, "POST", "/v1/intents", env)
        self.assertEqual(st, 202, body)
        return h, body

    def app(self, name, target, pad_len=1800):
        env, _ = ix.signed(self.root, "App", name,
                           {"manifests": manifests(name, "x" * pad_len)}, self.version(),
                           target=target)
        return env

    def virtual_site(self, name, selector, replaces=0):
        env, _ = ix.signed(self.root, "VirtualSite", name, {"selector": selector},
                           self.version(), replaces=replaces)
        return env

    def move_edge(self, node, selector):
        held = node.get("/v1/intents/VirtualSite/edge")["version"]
        self.post(node, self.virtual_site("edge", selector, replaces=held))

    def local(self, node):
        st, h, body = http_request(node, "GET", "/v1/intents?local=true")
        self.assertEqual(st, 200, body)
        self.assertNotIn("x-shoal-answered-by", h)
        return body

    def held(self, name):
        """'whole', 'stub' or None: how the leaf holds App `name`."""
        for it in self.local(self.leaf)["intents"]:
            if it["kind"] == "App" and it["name"] == name:
                return "stub" if it.get("stub") else "whole"
        return None

    def cm(self, name):
        return self.fk.get(f"/api/v1/namespaces/demo/configmaps/{name}").status

    def wait_all_hold(self, count):
        for n in self.full + [self.leaf]:
            wait_until(lambda n=n: n.metric("shoal_intents") == count, 60,
                       f"{n.name} holds {count} intents")

    def assert_no_pulls_from_leaf(self):
        for n in self.full:
            self.assertEqual(n.metric("shoal_replica_not_held_total"), 0, n.name)
            self.assertEqual(n.metric("shoal_replica_pull_failures_total"), 0, n.name)

    # ---- the suite, in order ---------------------------------------------
    def test_1_leaf_keeps_stubs_of_what_does_not_select_it(self):
        src = self.full[0]
        before = {n.name: (n.metric("shoal_replica_body_bytes_received_total"),
                           n.metric("shoal_replica_served_bytes_total"))
                  for n in self.full + [self.leaf]}
        self.post(src, self.virtual_site("edge", "region=jp"))
        for i in range(APPS):
            sel = "region=jp" if i < SELECTING else "region=eu"
            self.post(src, self.app(f"app-{i:02d}", {"selector": sel}))
        self.post(src, self.app(ZONE_APP, {"selector": "zone=z1"}))
        self.post(src, self.app(VS_APP, {"virtual_site": "edge"}))
        total = APPS + 3
        self.wait_all_hold(total)
        stubs = APPS - SELECTING + 1  # region=eu ones and the zone one
        wait_until(lambda: self.leaf.metric("shoal_intents_stubs") == stubs, 30,
                   "the leaf holds the stubs")
        for n in self.full:
            self.assertEqual(n.metric("shoal_intents_stubs"), 0, n.name)
        # Same replicated state: the digests (over every id) agree.
        digest = self.local(self.full[1])["digest"]
        wait_until(lambda: self.local(self.leaf)["digest"] == digest, 20, "digests agree")
        mine = {it["name"]: it for it in self.local(self.leaf)["intents"]
                if it["kind"] == "App"}
        whole = sorted(k for k, v in mine.items() if not v.get("stub"))
        self.assertEqual(whole, sorted([f"app-{i:02d}" for i in range(SELECTING)] + [VS_APP]))
        # The cluster gets the selected ones only.
        for i in range(SELECTING):
            wait_until(lambda i=i: self.cm(f"app-{i:02d}") == 200, 30, f"app-{i:02d} applied")
        wait_until(lambda: self.cm(VS_APP) == 200, 30, "app-vs applied")
        self.assertEqual(self.cm("app-10"), 404)
        self.assertEqual(self.cm(ZONE_APP), 404)
        # A stub shows no body; a whole one does.
        st, _, stub = http_request(self.leaf, "GET", "/v1/intents/App/app-10?local=true")
        self.assertEqual(st, 200)
        self.assertTrue(stub["stub"])
        self.assertIsNone(stub["spec"])
        self.assertIsNone(stub["envelope"])
        self.assertEqual(stub["id"], mine["app-10"]["id"])
        st, _, whole_one = http_request(self.leaf, "GET", "/v1/intents/App/app-01?local=true")
        self.assertIn("manifests", whole_one["spec"])
        # Without ?local the leaf asks a full node, which has every body.
        st, h, answered = http_request(self.leaf, "GET", "/v1/intents/App/app-10")
        self.assertEqual(st, 200)
        self.assertIn(h.get("x-shoal-answered-by"), {n.name for n in self.full})
        self.assertNotIn("stub", answered)
        self.assertIn("manifests", answered["spec"])
        st, h, listing = http_request(self.leaf, "GET", "/v1/intents")
        self.assertEqual((st, listing["count"], listing["digest"]), (200, total, digest))
        self.assertIn("x-shoal-answered-by", h)
        # shoalctl against the leaf.
        r = self.fx.ctl(self.leaf, "get", "intents")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("app-39", r.stdout)

        # Figures: what the leaf stores and receives against a full node.
        time.sleep(2)
        after = {n.name: (n.metric("shoal_replica_body_bytes_received_total"),
                          n.metric("shoal_replica_served_bytes_total"))
                 for n in self.full + [self.leaf]}
        leaf_store = {f: self.leaf.metric("shoal_intents_stored_bytes", form=f)
                      for f in ("whole", "stub")}
        full_store = self.full[1].metric("shoal_intents_stored_bytes", form="whole")
        rx = {k: after[k][0] - before[k][0] for k in after}
        tx = {k: after[k][1] - before[k][1] for k in after}
        peers = [n.name for n in self.full[1:]]  # full0 took them at its API
        full_rx = sum(rx[k] for k in peers) / len(peers)
        full_tx = sum(tx[n.name] for n in self.full)
        leaf_total = leaf_store["whole"] + leaf_store["stub"]
        print(f"\n  {total} intents ({APPS + 2} App of ~2 KB, {SELECTING + 1} selecting the "
              f"leaf): leaf stores {leaf_total:.0f} B ({leaf_store['whole']:.0f} whole + "
              f"{leaf_store['stub']:.0f} in {stubs} stubs), full node {full_store:.0f} B "
              f"(ratio {leaf_total / full_store:.3f}); bodies received: leaf "
              f"{rx['leaf0']:.0f} B, full node {full_rx:.0f} B; served: leaf "
              f"{tx['leaf0']:.0f} B (its health record), full nodes together {full_tx:.0f} B", end="", flush=True)
        self.assertLess(leaf_total, full_store * 0.25)
        self.assert_no_pulls_from_leaf()

    def test_2_virtual_site_change_cuts_and_refills(self):
        self.assertEqual(self.held(VS_APP), "whole")
        wanted = self.leaf.metric("shoal_intents_bodies_wanted_total")
        # The virtual site moves away: pruned from the cluster, cut to a stub.
        self.move_edge(self.full[1], "region=eu")
        wait_until(lambda: self.cm(VS_APP) == 404, 30, "app-vs pruned from the cluster")
        wait_until(lambda: self.held(VS_APP) == "stub", 30, "app-vs cut to a stub")
        self.assertTrue(self.leaf.events("intent_stubbed"))
        # ... and back: the body comes from a full node, and is applied.
        self.move_edge(self.full[2], "region=jp")
        wait_until(lambda: self.held(VS_APP) == "whole", 30, "app-vs whole again")
        wait_until(lambda: self.cm(VS_APP) == 200, 30, "app-vs applied again")
        self.assertGreater(self.leaf.metric("shoal_intents_bodies_wanted_total"), wanted)
        self.assertGreaterEqual(self.leaf.metric("shoal_intents_filled_total"), 1)
        self.assert_no_pulls_from_leaf()

    def test_3_kill_restart_with_a_new_label(self):
        stubs = self.leaf.metric("shoal_intents_stubs")
        self.assertGreater(stubs, 0)
        self.leaf.kill()
        self.leaf.labels["zone"] = "z1"
        self.leaf.start()
        self.leaf.wait_ready()
        loaded = self.leaf.events("intents_loaded")[0]
        self.assertEqual(loaded["stubs"], stubs)
        self.assertEqual(loaded["unreadable"], 0)
        # The new label selects app-zone: its body is pulled and applied.
        wait_until(lambda: self.held(ZONE_APP) == "whole", 40, "app-zone whole")
        wait_until(lambda: self.cm(ZONE_APP) == 200, 30, "app-zone applied")
        self.assertEqual(self.leaf.metric("shoal_intents_stubs"), stubs - 1)
        self.assertEqual(self.held("app-20"), "stub")

    def test_4_posts_on_the_leaf_are_committed_by_a_full_node(self):
        names = {n.name for n in self.full}
        env = self.app("posted-away", {"selector": "region=eu"})
        h, body = self.post(self.leaf, env)
        self.assertIn(h.get("x-shoal-answered-by"), names)
        self.assertFalse(body["duplicate"])
        # The leaf dies at once: the envelope is on a full node already.
        self.leaf.kill()
        by = next(n for n in self.full if n.name == h["x-shoal-answered-by"])
        got = by.get("/v1/intents/App/posted-away")
        self.assertEqual(got["id"], body["id"])
        for n in self.full:
            wait_until(lambda n=n: n.api("/v1/intents/App/posted-away")[0] == 200, 30,
                       f"posted-away on {n.name}")
        self.leaf.start()
        self.leaf.wait_ready()
        wait_until(lambda: self.held("posted-away") == "stub", 30, "the leaf holds its stub")
        # One that selects the leaf, posted on it, lands in its cluster.
        h, _ = self.post(self.leaf, self.app("posted-here", {"selector": "region=jp"}))
        self.assertIn(h.get("x-shoal-answered-by"), names)
        wait_until(lambda: self.cm("posted-here") == 200, 30, "posted-here applied")
        self.assertEqual(self.held("posted-here"), "whole")
        # shoalctl apply against the leaf: its GETs and its POST answered by full nodes.
        self.fx.apply(self.leaf, "ctl-applied", [configmap("ctl-applied", {"k": "v"})],
                      selector="region=jp")
        wait_until(lambda: self.cm("ctl-applied") == 200, 30, "ctl-applied applied")
        self.assertEqual(self.full[0].get("/v1/intents/App/ctl-applied")["kind"], "App")
        # A refused envelope is relayed with the full node's reason.
        bad = dict(self.app("bad-one", {"selector": "region=jp"}))
        sig = bytearray(base64.b64decode(bad["sig"]))
        sig[0] ^= 1
        bad["sig"] = base64.b64encode(bytes(sig)).decode()
        st, h, why = http_request(self.leaf, "POST", "/v1/intents", bad)
        self.assertEqual((st, why["error"]), (401, "bad_signature"))
        self.assertIn("x-shoal-answered-by", h)

    def test_5_a_leaf_restarted_full_fills_its_stubs(self):
        stubs = self.leaf.metric("shoal_intents_stubs")
        self.assertGreater(stubs, 0)
        self.leaf.terminate()
        self.leaf.extra_args.remove("--leaf")
        self.leaf.start()
        self.leaf.wait_ready()
        wait_until(lambda: self.leaf.metric("shoal_intents_stubs") == 0, 40,
                   "every stub filled on the node now full")
        self.assertEqual(self.leaf.metric("shoal_intents_filled_total"), stubs)
        digest = self.local(self.full[0])["digest"]
        wait_until(lambda: self.local(self.leaf)["digest"] == digest, 20, "digests agree")


if __name__ == "__main__":
    unittest.main()
