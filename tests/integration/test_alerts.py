"""AlertRule intents on a live mesh: judged on each site and over the fleet,
shown by every node, and delivered to a webhook by one chosen live node.

Five shoald (fast profile) with --sysroot trees: four read the `idle`
/proc fixture (memory 25 % used), one, "hot", a copy of the `busy` one
(95 %), which the test rewrites later to end the episode. A Python
receiver on loopback (http.server in a thread) records every POST and
answers 200 or, when told to, 500.

Checked here:
- a malformed expr, `for` or webhook is refused at the API (shoalctl apply
  exits non-zero with the parser's reason) and nothing is stored;
- a per-site rule `mem > 90` fires for "hot" only, listed in its record and
  shown by /v1/fleet and /v1/alerts on every node;
- a fleet-wide rule `count(mem > 90) >= 1` fires on every node with its
  count;
- the webhook gets the firing POST from the node that rendezvous hashing
  names (computed here independently) with an Idempotency-Key header equal
  to the body's key, and from no other node;
- with the receiver answering 500, SIGKILL of the delivering node: another
  node takes over and delivers the same episode under the same key;
- when the memory falls, each rule sends "resolved" once.
"""
import hashlib
import http.server
import json
import os
import shutil
import threading
import time
import unittest

from .mesh import Mesh, Ports, SuiteTimer, finish_suite, wait_until

TIMER = SuiteTimer("test_alerts")
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "proc")
NAMES = ["a0", "a1", "a2", "a3", "hot"]
HOT = "hot"
MESH = None
KEYS = None
HOT_ROOT = None
RECEIVER = None


class Receiver:
    """A webhook receiver: every POST recorded, answered with `status`."""

    def __init__(self):
        self.status = 200
        self.posts = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                with outer.lock:
                    status = outer.status
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = None
                    outer.posts.append({"key": self.headers.get("Idempotency-Key"),
                                        "type": self.headers.get("Content-Type"),
                                        "path": self.path, "body": body, "status": status,
                                        "at": time.monotonic()})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = Ports.free()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def of(self, rule, state=None):
        with self.lock:
            return [p for p in self.posts if p["body"] and p["body"]["rule"] == rule and
                    (state is None or p["body"]["state"] == state)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def sender_for(rule, members):
    """Rendezvous hashing as docs/intents.md states it: the member with the
    largest first 8 bytes (big-endian) of SHA-256(rule NUL member)."""
    def weight(m):
        return int.from_bytes(hashlib.sha256(rule.encode() + b"\0" + m.encode()).digest()[:8],
                              "big")
    return max(sorted(members), key=weight)


def rule_yaml(name, expr, webhook=None, extra=""):
    hook = f"  webhook: {webhook}\n" if webhook else ""
    return (f"apiVersion: shoal.io/v1\nkind: AlertRule\nmetadata: {{name: {name}}}\n"
            f"spec:\n  target: {{selector: \"role=alerts\"}}\n  expr: \"{expr}\"\n"
            f"  severity: critical\n{hook}{extra}")


def apply(text, node=None, name="rule"):
    path = os.path.join(MESH.tmp, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(text)
    node = node or MESH.nodes[0]
    return MESH.shoalctl("--node", node.api_addr, "apply", "-f", path, "--key",
                         os.path.join(KEYS, "root.key"))


def node(name):
    return next(n for n in MESH.nodes if n.name == name)


def alerts(n):
    st, body = n.api("/v1/alerts", timeout=10)
    assert st == 200, body
    return {a["name"]: a for a in body["alerts"]}


def fleet_alerts(n):
    st, body = n.api("/v1/fleet", timeout=10)
    assert st == 200, body
    return body["alerts"]


def setUpModule():
    global MESH, KEYS, HOT_ROOT, RECEIVER
    TIMER.start()
    RECEIVER = Receiver()
    MESH = Mesh(prefix="shoal-alerts-")
    try:
        KEYS = os.path.join(MESH.tmp, "keys")
        os.makedirs(KEYS)
        r = MESH.shoalctl("keygen", "--out", os.path.join(KEYS, "root"))
        assert r.returncode == 0, r.stderr
        HOT_ROOT = os.path.join(MESH.tmp, "hot-root")
        shutil.copytree(os.path.join(FIXTURES, "busy"), HOT_ROOT)
        trust = ["--trust", os.path.join(KEYS, "root.pub")]
        for name in NAMES:
            root = HOT_ROOT if name == HOT else os.path.join(FIXTURES, "idle")
            MESH.add(name, join=MESH.nodes[:2], labels={"role": "alerts"},
                     extra_args=trust + ["--sysroot", root])
        for n in MESH.nodes:
            n.wait_ready()
        MESH.wait_converged(timeout=60)
    except BaseException:
        MESH.close()
        RECEIVER.close()
        raise


def tearDownModule():
    reports = MESH.close() if MESH else []
    if RECEIVER:
        RECEIVER.close()
    finish_suite(reports, TIMER)


class Alerts(unittest.TestCase):
    def test_1_malformed_rules_are_refused(self):
        cases = [
            (rule_yaml("bad-expr", "mem >> 90"),
             "spec.expr: position 6: expected a number, found '>'"),
            (rule_yaml("bad-metric", "up == 0"), "unknown metric \"up\""),
            (rule_yaml("bad-fraction", "fraction(mem > 75) > 2"), "a fraction is 0-1"),
            (rule_yaml("bad-for", "mem > 90", extra="  for: soon\n"), "spec.for must be a duration"),
            (rule_yaml("bad-hook", "mem > 90", webhook="ftp://x/y"),
             "spec.webhook must be an http:// or https:// URL"),
        ]
        for text, reason in cases:
            r = apply(text, name="bad")
            self.assertNotEqual(r.returncode, 0, r.stdout)
            self.assertIn(reason, r.stderr)
            self.assertIn("schema", r.stderr)
        for n in MESH.nodes:
            st, body = n.api("/v1/intents")
            self.assertEqual(st, 200)
            self.assertEqual([i for i in body["intents"] if i["kind"] == "AlertRule"], [])
            self.assertEqual(alerts(n), {})

    def test_2_per_site_rule_fires_for_the_hot_site_only(self):
        r = apply(rule_yaml("mem-high", "mem > 90", webhook=RECEIVER.url(), extra="  for: 1s\n"),
                  name="mem-high")
        self.assertEqual(r.returncode, 0, r.stderr)
        want = sender_for("mem-high", NAMES)
        for n in MESH.nodes:
            a = wait_until(lambda: (lambda x: x if x and x["firing"] else None)(
                alerts(n).get("mem-high")), 40, f"mem-high firing on {n.name}", interval=0.5)
            self.assertEqual(a["sites"], [HOT])
            self.assertEqual(a["scope"], "site")
            self.assertEqual(a["expr"], "mem > 90")
            self.assertEqual(a["severity"], "critical")
            self.assertEqual(a["deliverer"], want)
            self.assertIsNotNone(a["since"])
            self.assertIn({"name": "mem-high", "scope": "site", "sites": [HOT]}, fleet_alerts(n))
        st, site = MESH.nodes[0].api(f"/v1/sites/{HOT}")
        self.assertEqual(site["record"]["alerts"], ["mem-high"])
        st, site = MESH.nodes[0].api("/v1/sites/a1")
        self.assertEqual(site["record"]["alerts"], [])

        posts = wait_until(lambda: RECEIVER.of("mem-high", "firing"), 30, "the firing POST")
        time.sleep(2)  # room for a duplicate, were any node to send one
        posts = RECEIVER.of("mem-high")
        p = posts[0]
        self.assertEqual(p["type"], "application/json")
        self.assertEqual(p["path"], "/hook")
        self.assertRegex(p["key"], r"^[0-9a-f]{32}$")
        self.assertEqual(p["key"], p["body"]["idempotency_key"])
        self.assertEqual(p["body"]["sites"], [HOT])
        self.assertEqual(p["body"]["severity"], "critical")
        self.assertEqual(p["body"]["expr"], "mem > 90")
        self.assertEqual(p["body"]["sender"], want)
        self.assertEqual({q["body"]["sender"] for q in posts}, {want})
        self.assertEqual({q["key"] for q in posts}, {p["key"]})
        ev = wait_until(lambda: node(want).events("webhook_sent"), 10, "webhook_sent")
        self.assertEqual(ev[0]["rule"], "mem-high")
        for n in MESH.nodes:
            self.assertTrue(n.events("alert_firing"))
            self.assertEqual(n.metric("shoal_alerts_firing", scope="site"), 1)

    def test_3_fleet_rule_fires_with_its_count(self):
        r = apply(rule_yaml("any-hot", "count(mem > 90) >= 1", webhook=RECEIVER.url("/fleet")),
                  name="any-hot")
        self.assertEqual(r.returncode, 0, r.stderr)
        for n in MESH.nodes:
            a = wait_until(lambda: (lambda x: x if x and x["firing"] else None)(
                alerts(n).get("any-hot")), 30, f"any-hot firing on {n.name}", interval=0.5)
            self.assertEqual(a["scope"], "fleet")
            self.assertEqual((a["count"], a["total"]), (1, len(NAMES)))
            self.assertEqual(a["sites"], [HOT])
            fa = [x for x in fleet_alerts(n) if x["name"] == "any-hot"]
            self.assertEqual(fa, [{"name": "any-hot", "scope": "fleet", "count": 1,
                                   "total": len(NAMES), "sites": [HOT]}])
        half = apply(rule_yaml("half-hot", "fraction(mem > 75) > 50%"), name="half-hot")
        self.assertEqual(half.returncode, 0, half.stderr)
        a = wait_until(lambda: alerts(MESH.nodes[1]).get("half-hot"), 20, "half-hot held")
        time.sleep(1.5)
        a = alerts(MESH.nodes[1])["half-hot"]
        self.assertFalse(a["firing"])  # 1 of 5 is not more than half
        posts = wait_until(lambda: RECEIVER.of("any-hot", "firing"), 30, "fleet firing POST")
        self.assertEqual(posts[0]["path"], "/fleet")
        self.assertEqual(posts[0]["body"]["scope"], "fleet")
        self.assertEqual(posts[0]["body"]["sender"], sender_for("any-hot", NAMES))

    def test_4_another_node_takes_over_from_a_killed_sender(self):
        # A rule name whose sender is not the hot site (killing that one
        # would end the episode instead of moving its delivery).
        rule = next(f"failover-{i}" for i in range(100)
                    if sender_for(f"failover-{i}", NAMES) != HOT)
        first = sender_for(rule, NAMES)
        rest = [m for m in NAMES if m != first]
        second = sender_for(rule, rest)
        RECEIVER.status = 500
        r = apply(rule_yaml(rule, "mem > 90", webhook=RECEIVER.url()), name=rule)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: len(RECEIVER.of(rule)) >= 2, 40, "two failed attempts (retries)")
        tried = RECEIVER.of(rule)
        self.assertEqual({p["body"]["sender"] for p in tried}, {first})
        key = tried[0]["key"]
        self.assertEqual({p["key"] for p in tried}, {key})
        fails = wait_until(lambda: node(first).events("webhook_failed"), 10, "webhook_failed")
        self.assertEqual(fails[0]["reason"], "HTTP 500")

        node(first).kill()
        survivors = [n for n in MESH.nodes if n.name != first]
        for n in survivors:
            wait_until(lambda: (alerts(n)[rule]["deliverer"] == second) or None, 40,
                       f"{n.name} to hand {rule} to {second}", interval=0.5)
        RECEIVER.status = 200
        ok = wait_until(lambda: [p for p in RECEIVER.of(rule) if p["status"] == 200], 40,
                        "a delivery from the next sender")
        self.assertEqual(ok[0]["body"]["sender"], second)
        self.assertEqual(ok[0]["key"], key)  # the same episode, the same key
        senders = {p["body"]["sender"] for p in RECEIVER.of(rule)}
        self.assertLessEqual(senders, {first, second})
        wait_until(lambda: node(second).events("webhook_sent"), 10, "webhook_sent")

    def test_5_resolved_once_memory_falls(self):
        shutil.copy(os.path.join(FIXTURES, "idle", "proc", "meminfo"),
                    os.path.join(HOT_ROOT, "proc", "meminfo"))
        live = [n for n in MESH.nodes if n.running]
        for n in live:
            wait_until(lambda: not any(a["firing"] for a in alerts(n).values()), 40,
                       f"every alert resolved on {n.name}", interval=0.5)
            self.assertEqual([a for a in fleet_alerts(n)], [])
        alive = [n.name for n in live]
        for rule in ["mem-high", "any-hot"]:
            res = wait_until(lambda: RECEIVER.of(rule, "resolved"), 30, f"{rule} resolved")
            self.assertEqual(res[0]["body"]["sender"], sender_for(rule, alive))
            firing = RECEIVER.of(rule, "firing")
            self.assertEqual(res[0]["body"]["since"], firing[0]["body"]["since"])
            self.assertNotEqual(res[0]["key"], firing[0]["key"])
            self.assertEqual(res[0]["body"]["sites"], [HOT])  # the sites it last fired for
        for n in live:
            self.assertTrue(n.events("alert_resolved"))


if __name__ == "__main__":
    unittest.main()
