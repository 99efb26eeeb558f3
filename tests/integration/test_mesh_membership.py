"""30 real shoald processes on loopback: join, crash, leave, restart.

Fast profile (every SWIM timer /10: probe 100 ms, suspicion min at N=30 is
4 * log10(30) * 100 ms = 0.59 s, max 6x = 3.5 s). The bounds below are far
wider than the protocol needs because 30 ASan-built nodes share 2 cores: a
bound is there to stop a hung test, and the measured times are printed.
"""
import os
import time
import unittest

from .mesh import Mesh, SuiteTimer, finish_suite, wait_until

N = 30
TIMER = SuiteTimer("test_mesh_membership")

# Wall-clock bounds (s). Convergence: 30 joins by push-pull plus gossip;
# detection: probe round + suspicion max (3.5 s) + dissemination, x ~5
# for CPU contention under ASan.
CONVERGE_S = 90
DETECT_S = 30


def setUpModule():
    TIMER.start()


def tearDownModule():
    TIMER.stop()


def log_ts(events):
    return min(e["ts_us"] for e in events) / 1e6 if events else None


class MembershipTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mesh = Mesh(prefix="shoal-members-")
        try:
            t0 = time.monotonic()
            cls.mesh.start(N)
            cls.mesh.wait_converged(timeout=CONVERGE_S)
            cls.converge_s = time.monotonic() - t0
            print(f"\n{N} nodes started and converged in {cls.converge_s:.2f} s", flush=True)
        except BaseException:
            cls.mesh.close()
            raise

    @classmethod
    def tearDownClass(cls):
        reports = cls.mesh.close()
        finish_suite(reports)

    def others(self, victim):
        return [n for n in self.mesh.running() if n is not victim]

    def test_0_bad_flags_exit_2(self):
        import subprocess
        from .mesh import SHOAL_BIN
        shoald = os.path.join(SHOAL_BIN, "shoald")
        d = self.mesh.tmp
        for args in (["--bogus"], ["--data-dir", d, "--bind", "nohost"],
                     ["--data-dir", d, "--profile", "warp"], ["--data-dir", d, "--label", "=x"],
                     ["--data-dir", d, "--join"], ["--data-dir", d, "--api", "1.2.3.4:0:1"]):
            with self.subTest(args=args):
                r = subprocess.run([shoald, *args], capture_output=True, text=True, timeout=20,
                                   stdin=subprocess.DEVNULL)
                self.assertEqual(r.returncode, 2, f"stdout={r.stdout!r} stderr={r.stderr!r}")
                self.assertTrue(r.stderr.strip(), "a message says what is wrong")

    def test_1_converged_everywhere(self):
        names = {n.name for n in self.mesh.nodes}
        for n in self.mesh.nodes:
            ms = n.members()
            self.assertEqual(set(ms), names, f"{n.name} knows exactly the mesh")
            for name, m in ms.items():
                self.assertEqual(m["state"], "alive", f"{n.name} sees {name}")
                self.assertEqual(m["self"], name == n.name)
                self.assertEqual(len(m["public_key"]) > 0, True)
            me = n.self_info()
            self.assertEqual(me["name"], n.name)
            self.assertEqual(me["members"]["alive"], N)
            self.assertEqual(me["members"]["dead"], 0)
            # Labels given on the command line reach every other node.
            self.assertEqual(ms[n.name]["labels"].get("role"), "test")
        # Every node agrees on every member's public key and address.
        first = self.mesh.nodes[0].members()
        for n in self.mesh.nodes[1:]:
            ms = n.members()
            for name, m in first.items():
                self.assertEqual(ms[name]["public_key"], m["public_key"])
                self.assertEqual(ms[name]["address"], m["address"])

    def test_2_sigkill_marks_dead_then_restart_rejoins(self):
        victim = self.mesh.nodes[7]
        old_inc = self.mesh.nodes[0].members()[victim.name]["incarnation"]
        t_kill = time.time()
        victim.kill()
        others = self.others(victim)

        def dead_everywhere():
            for n in others:
                m = n.members().get(victim.name)
                logged = n.events("member_dead", victim.name)
                if not logged and (m is None or m["state"] != "dead"):
                    return False
            return True
        wait_until(dead_everywhere, DETECT_S, f"all {len(others)} live nodes to mark "
                   f"{victim.name} dead", interval=0.2)
        t_all = time.time()
        first_suspect = log_ts([e for n in others for e in n.events("member_suspect",
                                                                      victim.name)])
        last_dead = max(log_ts(n.events("member_dead", victim.name)) or t_all for n in others)
        print(f"\nSIGKILL {victim.name}: first suspicion after "
              f"{(first_suspect - t_kill) if first_suspect else float('nan'):.2f} s, "
              f"dead everywhere after {last_dead - t_kill:.2f} s", flush=True)
        # Nobody else was hurt by the crash.
        for n in others:
            for name, m in n.members().items():
                if name != victim.name:
                    self.assertNotEqual(m["state"], "dead", f"{n.name} sees {name} dead")

        # Restart on the same data dir: same identity, higher incarnation.
        victim.restart().wait_ready()

        def back_everywhere():
            for n in self.mesh.running():
                m = n.members().get(victim.name)
                if m is None or m["state"] != "alive" or m["incarnation"] <= old_inc:
                    return False
            return True
        wait_until(back_everywhere, DETECT_S, f"{victim.name} alive everywhere with "
                   f"incarnation > {old_inc}", interval=0.2)
        keys = {n.members()[victim.name]["public_key"] for n in self.mesh.running()}
        self.assertEqual(len(keys), 1, "one public key for the restarted node everywhere")
        self.assertEqual(victim.self_info()["public_key"], keys.pop(),
                         "the site key was kept in the data dir")

    def test_3_sigterm_is_left_never_dead(self):
        victim = self.mesh.nodes[12]
        wait_until(lambda: self.mesh.converged(), CONVERGE_S, "mesh converged before leave")
        t0 = time.time()
        rc = victim.terminate()
        self.assertEqual(rc, 0, f"shoald exits 0 after SIGTERM; stderr:\n{victim.stderr_tail()}")
        others = self.others(victim)

        def left_everywhere():
            for n in others:
                m = n.members().get(victim.name)
                if not n.events("member_left", victim.name) and (m is None or
                                                                 m["state"] != "left"):
                    return False
            return True
        wait_until(left_everywhere, DETECT_S, f"{victim.name} left everywhere", interval=0.2)
        print(f"\nSIGTERM {victim.name}: left everywhere after {time.time() - t0:.2f} s",
              flush=True)
        # Keep watching for longer than the suspicion timeout: a missed leave
        # would turn into suspect -> dead by now.
        t_end = time.monotonic() + 5
        while time.monotonic() < t_end:
            for n in others:
                m = n.members().get(victim.name)
                self.assertTrue(m is None or m["state"] == "left",
                                f"{n.name} sees {victim.name} as {m and m['state']}")
            time.sleep(0.5)
        for n in others:
            self.assertEqual(n.events("member_dead", victim.name), [],
                             f"{n.name} logged {victim.name} dead after a graceful leave")


if __name__ == "__main__":
    unittest.main()
