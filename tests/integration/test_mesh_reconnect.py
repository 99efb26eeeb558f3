"""Seeds that come up late, with real shoald processes on loopback.

A node started with --join to a port nothing listens on yet must join once
that seed starts: while it knows no live member it retries its seeds every
5 probe periods; once it knows others, its seeds stay reconnect candidates
(docs/protocol.md, "Reaped members: tombstones and reconnect") and one of
them is tried every reconnect interval, with probability seeds / live
members. Fast profile: probe 100 ms, reconnect interval 3 s jittered to
[1.5, 4.5) s. Partitions longer than dead_keep cannot be made on one
loopback interface; the simulator tests them (tests/unit/test_swim_reconnect.c).
"""
import time
import unittest

from .mesh import Mesh, SuiteTimer, finish_suite

TIMER = SuiteTimer("test_mesh_reconnect")

# Wall-clock bounds (s): the protocol needs 0.5 s (join retry) and at most
# 4.5 s plus a gossip round (reconnect); ASan nodes on 2 shared cores are
# slower, and a bound only stops a hung test.
JOIN_S = 30


def setUpModule():
    TIMER.start()


def tearDownModule():
    TIMER.stop()


class LateSeedTest(unittest.TestCase):
    def setUp(self):
        self.mesh = Mesh(prefix="shoal-reconnect-")

    def tearDown(self):
        reports = self.mesh.close()
        finish_suite(reports)

    def test_lone_node_joins_seed_started_later(self):
        seed = self.mesh.add("seed", join=[], start=False)
        lone = self.mesh.add("lone", join=[seed])
        lone.wait_ready()
        time.sleep(1.0)  # a few failed join attempts
        self.assertEqual(set(lone.members()), {"lone"})
        t0 = time.monotonic()
        seed.start()
        seed.wait_ready()
        took = self.mesh.wait_converged(timeout=JOIN_S, nodes=[seed, lone])
        print(f"\nlone node joined the late seed {time.monotonic() - t0:.2f} s after "
              f"it was started ({took:.2f} s after it was ready)", flush=True)

    def test_mesh_finds_seed_started_later(self):
        # a's only seed is down; b joins a, so a knows a live member and its
        # join retry stops. The seed is found by reconnect alone.
        seed = self.mesh.add("seed", join=[], start=False)
        a = self.mesh.add("a", join=[seed])
        a.wait_ready()
        b = self.mesh.add("b", join=[a])
        b.wait_ready()
        self.mesh.wait_converged(timeout=JOIN_S, nodes=[a, b])
        time.sleep(1.0)
        self.assertNotIn("seed", a.members())
        t0 = time.monotonic()
        seed.start()
        seed.wait_ready()
        took = self.mesh.wait_converged(timeout=JOIN_S, nodes=[seed, a, b])
        print(f"\nthe mesh found its late seed {time.monotonic() - t0:.2f} s after it "
              f"was started ({took:.2f} s after it was ready)", flush=True)


if __name__ == "__main__":
    unittest.main()
