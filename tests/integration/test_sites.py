"""Segmentation on a live mesh: site labels (operator and system), a
VirtualSite intent applied with shoalctl, and selector queries answered
identically by every node from the replicated membership.

Four nodes start with region/env labels; two of them discover their system
labels from fixture roots (tests/fixtures/sysroot-aws, sysroot-arm64), so a
selector over sys.shoal.io/ labels is tested with known values. The
VirtualSite is applied to every node (each holds its own signed copy until
intents travel by gossip); its membership must then read the same on each
node, and a fifth node started later with matching labels must join it
everywhere.
"""
import json
import os
import unittest
import urllib.parse

from .mesh import Mesh, SuiteTimer, finish_suite, wait_until

TIMER = SuiteTimer("test_sites")
MESH = None
KEYS = None
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")

VSITE = """apiVersion: shoal.io/v1
kind: VirtualSite
metadata: {name: jp-prod}
spec:
  selector: "region in (jp-north,jp-south),env=prod"
  description: production in Japan
"""


def setUpModule():
    global MESH, KEYS
    TIMER.start()
    MESH = Mesh(prefix="shoal-sites-")
    try:
        KEYS = os.path.join(MESH.tmp, "keys")
        os.makedirs(KEYS)
        r = MESH.shoalctl("keygen", "--out", os.path.join(KEYS, "root"))
        assert r.returncode == 0, r.stderr
        trust = ["--trust", os.path.join(KEYS, "root.pub")]
        specs = [
            ("s1", {"region": "jp-north", "env": "prod"}, "sysroot-aws"),
            ("s2", {"region": "jp-south", "env": "prod"}, "sysroot-arm64"),
            ("s3", {"region": "jp-south", "env": "dev"}, None),
            ("s4", {"region": "eu-west", "env": "prod"}, None),
        ]
        for name, labels, root in specs:
            extra = list(trust) + ["--annotation", f"note=site {name}, rack 4"]
            if root:
                extra += ["--sysroot", os.path.join(FIXTURES, root)]
            MESH.add(name, labels=labels, extra_args=extra)
        for n in MESH.nodes:
            n.wait_ready()
        MESH.wait_converged(timeout=60)
    except BaseException:
        MESH.close()
        raise


def tearDownModule():
    finish_suite(MESH.close() if MESH else [], TIMER)


def ctl(node, *args):
    return MESH.shoalctl("--node", node.api_addr, *args)


def site_names(node, *args):
    r = ctl(node, "get", "sites", *args, "-o", "json")
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    body = json.loads(r.stdout)
    assert body["count"] == len(body["sites"])
    return [s["name"] for s in body["sites"]]


class Sites(unittest.TestCase):
    def test_1_system_labels_and_annotations(self):
        s1 = MESH.nodes[0].self_info()
        self.assertEqual(s1["labels"]["sys.shoal.io/cloud"], "aws")
        self.assertEqual(s1["labels"]["sys.shoal.io/cpus"], "2")
        self.assertEqual(s1["labels"]["region"], "jp-north")
        self.assertEqual(s1["annotations"]["note"], "site s1, rack 4")
        self.assertEqual(s1["annotations"]["sys.shoal.io/hw-vendor"], "Amazon EC2")
        # Every node sees s2's discovered labels in its member record.
        for n in MESH.nodes:
            m = wait_until(lambda: n.members().get("s2"), 10, "s2 known")
            self.assertEqual(m["labels"]["sys.shoal.io/arch"], "arm64")
            self.assertNotIn("annotations", m if n.name != "s2" else {})
        mine = MESH.nodes[0].members()["s1"]
        self.assertEqual(mine["annotations"]["note"], "site s1, rack 4")

    def test_2_selector_everywhere(self):
        want = {
            "env=prod": ["s1", "s2", "s4"],
            "region in (jp-north,jp-south),env!=dev": ["s1", "s2"],
            "sys.shoal.io/arch=arm64": ["s2"],
            "sys.shoal.io/cloud": ["s1"],
            "!sys.shoal.io/cloud,env=prod": ["s2", "s4"],
            "": ["s1", "s2", "s3", "s4"],
        }
        for sel, names in want.items():
            for n in MESH.nodes:
                got = wait_until(lambda: (lambda x: x if x == names else None)(
                    site_names(n, "-l", sel)), 10, f"{sel!r} on {n.name}")
                self.assertEqual(got, names)

    def test_3_bad_selector(self):
        n = MESH.nodes[0]
        q = urllib.parse.quote("region in (jp")
        st, body = n.api("/v1/sites?selector=" + q)
        self.assertEqual(st, 400)
        self.assertEqual(body["error"], "bad_selector")
        self.assertIn("selector: position", body["reason"])
        r = ctl(n, "get", "sites", "-l", "Bad Key=x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad_selector", r.stderr)
        st, body = n.api("/v1/virtual-sites/nope")
        self.assertEqual(st, 404)
        self.assertIn("no virtual site nope", body["reason"])

    def test_4_virtual_site_on_every_node_and_late_joiner(self):
        f = os.path.join(MESH.tmp, "vsite.yaml")
        with open(f, "w") as fh:
            fh.write(VSITE)
        for n in MESH.nodes:
            r = ctl(n, "apply", "-f", f, "--key", os.path.join(KEYS, "root.key"), "--force")
            self.assertEqual(r.returncode, 0, r.stderr)
        for n in MESH.nodes:
            self.assertEqual(site_names(n, "--virtual-site", "jp-prod"), ["s1", "s2"])
            st, body = n.api("/v1/virtual-sites/jp-prod")
            self.assertEqual(st, 200)
            self.assertEqual(body["selector"], "env=prod,region in (jp-north,jp-south)")
            self.assertEqual(body["count"], 2)
        r = ctl(MESH.nodes[2], "get", "sites", "--virtual-site", "jp-prod")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[0].split(), ["NAME", "ADDRESS", "STATE", "LABELS"])
        self.assertEqual([ln.split()[0] for ln in r.stdout.splitlines()[1:]], ["s1", "s2"])

        late = MESH.add("s5", labels={"region": "jp-north", "env": "prod"},
                        extra_args=["--trust", os.path.join(KEYS, "root.pub")])
        late.wait_ready()
        for n in MESH.nodes[:4]:
            wait_until(lambda: site_names(n, "--virtual-site", "jp-prod") == ["s1", "s2", "s5"],
                       20, f"s5 in jp-prod on {n.name}")


if __name__ == "__main__":
    unittest.main()
