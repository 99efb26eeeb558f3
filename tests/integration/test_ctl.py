"""shoalctl against a real 3-node mesh: output formats, exit codes, errors.

Exit codes are a contract (0 ok, 1 operation failed, 2 bad command line),
so each is checked on real cases; the JSON output must be the API's body,
and the table must have one row per member.
"""
import base64
import json
import time
import unittest

from .mesh import (Mesh, Ports, SuiteTimer, finish_suite, new_key, read_keyring,
                   wait_until)

TIMER = SuiteTimer("test_ctl")
MESH = None


def setUpModule():
    global MESH
    TIMER.start()
    MESH = Mesh(prefix="shoal-ctl-")
    try:
        MESH.start(3)
        MESH.wait_converged(timeout=30)
    except BaseException:
        MESH.close()
        raise


def tearDownModule():
    finish_suite(MESH.close() if MESH else [], TIMER)


class CtlTest(unittest.TestCase):
    def ctl(self, *args, env=None):
        return MESH.shoalctl(*args, env=env)

    def node(self, i=0):
        return MESH.nodes[i]

    def test_members_json_is_the_api_body(self):
        n = self.node(0)
        # The mesh is converged and idle, so two reads a moment apart agree;
        # retry a few times in case a refresh lands between them.
        def same():
            r = self.ctl("members", "-o", "json", "--node", n.api_addr)
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout) == n.get("/v1/members")
        wait_until(same, 10, "shoalctl members -o json == GET /v1/members")

    def test_members_table_one_row_per_member(self):
        n = self.node(1)
        r = self.ctl("members", "--node", n.api_addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.strip().splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "ADDRESS", "STATE", "INC", "LABELS", "AGE"])
        rows = [ln.split() for ln in lines[1:]]
        members = n.members()
        self.assertEqual(len(rows), len(members))
        self.assertEqual(sorted(r[0] for r in rows), sorted(members))
        for row in rows:
            m = members[row[0]]
            self.assertEqual(row[1], m["address"])
            self.assertEqual(row[2], m["state"])
            self.assertEqual(int(row[3]), m["incarnation"])
            # The table leaves out the labels shoald sets itself (-o json has them).
            labels = ",".join(f"{k}={v}" for k, v in sorted(m["labels"].items())
                              if not k.startswith("sys.shoal.io/")) or "-"
            self.assertEqual(row[4], labels)
        self.assertEqual([r[0] for r in rows], sorted(r[0] for r in rows), "sorted by name")

    def test_global_flags_and_env(self):
        n = self.node(2)
        r = self.ctl("--node", n.api_addr, "-o", "json", "members")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("members", json.loads(r.stdout))
        r = self.ctl("members", "-o", "json", env={"SHOAL_NODE": n.api_addr})
        self.assertEqual(r.returncode, 0, r.stderr)
        me = [m for m in json.loads(r.stdout)["members"] if m["self"]]
        self.assertEqual([m["name"] for m in me], [n.name], "SHOAL_NODE chose the node")
        # --node wins over SHOAL_NODE.
        other = self.node(0)
        r = self.ctl("members", "-o", "json", "--node", other.api_addr,
                     env={"SHOAL_NODE": n.api_addr})
        me = [m for m in json.loads(r.stdout)["members"] if m["self"]]
        self.assertEqual([m["name"] for m in me], [other.name])

    def test_bad_arguments_exit_2(self):
        n = self.node(0)
        cases = [
            [],
            ["bogus"],
            ["members", "extra"],
            ["members", "-o", "yaml", "--node", n.api_addr],
            ["members", "-o"],
            ["members", "--node"],
            ["members", "--node", "not a host"],
            ["members", "--node", "127.0.0.1:99999"],
            ["members", "--bogus"],
            ["members", "--timeout", "0"],
            ["keyring"],
            ["keyring", "bogus"],
            ["keyring", "install"],
            ["keyring", "install", "not-a-key", "--node", n.api_addr],
            ["keyring", "install", base64.b64encode(b"x" * 31).decode(), "--node", n.api_addr],
            ["keyring", "use", new_key(), new_key()],
            ["keyring", "generate", "--node", n.api_addr],
            ["keyring", "generate", "extra"],
            ["version", "extra"],
            ["help", "nosuchcommand"],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = self.ctl(*args)
                self.assertEqual(r.returncode, 2, f"stdout={r.stdout!r} stderr={r.stderr!r}")
                self.assertTrue(r.stderr.strip(), "a message on stderr")
                self.assertEqual(r.stdout, "", "nothing on stdout")
        r = self.ctl(env={"SHOAL_NODE": "bad host"})
        self.assertEqual(r.returncode, 2)

    def test_unreachable_node_exit_1(self):
        port = Ports.free()  # nothing listens there
        addr = f"127.0.0.1:{port}"
        for args in (["members"], ["keyring", "list"], ["keyring", "install", new_key()]):
            with self.subTest(args=args):
                t0 = time.monotonic()
                r = self.ctl(*args, "--node", addr)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(addr, r.stderr)
                self.assertIn("connection refused", r.stderr)
                self.assertLess(time.monotonic() - t0, 10)

    def test_help_and_version(self):
        r = self.ctl("help")
        self.assertEqual(r.returncode, 0)
        for word in ("members", "keyring", "version"):
            self.assertIn(word, r.stdout)
        r = self.ctl("help", "keyring")
        self.assertEqual(r.returncode, 0)
        self.assertIn("keyring install KEY", r.stdout)
        r = self.ctl("members", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: shoalctl members", r.stdout)
        r = self.ctl("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^shoalctl \S+\n$")

    def test_keyring_generate(self):
        seen = set()
        for _ in range(3):
            r = self.ctl("keyring", "generate")
            self.assertEqual(r.returncode, 0, r.stderr)
            text = r.stdout.strip()
            self.assertEqual(len(base64.b64decode(text, validate=True)), 32)
            seen.add(text)
        self.assertEqual(len(seen), 3, "every key is new")

    def test_keyring_list_install_use_remove(self):
        n = self.node(0)
        old = MESH.key
        r = self.ctl("keyring", "list", "-o", "json", "--node", n.api_addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), n.get("/v1/keyring"))
        self.assertEqual(n.keys(), [(old, True)])

        new = self.ctl("keyring", "generate").stdout.strip()
        r = self.ctl("keyring", "install", new, "--node", n.api_addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(new, r.stdout)
        # Fleet-wide: every node gets it, and persists it in its keyring file.
        wait_until(lambda: all(dict(m.keys()).get(new) is False for m in MESH.nodes), 10,
                   "the installed key on every node")
        wait_until(lambda: all(new in read_keyring(m.keyring) for m in MESH.nodes), 10,
                   "the installed key in every keyring file")

        # API errors are exit 1 with the node's reason.
        r = self.ctl("keyring", "remove", old, "--node", n.api_addr)
        self.assertEqual(r.returncode, 1, "removing the primary is refused")
        self.assertIn("409", r.stderr)
        r = self.ctl("keyring", "use", new_key(), "--node", n.api_addr)
        self.assertEqual(r.returncode, 1, "using an unknown key is refused")
        self.assertIn("404", r.stderr)

        r = self.ctl("keyring", "use", new, "-o", "json", "--node", n.api_addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        body = json.loads(r.stdout)
        self.assertEqual([k["key"] for k in body["keys"] if k["primary"]], [new])
        wait_until(lambda: all(dict(m.keys()).get(new) is True for m in MESH.nodes), 10,
                   "the new key primary on every node")
        r = self.ctl("keyring", "remove", old, "--node", n.api_addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: all(m.keys() == [(new, True)] for m in MESH.nodes), 10,
                   "the old key gone from every node")
        wait_until(lambda: all(read_keyring(m.keyring) == [new] for m in MESH.nodes), 10,
                   "every keyring file holding only the new key")
        MESH.key = new
        # The mesh still works under the new key.
        time.sleep(1.0)
        self.assertTrue(MESH.converged())

    def test_keyring_api_error_bodies(self):
        """The API side of shoalctl's error handling: status codes and the
        {"error", "reason"} body the contract promises."""
        n = self.node(0)
        cases = [
            ("/v1/keyring/install", {"key": "not base64!"}, 400),
            ("/v1/keyring/install", {"key": base64.b64encode(b"x" * 16).decode()}, 400),
            ("/v1/keyring/install", {"nokey": 1}, 400),
            ("/v1/keyring/use", {"key": new_key()}, 404),
            ("/v1/keyring/remove", {"key": new_key()}, 404),
            ("/v1/keyring/remove", {"key": n.keys()[0][0]}, 409),
        ]
        for path, body, status in cases:
            with self.subTest(path=path, body=body):
                st, resp = n.api(path, method="POST", body=body)
                self.assertEqual(st, status, resp)
                self.assertIsInstance(resp, dict)
                self.assertIsInstance(resp.get("error"), str)
                self.assertIsInstance(resp.get("reason"), str)
        st, resp = n.api("/v1/nosuchpath")
        self.assertEqual(st, 404)
        self.assertIn("error", resp)

    def test_api_errors_reach_the_user(self):
        n = self.node(0)
        r = self.ctl("keyring", "remove", new_key(), "--node", n.api_addr)
        self.assertEqual(r.returncode, 1)
        self.assertIn(n.api_addr, r.stderr)
        self.assertIn("HTTP 404", r.stderr)


if __name__ == "__main__":
    unittest.main()
