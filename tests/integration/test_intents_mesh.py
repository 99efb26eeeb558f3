"""Intents replicated across real shoald processes on loopback.

One mesh of 30 nodes (fast profile) for: an intent applied at one node held
by all 30 (equal store digests everywhere); two conflicting applies at two
nodes at once converging to the same winner everywhere; a node SIGKILLed
during a burst of 500 intents that, restarted on its data dir, holds every
intent it acknowledged at once and catches up the rest.

A second, small mesh holds 10k intents for the anti-entropy test: nodes that
missed 0, 100 and 1,000 changes are restarted and the bytes each reads from
its gossip sockets until its digest matches (shoald's own
shoal_bytes_received_total, counted at the socket) must follow the changed
bytes, far below the store's size.

A third, tiny mesh has one node started with other trust roots: the mismatch
is reported (log, gauge, /v1/members), and a KeyGrant it pulls by gossip is
refused (not_root), counted in /metrics and leaves its digest unchanged.
"""
import os
import random
import threading
import time
import unittest

from . import intents as I
from .mesh import Mesh, SuiteTimer, finish_suite, wait_until

TIMER = SuiteTimer("test_intents_mesh")
N = 30
MESH = None
NODES = []
ROOT = None
TRUST = None
SMALL = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"


def setUpModule():
    global MESH, NODES, ROOT, TRUST
    TIMER.start()
    MESH = Mesh(prefix="shoal-imesh-")
    try:
        ROOT = I.Key()
        TRUST = os.path.join(MESH.tmp, "root.pub")
        ROOT.write_pub(TRUST)
        for i in range(N):
            before = MESH.nodes[:]
            join = random.sample(before, min(3, len(before))) if before else []
            MESH.add(f"m{i + 1:02d}", join=join, extra_args=["--trust", TRUST])
        for n in MESH.nodes:
            n.wait_ready(timeout=60)
        NODES = list(MESH.nodes)
        MESH.wait_converged(timeout=90)
    except BaseException:
        MESH.close()
        raise


def tearDownModule():
    finish_suite(MESH.close() if MESH else [], TIMER)


def now_ms():
    return int(time.time() * 1000)


def post(node, env):
    return node.api("/v1/intents", method="POST", body=env, timeout=10)


def digest(node):
    body = node.get("/v1/intents")
    return body["digest"], body["count"]


def held_id(node, kind, name):
    st, body = node.api(f"/v1/intents/{kind}/{name}")
    return body["id"] if st == 200 else None


def all_equal_digests(nodes):
    ds = {digest(n) for n in nodes}
    return ds if len(ds) == 1 else None


def app(name, version, manifests=SMALL, key=None):
    return I.signed(key or ROOT, "App", name, {"manifests": manifests}, version,
                    target={"selector": "region=jp"})


class MeshIntentTest(unittest.TestCase):
    def test_1_apply_at_one_node_reaches_all(self):
        env, iid = app("everywhere", I.hlc(now_ms()), manifests=I.MANIFEST)
        t0 = time.monotonic()
        st, body = post(NODES[7], env)
        self.assertEqual(st, 202, body)
        wait_until(lambda: all(held_id(n, "App", "everywhere") == iid for n in NODES), 30,
                   "App/everywhere on all 30 nodes")
        took = time.monotonic() - t0
        self.assertIsNotNone(wait_until(lambda: all_equal_digests(NODES), 30, "equal digests"))
        got = NODES[20].get("/v1/intents/App/everywhere")
        self.assertIn(got["received_from"], {n.name for n in NODES} - {NODES[20].name})
        self.assertEqual(got["status"], "effective")
        origin = NODES[7].get("/v1/intents/App/everywhere")
        self.assertEqual(origin["received_from"], "api")
        # the structured log: announced (with from) then committed, on a peer
        ann = [e for e in NODES[20].events("intent_announced") if e.get("id") == iid]
        com = [e for e in NODES[20].events("intent_committed") if e.get("id") == iid]
        self.assertEqual(len(com), 1, com)
        self.assertTrue(ann and ann[0]["from"] in {n.name for n in NODES}, ann)
        self.assertEqual(com[0]["from"], got["received_from"])
        # every node agrees on the trust roots
        self.assertTrue(all(m["trust_roots"] == "match" for m in NODES[3].members().values()))
        print(f"\n  one intent to 30 nodes: {took:.2f} s (ASan, polling)", flush=True)

    def test_2_conflicting_applies_converge(self):
        v = I.hlc(now_ms())
        a, ida = app("contested", v, manifests=SMALL)
        b, idb = app("contested", v, manifests=SMALL.replace("name: c", "name: d"))
        results = {}

        def go(node, env, tag):
            results[tag] = post(node, env)

        ts = [threading.Thread(target=go, args=(NODES[3], a, "a")),
              threading.Thread(target=go, args=(NODES[17], b, "b"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(results["a"][0], 202, results["a"])
        self.assertEqual(results["b"][0], 202, results["b"])
        # same HLC, same signer: the larger id wins, on every node
        winner = max(ida, idb)
        wait_until(lambda: all(held_id(n, "App", "contested") == winner for n in NODES), 30,
                   "the same winner of App/contested on all 30 nodes")
        wait_until(lambda: all_equal_digests(NODES), 30, "equal digests after the conflict")
        # the loser, arriving by gossip at the node that took it, is stale
        loser_node = NODES[3] if winner == idb else NODES[17]
        self.assertEqual(held_id(loser_node, "App", "contested"), winner)

    def test_3_sigkill_during_burst_keeps_acknowledged_and_catches_up(self):
        victim = NODES[11]
        others = [n for n in NODES if n is not victim]
        base = now_ms()
        envs = [app(f"burst-{i:03d}", I.hlc(base, i)) for i in range(500)]
        acked, lock = set(), threading.Lock()
        posted_elsewhere = set()

        def worker(k):
            for i in range(k, 500, 2):
                env, iid = envs[i]
                target = victim if i % 5 < 3 else others[i % len(others)]
                try:
                    st, _ = post(target, env)
                except OSError:
                    st = None  # the victim is dead: not acknowledged
                if st == 202:
                    with lock:
                        if target is victim:
                            acked.add(iid)
                        else:
                            posted_elsewhere.add(iid)

        ts = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
        for t in ts:
            t.start()
        wait_until(lambda: len(acked) >= 100, 60, "100 intents acknowledged by the victim",
                   interval=0.01)
        victim.kill()
        for t in ts:
            t.join()
        self.assertGreater(len(posted_elsewhere), 150)
        victim.start()
        victim.wait_ready(timeout=30)
        # everything it acknowledged is there from LMDB, before any catch-up
        ids = {e["id"] for e in victim.get("/v1/intents")["intents"]}
        self.assertLessEqual(acked, ids, f"{len(acked - ids)} acknowledged intents lost")
        loaded = victim.events("intents_loaded")
        self.assertGreaterEqual(loaded[0]["intents"], len(acked))
        # and the rest arrives: the whole mesh ends equal
        want = acked | posted_elsewhere
        wait_until(lambda: want <= {e["id"] for e in victim.get("/v1/intents")["intents"]},
                   60, "the victim to catch up with the burst")
        wait_until(lambda: all_equal_digests(NODES), 60, "equal digests after the burst")
        self.assertEqual(victim.metric("shoal_intents_gossip_rejected_total"), 0)


# ---- anti-entropy in proportion to what was missed --------------------------

STORE = 10000
# An anti-entropy HELLO: 4096 bucket hashes of 8 bytes, plus framing and seal.
HELLO_BYTES = 4096 * 8 + 64


def bytes_in(node):
    return node.metric("shoal_bytes_received_total")


class AntiEntropyTest(unittest.TestCase):
    def test_catch_up_follows_the_changes(self):
        with Mesh(prefix="shoal-iae-") as mesh:
            root = I.Key()
            trust = os.path.join(mesh.tmp, "root.pub")
            root.write_pub(trust)
            a = mesh.add("ae1", extra_args=["--trust", trust])
            a.wait_ready()
            base = now_ms()
            envs = [I.signed(root, "App", f"s{i:05d}", {"manifests": SMALL}, I.hlc(base, i),
                             target={"selector": "region=jp"}) for i in range(STORE)]
            store_bytes = sum(len(I.body("App", f"s{i:05d}", {"manifests": SMALL},
                                         I.hlc(base, i), root, target={"selector": "region=jp"}))
                              for i in range(0, STORE, 100)) * 100

            # Load the store fast: one node alone takes every POST.
            def load(part):
                for env, _ in part:
                    st, body = post(a, env)
                    assert st == 202, body

            ts = [threading.Thread(target=load, args=(envs[k::2],)) for k in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(digest(a)[1], STORE)
            nodes = [mesh.add(f"ae{i}", join=[a], extra_args=["--trust", trust])
                     for i in range(2, 5)]
            for n in nodes:
                n.wait_ready()
            every = [a] + nodes
            wait_until(lambda: all_equal_digests(every), 120, "4 nodes holding 10k intents")
            b, c, d = nodes

            def change(lo, hi, tag):
                size = 0
                for i in range(lo, hi):
                    env, _ = I.signed(root, "App", f"s{i:05d}",
                                      {"manifests": SMALL.replace("name: c", f"name: {tag}")},
                                      I.hlc(now_ms(), 0), target={"selector": "region=jp"},
                                      replaces=I.hlc(base, i), force=True)
                    st, body = post(a, env)
                    self.assertEqual(st, 202, body)
                    size += len(env["body"]) * 3 // 4 + 64
                return size

            def rejoin(n, missed):
                """Bytes n reads from its sockets from its start until it took
                what it missed, less the anti-entropy digests other nodes sent
                it meanwhile (HELLO_BYTES each, whatever anyone missed)."""
                n.start()
                n.wait_ready()
                wait_until(lambda: n.metric("shoal_replica_accepted_total") >= missed, 60,
                           f"{n.name} to take the {missed} changes it missed", interval=0.05)
                m = n.metrics()
                got = sum(v for (k, _), v in m.items() if k == "shoal_bytes_received_total")
                served = m[("shoal_replica_antientropy_served_total", frozenset())]
                wait_until(lambda: all_equal_digests([x for x in every if x.running]), 60,
                           f"{n.name} to hold what the others hold")
                return got - served * HELLO_BYTES

            c.kill()
            d.kill()
            changed_100 = change(0, 100, "x")
            c_bytes = rejoin(c, 100)  # missed 100 changes
            changed_1000 = changed_100 + change(100, 1000, "y")
            d_bytes = rejoin(d, 1000)  # missed 1,000
            b.kill()
            base_cost = rejoin(b, 0)  # missed nothing: the cost of a restart itself
            c100, d1000 = c_bytes - base_cost, d_bytes - base_cost
            print(f"\n  anti-entropy, store of {STORE} intents ({store_bytes} B of bodies): "
                  f"restart missing nothing {base_cost} B; missing 100 changes "
                  f"({changed_100} B) +{c100} B; missing 1000 ({changed_1000} B) +{d1000} B",
                  flush=True)
            self.assertLess(d_bytes, store_bytes / 4)
            self.assertLess(c_bytes, store_bytes / 20)
            ratio = d1000 / max(c100, 1)
            self.assertGreater(ratio, 5, "1,000 missed changes cost about 10x 100")
            self.assertLess(ratio, 16, "1,000 missed changes cost about 10x 100")
            self.assertLess(d1000, 3 * changed_1000)


# ---- other trust roots: reported; what they cannot accept is dropped ---------

class TrustMismatchTest(unittest.TestCase):
    def test_mismatch_reported_and_gossip_rejection_counted(self):
        with Mesh(prefix="shoal-itrust-") as mesh:
            root, other = I.Key(), I.Key()
            t1, t2 = os.path.join(mesh.tmp, "root.pub"), os.path.join(mesh.tmp, "other.pub")
            root.write_pub(t1)
            other.write_pub(t2)
            a = mesh.add("t1", extra_args=["--trust", t1])
            a.wait_ready()
            b = mesh.add("t2", join=[a], extra_args=["--trust", t1])
            odd = mesh.add("odd", join=[a], extra_args=["--trust", t2])
            b.wait_ready()
            odd.wait_ready()
            mesh.wait_converged()
            wait_until(lambda: a.members()["odd"]["trust_roots"] == "mismatch", 10,
                       "odd shown as a trust mismatch")
            self.assertEqual(a.members()["t2"]["trust_roots"], "match")
            wait_until(lambda: a.metric("shoal_trust_mismatched_members") == 1, 10, "gauge")
            self.assertEqual(odd.metric("shoal_trust_mismatched_members"), 2)
            wait_until(lambda: len(a.events("trust_mismatch", member="odd")) == 1, 10, "log")

            before = digest(odd)
            op = I.Key()
            g, gid = I.grant(root, "op", op, "region=jp", now_ms() + 3600_000,
                             I.hlc(now_ms()))
            st, body = post(a, g)
            self.assertEqual(st, 202, body)
            wait_until(lambda: held_id(b, "KeyGrant", "op") == gid, 20, "the grant at t2")
            wait_until(lambda: odd.metric("shoal_intents_gossip_rejected_total",
                                          reason="not_root") >= 1, 20,
                       "odd to refuse the grant it pulled")
            rej = [e for e in odd.events("intent_rejected") if e.get("id") == gid]
            self.assertTrue(rej and rej[0]["reason"] == "not_root", rej)
            self.assertIn(rej[0]["from"], ("t1", "t2"))
            self.assertEqual(digest(odd), before)
            # still only once in the log, however often the peer is seen
            self.assertEqual(len(a.events("trust_mismatch", member="odd")), 1)


if __name__ == "__main__":
    unittest.main()
