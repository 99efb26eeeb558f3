"""Keys and identities across a real mesh.

- a node with the wrong cluster key is never admitted, and what it sends
  shows up as auth failures in /metrics;
- a node claiming another's name with its own site key is refused: the
  original keeps its public key and address everywhere, name_conflict is
  logged;
- keyring rotation via shoalctl (install, use, remove) while two nodes are
  down; the down nodes cannot get back in with the old key, and each of the
  two documented procedures brings one back (new key in its keyring file +
  restart; or `keyring install` + `keyring use` on its own loopback API);
- the keyring endpoints refuse a client that is not on loopback.

The mesh has the full 30 nodes: on the fast profile the whole suite takes
about 20 s even under ASan, so there is no reason to test rotation on a
smaller mesh than the one the membership suite uses.

Loopback is all of 127.0.0.0/8, so a non-loopback client needs another
address: when network namespaces are available (root), the test makes one
with a veth pair on 198.18.0.0/15 (the benchmarking range, RFC 2544), binds
a node's API on all addresses and calls it from inside the namespace. Without
that the test is skipped and says why.
"""
import os
import shutil
import subprocess
import time
import unittest

from . import wire
from .mesh import Mesh, SuiteTimer, finish_suite, new_key, read_keyring, wait_until, write_keyring

N = 30
TIMER = SuiteTimer("test_mesh_security")
SETTLE_S = 4.0  # > one fast push-pull period (3 s): a join retry has happened


def setUpModule():
    TIMER.start()


def tearDownModule():
    TIMER.stop()


def auth_failures(node):
    return node.metric("shoal_auth_failures_total")


class SecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mesh = Mesh(prefix="shoal-sec-")
        try:
            cls.mesh.start(N)
            cls.mesh.wait_converged(timeout=60)
        except BaseException:
            cls.mesh.close()
            raise
        cls.core = list(cls.mesh.nodes)  # the N original nodes

    @classmethod
    def tearDownClass(cls):
        reports = cls.mesh.close()
        finish_suite(reports)

    def live_core(self):
        return [n for n in self.core if n.running]

    def test_1_wrong_key_never_admitted(self):
        seed = self.core[0]
        before = auth_failures(seed)
        intruder = self.mesh.add(name="intruder", keys=[new_key()], join=[seed])
        try:
            intruder.wait_ready()
            wait_until(lambda: auth_failures(seed) > before, 10,
                       "the seed to count the intruder's join as an auth failure")
            # A datagram sealed with the intruder's key, straight to a member.
            wrong = wire.seal(read_keyring(intruder.keyring)[0],
                              wire.datagram(wire.ping(1, seed.name, "intruder")))
            before_udp = auth_failures(seed)
            wire.send_udp(seed.gossip_port, [wrong] * 20, pace=0.002)
            wait_until(lambda: auth_failures(seed) >= before_udp + 20, 5,
                       "20 wrong-key datagrams counted as auth failures")
            time.sleep(SETTLE_S)
            for n in self.live_core():
                self.assertNotIn("intruder", n.members(), f"{n.name} admitted the intruder")
            self.assertEqual(set(intruder.members()), {"intruder"},
                             "the intruder learned nothing about the mesh")
        finally:
            intruder.kill()

    def test_2_name_impersonation_refused(self):
        target = self.core[3]
        orig = target.self_info()
        impostor = self.mesh.add(name=target.name, join=[self.core[5]])
        try:
            impostor.wait_ready()
            fake_pk = impostor.self_info()["public_key"]
            self.assertNotEqual(fake_pk, orig["public_key"], "fresh data dir, new site key")
            conflicts = lambda: [n.name for n in self.live_core()
                                 if n.events("name_conflict", target.name)]
            wait_until(conflicts, 10, "a name_conflict logged about " + target.name)
            time.sleep(SETTLE_S)
            for n in self.live_core():
                m = n.members()[target.name]
                self.assertEqual(m["public_key"], orig["public_key"],
                                 f"{n.name} holds the impostor's key")
                self.assertEqual(m["address"], target.gossip, f"{n.name} moved the name")
                self.assertEqual(m["state"], "alive", f"{n.name} sees the original")
            counted = sum(n.metric("shoal_name_conflicts_total") for n in self.live_core())
            self.assertGreater(counted, 0, "name conflicts counted in /metrics")
            print(f"\nname_conflict logged by {len(conflicts())} of {N} nodes, "
                  f"{int(counted)} counted", flush=True)
        finally:
            impostor.kill()

    def ctl(self, *args, node):
        r = self.mesh.shoalctl(*args, "--node", node.api_addr)
        self.assertEqual(r.returncode, 0, f"shoalctl {' '.join(args)}: {r.stderr}")
        return r

    def everywhere(self, pred, what, nodes=None, timeout=15):
        nodes = nodes if nodes is not None else self.live_core()
        wait_until(lambda: all(pred(n) for n in nodes), timeout, what, interval=0.2)

    def test_3_keyring_rotation_with_nodes_down(self):
        old = self.mesh.key
        by_file, by_api = self.core[8], self.core[9]
        self.assertEqual(by_file.terminate(), 0)
        self.assertEqual(by_api.terminate(), 0)
        up = self.live_core()
        self.assertEqual(len(up), N - 2)
        entry = up[0]
        new = self.mesh.shoalctl("keyring", "generate").stdout.strip()

        self.ctl("keyring", "install", new, node=entry)
        self.everywhere(lambda n: n.keys() == [(old, True), (new, False)],
                        "the new key installed (not primary) on every live node")
        self.everywhere(lambda n: read_keyring(n.keyring) == [old, new],
                        "keyring files rewritten with both keys")

        self.ctl("keyring", "use", new, node=up[3])  # any node can take the op
        self.everywhere(lambda n: n.keys()[0] == (new, True),
                        "the new key primary on every live node")
        self.everywhere(lambda n: read_keyring(n.keyring)[0] == new,
                        "keyring files list the new key first")
        # Every live node now seals with the new key: what they send each
        # other opens with it (checked on the wire when we may capture).
        if wire.can_capture():
            time.sleep(0.5)  # packets sealed just before the op may still be in flight
            with wire.Capture([n.gossip_port for n in up]) as cap:
                time.sleep(1.5)
            pkts = [p for _, _, p in cap.packets]
            self.assertGreater(len(pkts), 20, "the mesh kept talking")
            print(f"\nrotation: {len(pkts)} captured datagrams checked for the new key",
                  flush=True)
            not_new = [p for p in pkts if wire.open_sealed(new, p) is None]
            self.assertEqual(not_new, [], f"{len(not_new)} of {len(pkts)} datagrams "
                             "were not sealed with the new primary key")
        else:
            print("\n(no AF_PACKET capture: sealing key checked only through removal)")

        self.ctl("keyring", "remove", old, node=up[5])
        self.everywhere(lambda n: n.keys() == [(new, True)], "the old key gone everywhere")
        self.everywhere(lambda n: read_keyring(n.keyring) == [new],
                        "keyring files hold only the new key")
        time.sleep(1.0)
        self.assertTrue(self.mesh.converged(up), "the live mesh is healthy on the new key")

        # The down nodes come back with the old keyring: locked out.
        fails_before = auth_failures(by_file.join[0])
        for n in (by_file, by_api):
            self.assertEqual(read_keyring(n.keyring), [old])
            n.restart().wait_ready()
        wait_until(lambda: auth_failures(by_file.join[0]) > fails_before, 10,
                   "the old-key node's join counted as an auth failure")
        time.sleep(SETTLE_S)
        for n in up:
            ms = n.members()
            for out in (by_file, by_api):
                m = ms.get(out.name)
                self.assertTrue(m is None or m["state"] != "alive",
                                f"{n.name} sees locked-out {out.name} alive")

        # Procedure 1: put the new key in its keyring file and restart.
        by_file.kill()
        write_keyring(by_file.keyring, [new])
        by_file.restart().wait_ready()
        # Procedure 2: install and use the new key through its own loopback API.
        self.ctl("keyring", "install", new, node=by_api)
        self.ctl("keyring", "use", new, node=by_api)
        wait_until(lambda: self.mesh.converged(self.live_core()), 30,
                   "both nodes back in the mesh")
        self.assertEqual(len(self.live_core()), N)
        self.mesh.key = new

    @unittest.skipUnless(shutil.which("ip") and os.geteuid() == 0,
                         "needs root and iproute2 for a network namespace")
    def test_4_keyring_endpoints_loopback_only(self):
        ns = f"shoal-it-{os.getpid()}"
        host_if, ns_if = f"sh{os.getpid() % 100000}h", f"sh{os.getpid() % 100000}n"
        host_ip, ns_ip = "198.18.91.1", "198.18.91.2"
        setup = [
            ["ip", "netns", "add", ns],
            ["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns],
            ["ip", "addr", "add", host_ip + "/30", "dev", host_if],
            ["ip", "link", "set", host_if, "up"],
            ["ip", "netns", "exec", ns, "ip", "addr", "add", ns_ip + "/30", "dev", ns_if],
            ["ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up"],
        ]
        try:
            for cmd in setup:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
                if r.returncode != 0:
                    self.skipTest(f"cannot build a network namespace: {' '.join(cmd)}: "
                                  f"{r.stderr.strip()}")
            # Bound on every address: the harness calls it through 127.0.0.1,
            # the namespace through the veth address.
            node = self.mesh.add(name="apinode", join=[self.core[0]], api_bind="0.0.0.0")
            try:
                node.wait_ready()
                # From loopback: allowed.
                st, body = node.api("/v1/keyring")
                self.assertEqual(st, 200, body)
                # From the namespace (source 198.18.91.2): reads work, keyring refused.
                client = (
                    "import http.client,json,sys\n"
                    "def call(m,p,b=None):\n"
                    f"  c=http.client.HTTPConnection('{host_ip}',{node.api_port},timeout=5)\n"
                    "  c.request(m,p,body=json.dumps(b) if b else None,"
                    "headers={'Content-Type':'application/json'})\n"
                    "  r=c.getresponse(); return r.status\n"
                    f"print(call('GET','/healthz'),call('GET','/v1/keyring'),"
                    f"call('POST','/v1/keyring/install',{{'key':'{new_key()}'}}))\n")
                r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", client],
                                   capture_output=True, text=True, timeout=20)
                self.assertEqual(r.returncode, 0, r.stderr)
                health, kr_get, kr_post = (int(x) for x in r.stdout.split())
                self.assertEqual(health, 200, "the API answers the namespace")
                self.assertEqual(kr_get, 403, "GET /v1/keyring refused off loopback")
                self.assertEqual(kr_post, 403, "POST /v1/keyring/install refused off loopback")
                self.assertEqual(len(node.keys()), 1, "nothing was installed")
            finally:
                node.kill()
        finally:
            subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=10)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


if __name__ == "__main__":
    unittest.main()
