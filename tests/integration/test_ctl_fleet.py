"""shoalctl's fleet commands against a live mesh: status, top sites, wait.

Four nodes (three env=prod, one env=dev) publish their health records; any
node answers for the fleet from its replicated table, so the commands are
pointed at different nodes and compared with the API's own answers
(GET /v1/fleet, /v1/fleet/sites). An App intent targeting env=prod is
applied on one node: `wait` reports the counts and states the node's API
gives, and returns once every prod site's record holds the version (when
shoald has a reconciler publishing per-intent states); an intent nobody
applied times out with exit 1; bad command lines, the node's refusal of a selector included,
exit 2 with nothing on stdout.
"""
import json
import os
import re
import time
import unittest
import urllib.parse

from .mesh import Mesh, SuiteTimer, finish_suite, wait_until

TIMER = SuiteTimer("test_ctl_fleet")
MESH = None
KEYS = None

APP = """apiVersion: shoal.io/v1
kind: App
metadata: {name: kuard}
spec:
  target: {selector: "env=prod"}
  manifests: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: kuard
"""

PROD = ["s1", "s2", "s3"]
ALL = ["s1", "s2", "s3", "s4"]


def setUpModule():
    global MESH, KEYS
    TIMER.start()
    MESH = Mesh(prefix="shoal-ctlfleet-")
    try:
        KEYS = os.path.join(MESH.tmp, "keys")
        os.makedirs(KEYS)
        r = MESH.shoalctl("keygen", "--out", os.path.join(KEYS, "root"))
        assert r.returncode == 0, r.stderr
        trust = ["--trust", os.path.join(KEYS, "root.pub")]
        for name in ALL:
            env = "dev" if name == "s4" else "prod"
            MESH.add(name, labels={"env": env, "region": "jp"}, extra_args=trust)
        for n in MESH.nodes:
            n.wait_ready()
        MESH.wait_converged(timeout=60)
        # Every node holds a fresh record of every site.
        for n in MESH.nodes:
            wait_until(lambda: fleet(n)["sites"]["total"] == 4 and fresh(fleet(n)) == 4, 60,
                       f"4 fresh sites on {n.name}", interval=0.25)
    except BaseException:
        MESH.close()
        raise


def tearDownModule():
    finish_suite(MESH.close() if MESH else [], TIMER)


def fleet(node, selector=""):
    st, body = node.api("/v1/fleet?selector=" + urllib.parse.quote(selector))
    assert st == 200, body
    return body


def fresh(body):
    return sum(body["sites"][b] for b in ("green", "orange", "red"))


def ctl(node, *args, **kw):
    return MESH.shoalctl("--node", node.api_addr, *args, **kw)


def ok(r):
    if r.returncode != 0:
        raise AssertionError(f"exit {r.returncode}: {r.stderr}")
    return r.stdout


class FleetCtl(unittest.TestCase):
    def test_1_status_counts_and_bands(self):
        n = MESH.nodes[1]
        for sel, total in (("env=prod", 3), ("", 4), ("env=dev", 1)):
            with self.subTest(selector=sel):
                # The same moment for both: retry until the API agrees before and after.
                def read():
                    before = fleet(n, sel)
                    out = ok(ctl(n, "status", *(["-l", sel] if sel else [])))
                    after = fleet(n, sel)
                    return (out, after) if before["sites"] == after["sites"] else None
                out, body = wait_until(read, 10, "a stable fleet answer")
                self.assertNotIn("\033", out, "no colour when stdout is not a terminal")
                lines = out.splitlines()
                self.assertTrue(lines[0].startswith(f"FLEET    {total} site"), lines[0])
                if sel:
                    self.assertIn(f"selector {sel}", lines[0])
                counts = dict((m.group(1), int(m.group(2)))
                              for m in re.finditer(r"(green|orange|red|stale|unreachable|"
                                                   r"unknown) (\d+)", lines[2]))
                want = {k: body["sites"][k] for k in counts}
                self.assertEqual(counts, want)
                self.assertEqual(sum(counts.values()), total)
                self.assertEqual(body["sites"]["total"], total)
                bar = lines[1][lines[1].index("[") + 1:lines[1].index("]")]
                self.assertEqual(len(bar), 40)
                self.assertEqual(bar.count("#") > 0, body["sites"]["green"] > 0)
                for row in ("CPU", "MEMORY", "DISK", "PODS", "LINKS", "ALERTS"):
                    self.assertTrue(any(ln.startswith(row) for ln in lines), row)

    def test_2_status_json_is_the_api_answer(self):
        n = MESH.nodes[2]
        out = ok(ctl(n, "status", "-o", "json", "-l", "env=prod"))
        body = json.loads(out)
        self.assertEqual(body["selector"], "env=prod")
        self.assertEqual(body["sites"]["total"], 3)
        self.assertEqual(set(body), set(fleet(n, "env=prod")))

    def test_3_top_sites_lists_every_node(self):
        n = MESH.nodes[3]
        out = ok(ctl(n, "top", "sites", "--sort", "name"))
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "STATE", "VIEW", "BAND", "SCORE", "CPU%",
                                            "MEM%", "DISK%", "LOSS", "RTT99", "INTENTS", "AGE"])
        rows = [ln.split() for ln in lines[1:]]
        self.assertEqual([r[0] for r in rows], ALL)
        st, body = n.api("/v1/fleet/sites")
        self.assertEqual(st, 200)
        by_name = {s["name"]: s for s in body["sites"]}
        for r in rows:
            s = by_name[r[0]]
            self.assertEqual(r[1], s["state"])
            self.assertEqual(r[2], s["view"])
            self.assertEqual(r[3], s["band"] or "-")
        # Selector, limit, other sorts, JSON.
        rows = ok(ctl(n, "top", "sites", "-l", "env=prod", "--sort", "name")).splitlines()[1:]
        self.assertEqual([r.split()[0] for r in rows], PROD)
        rows = ok(ctl(n, "top", "sites", "--limit", "2", "--sort", "mem")).splitlines()[1:]
        self.assertEqual(len(rows), 2)
        body = json.loads(ok(ctl(n, "top", "sites", "--sort", "name", "-o", "json")))
        self.assertEqual([s["name"] for s in body["sites"]], ALL)
        for key in ("score", "cpu", "disk", "loss"):
            rows = ok(ctl(n, "top", "sites", "--sort", key)).splitlines()[1:]
            self.assertEqual(sorted(r.split()[0] for r in rows), ALL, key)

    def test_4_wait_reports_what_the_fleet_says(self):
        f = os.path.join(MESH.tmp, "app.yaml")
        with open(f, "w") as fh:
            fh.write(APP)
        ok(ctl(MESH.nodes[0], "apply", "-f", f, "--key", os.path.join(KEYS, "root.key")))
        # Asked of another node than the one applied to: the intent travels first,
        # and until it arrives wait says so and keeps waiting.
        n = MESH.nodes[3]

        def kuard():
            its = [i for i in fleet(n)["intents"] if i["kind"] == "App" and i["name"] == "kuard"]
            return its[0] if its else None
        it = wait_until(kuard, 20, "App/kuard in node s4's fleet answer")
        self.assertEqual(it["selected"], 3, "env=prod selects s1, s2 and s3")
        r = ctl(n, "wait", "App/kuard", "--timeout", "2s")
        after = kuard()
        if r.returncode == 0:
            # Replicated, and (no cluster here) pending on every site.
            self.assertEqual(r.stdout.strip().splitlines()[-1],
                             "App/kuard: 3/3 sites replicated (3 pending)")
            self.assertEqual(after["replicated"], 3)
        else:
            # Not there yet: the message gives the node's counts and the states
            # not there yet, the same as the API's a moment later (the fleet is idle).
            self.assertEqual(r.returncode, 1, r.stderr)
            m = re.search(r"timed out after 2s .*: (\d+)/(\d+) sites replicated(?: \((.*)\))?$",
                          r.stderr.strip())
            self.assertIsNotNone(m, r.stderr)
            self.assertEqual((int(m.group(1)), int(m.group(2))),
                             (after["replicated"], after["selected"]))
            listed = dict((k, int(v)) for v, k in (x.split(" ") for x in
                                                   (m.group(3) or "").split(", ") if x))
            want = {k: v for k, v in after["states"].items() if v and k != "ready"}
            self.assertEqual(listed, want)
        # Narrowed by a selector the intent does not select: nothing to wait for.
        r = ctl(MESH.nodes[2], "wait", "app/kuard", "-l", "env=dev", "--timeout", "1s")
        self.assertEqual(r.returncode, 1)
        self.assertIn("selects no site", r.stderr)
        # status lists it with the same counts.
        out = ok(ctl(n, "status"))
        row = [ln.split() for ln in out.splitlines() if ln.startswith("App ")][0]
        after = kuard()
        self.assertEqual(row[:4], ["App", "kuard",
                                   f"{after['states']['ready']}/{after['selected']}",
                                   f"{after['replicated']}/{after['selected']}"])

    def test_4b_wait_replicated_returns_once_sites_hold_it(self):
        # A site's record lists an intent once the site's reconciler has taken
        # it up (GET /v1/self/intents shows those states); a shoald without one
        # never lists it, and "replicated" cannot reach the selected count.
        st, _ = MESH.nodes[0].api("/v1/self/intents")
        if st == 404:
            self.skipTest("this shoald has no reconciler writing per-intent site states "
                          "(GET /v1/self/intents)")
        t0 = time.monotonic()
        r = ctl(MESH.nodes[3], "wait", "App/kuard", "--for", "replicated", "--timeout", "60s",
                timeout=90)
        self.assertEqual(r.returncode, 0, f"stdout={r.stdout!r} stderr={r.stderr!r}")
        self.assertEqual(r.stdout.strip().splitlines()[-1].split(" (")[0],
                         "App/kuard: 3/3 sites replicated")
        print(f"\n  wait --for replicated: {time.monotonic() - t0:.1f} s to 3/3", flush=True)

    def test_5_wait_for_an_intent_nobody_applied_times_out(self):
        t0 = time.monotonic()
        r = ctl(MESH.nodes[0], "wait", "App/nope", "--timeout", "2s")
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("timed out after 2s", r.stderr)
        self.assertIn("not held by this node", r.stderr)
        self.assertIn("App/nope: not held by this node (yet)", r.stdout)
        self.assertGreaterEqual(took, 2.0)
        self.assertLess(took, 10.0)

    def test_6_bad_arguments_exit_2(self):
        n = MESH.nodes[0]
        cases = [
            ["status", "extra"],
            ["status", "-o", "yaml"],
            ["status", "-l"],
            ["status", "-l", "Bad Key=x"],
            ["status", "-l", "region in (jp"],
            ["top"],
            ["top", "nodes"],
            ["top", "sites", "--sort", "bogus"],
            ["top", "sites", "--limit", "0"],
            ["top", "sites", "--limit", "x"],
            ["top", "sites", "-l", "Bad Key=x"],
            ["wait"],
            ["wait", "kuard"],
            ["wait", "App/"],
            ["wait", "App/Bad_Name"],
            ["wait", "VirtualSite/jp"],
            ["wait", "App/kuard", "extra"],
            ["wait", "App/kuard", "--for", "done"],
            ["wait", "App/kuard", "--timeout", "10"],
            ["wait", "App/kuard", "--timeout", "5x"],
            ["wait", "App/kuard", "--timeout", "25h"],
            ["wait", "App/kuard", "-o", "json"],
            ["wait", "App/kuard", "-l", "Bad Key=x"],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = ctl(n, *args)
                self.assertEqual(r.returncode, 2, f"stdout={r.stdout!r} stderr={r.stderr!r}")
                self.assertTrue(r.stderr.strip(), "a message on stderr")
                self.assertEqual(r.stdout, "", "nothing on stdout")
        r = ctl(n, "status", "-l", "Bad Key=x")
        self.assertIn("bad_selector", r.stderr)

    def test_7_unreachable_node_exit_1(self):
        r = MESH.shoalctl("--node", "127.0.0.1:1", "wait", "App/kuard", "--timeout", "5s")
        self.assertEqual(r.returncode, 1)
        self.assertIn("127.0.0.1:1", r.stderr)
        r = MESH.shoalctl("--node", "127.0.0.1:1", "status")
        self.assertEqual(r.returncode, 1)


if __name__ == "__main__":
    unittest.main()
