"""Intents older than the horizon: a new node takes the fleet's long-lived
intents, a node away longer than the horizon drops what it held and takes
them again, and an ordinary node never takes an old envelope from a peer.

No clock is faked: the old envelopes are real root-signed intents whose HLC
lies 8 days back, written into a node's LMDB "intents" database in the
format node/intents.c reloads (the path a node that really held them for 8
days would take), and "away 9 days" is the `last_alive` time in the store.
"""
import os
import time
import unittest

import lmdb
import msgpack

from . import intents as I
from .mesh import Mesh, SuiteTimer, finish_suite, wait_until

TIMER = SuiteTimer("test_intents_resync")
DAY_MS = 24 * 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def old_envelope(key, name, days=8):
    b = I.body("App", name, {"manifests": I.MANIFEST}, I.hlc(now_ms() - days * DAY_MS), key,
               target={"selector": "region=jp"})
    return msgpack.packb([b, I.sign(b, key)], use_bin_type=True)


def plant(data_dir, name, envelope, away_days=None):
    """Write an envelope (and optionally an old last_alive) into a stopped
    node's store, as node/intents.c and node/store.c lay them out."""
    env = lmdb.open(data_dir, max_dbs=16, map_size=1 << 30)
    with env.begin(write=True) as txn:
        db = env.open_db(b"intents", txn=txn)
        received = (now_ms() - 8 * DAY_MS).to_bytes(8, "big")
        frm = b"api"
        txn.put(f"App/{name}".encode(), b"\x01" + received + bytes([len(frm)]) + frm + envelope,
                db=db)
        if away_days is not None:
            self_db = env.open_db(b"self", txn=txn)
            txn.put(b"last_alive", (now_ms() - away_days * DAY_MS).to_bytes(8, "big"),
                    db=self_db)
    env.close()


class Resync(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        TIMER.start()
        cls.mesh = Mesh(prefix="shoal-resync-")
        keys = os.path.join(cls.mesh.tmp, "root")
        r = cls.mesh.shoalctl("keygen", "--out", keys)
        assert r.returncode == 0, r.stderr
        cls.root = I.Key.from_file(keys + ".key")
        cls.trust = ["--trust", keys + ".pub"]

    @classmethod
    def tearDownClass(cls):
        reports = cls.mesh.close()
        finish_suite(reports, TIMER)

    def holds(self, node, name):
        st, _ = node.api(f"/v1/intents/App/{name}")
        return st == 200

    def test_old_intents(self):
        m = self.mesh
        # A has held "old-app" for 8 days (and ran all along).
        a = m.add("a", extra_args=self.trust, start=False)
        a.start().wait_ready()
        a.terminate()
        plant(a.data_dir, "old-app", old_envelope(self.root, "old-app"))
        a.start().wait_ready()
        self.assertTrue(self.holds(a, "old-app"))

        # B is new: it takes the fleet's state, old intents included.
        b = m.add("b", join=[a], extra_args=self.trust)
        b.wait_ready()
        self.assertEqual(b.events("intents_resync")[0]["state"], "started")
        wait_until(lambda: self.holds(b, "old-app"), 20, "old-app on the new node")
        wait_until(lambda: any(e["state"] == "done" for e in b.events("intents_resync")), 20,
                   "the resync to end")

        # C ran until 9 days ago holding "zombie" (deleted meanwhile, its
        # tombstone long collected): at start it drops everything and
        # takes the fleet's state again.
        c = m.add("c", join=[a], extra_args=self.trust, start=False)
        c.start().wait_ready()
        c.terminate()
        plant(c.data_dir, "zombie", old_envelope(self.root, "zombie", days=10), away_days=9)
        c.start().wait_ready()
        dropped = c.events("intents_dropped")
        self.assertEqual(len(dropped), 1)
        self.assertGreater(dropped[0]["away_ms"], 8 * DAY_MS)
        self.assertFalse(self.holds(c, "zombie"))
        wait_until(lambda: self.holds(c, "old-app"), 20, "old-app on the returning node")

        # D ran yesterday and holds an old envelope the others never had:
        # ordinary nodes refuse it from D (beyond the horizon).
        d = m.add("d", join=[a], extra_args=self.trust, start=False)
        d.start().wait_ready()
        d.terminate()
        plant(d.data_dir, "replayed", old_envelope(self.root, "replayed"), away_days=1)
        d.start().wait_ready()
        self.assertTrue(self.holds(d, "replayed"))
        wait_until(lambda: any(e.get("reason") == "beyond_horizon"
                               for e in a.events("intent_rejected")), 20,
                   "a to refuse the old envelope")
        time.sleep(1)
        for n in (a, b, c):
            self.assertFalse(self.holds(n, "replayed"), n.name)
