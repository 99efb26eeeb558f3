"""The dashboard (GET /) in headless Chromium against a live mesh.

Five shoald nodes start with region/env labels; four carry coordinates as
geo.shoal.io/lat and geo.shoal.io/lon annotations, one has none (it belongs
in the strip of sites without coordinates). The page is opened on one node
with Debian's chromium, driven by tests/browser/drive.js (playwright-core)
over a line protocol; this file keeps the scenario and compares what the
page shows with what the same node's API answers at that moment:

- the embedded files: status, content types, the Content-Security-Policy,
  and the bytes equal to node/dashboard/ (the binary serves the repo's page);
- the band counts equal GET /v1/fleet's; every site with coordinates has a
  marker at (lon, -lat) with the API's view and band, the other is listed;
- an App intent applied with shoalctl shows its ready and replicated bars as
  the node counts them; AlertRules (per site and fleet-wide) show as firing
  with the node's sites;
- a selector narrows the counts to /v1/fleet?selector=...'s, a bad one shows
  the node's 400 reason and leaves the page as it was;
- a SIGKILLed site's marker turns unreachable or stale in bounded time;
- no console errors (except the 400 the bad selector was meant to cause),
  no script errors, and no request leaves the node;
- once the serving node is killed, the page says so.

The tests run in order (their names are numbered): each starts from the
state the one before left. Needs `make deps` (chromium, node, npm ci in
tests/browser/).
"""
import http.client
import json
import os
import selectors
import shutil
import signal
import subprocess
import time
import unittest
import urllib.parse

from .mesh import Mesh, REPO, SuiteTimer, finish_suite, wait_until

TIMER = SuiteTimer("test_dashboard")
DASHBOARD_SRC = os.path.join(REPO, "node", "dashboard")
BROWSER_DIR = os.path.join(REPO, "tests", "browser")
DRIVER = os.path.join(BROWSER_DIR, "drive.js")

# name, labels, (lat, lon) or None
SITES = [
    ("paris", {"region": "eu-west", "env": "prod"}, (48.8566, 2.3522)),
    ("tokyo", {"region": "jp-north", "env": "prod"}, (35.6762, 139.6503)),
    ("osaka", {"region": "jp-south", "env": "dev"}, (34.6937, 135.5023)),
    ("lima", {"region": "sa-west", "env": "prod"}, (-12.0464, -77.0428)),
    ("lab", {"region": "eu-west", "env": "dev"}, None),
]
SERVER = "paris"   # the node whose page is opened
VICTIM = "osaka"   # the node killed while the page watches
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
COUNT_KEYS = ("total", "green", "orange", "red", "stale", "unreachable", "unknown")

MESH = None
BROWSER = None


class Browser:
    """tests/browser/drive.js: one JSON command per line, one JSON reply."""

    def __init__(self, err_path):
        node, chromium = shutil.which("node"), shutil.which("chromium")
        module = os.path.join(BROWSER_DIR, "node_modules", "playwright-core")
        missing = [what for what, ok in (("node", node), ("chromium", chromium),
                                         ("tests/browser/node_modules", os.path.isdir(module)))
                   if not ok]
        if missing:
            raise AssertionError("missing " + ", ".join(missing) + ": run `make deps`")
        self.err_path = err_path
        with open(err_path, "wb") as err:
            self.proc = subprocess.Popen([node, DRIVER, "--chromium", chromium],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, start_new_session=True)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""

    def call(self, cmd, timeout=30, **args):
        self.proc.stdin.write((json.dumps(dict(args, cmd=cmd)) + "\n").encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                raise AssertionError(f"browser driver: no answer to {cmd} in {timeout} s")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"browser driver exited ({self.proc.poll()}): "
                                     f"{self.stderr()}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise AssertionError(f"browser driver: {cmd}: {reply.get('error')}")
        return reply

    def page(self):
        return self.call("snapshot")["page"]

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read()[-4000:].decode(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("close", timeout=10)
                self.proc.wait(timeout=10)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            # The driver and the chromium it started share its process group.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.sel.close()


def node(name):
    return next(n for n in MESH.nodes if n.name == name)


def fleet_query(path, selector):
    return path + ("?selector=" + urllib.parse.quote(selector) if selector else "")


def setUpModule():
    global MESH, BROWSER
    TIMER.start()
    MESH = Mesh(prefix="shoal-dash-")
    try:
        keys = os.path.join(MESH.tmp, "keys")
        os.makedirs(keys)
        r = MESH.shoalctl("keygen", "--out", os.path.join(keys, "root"))
        assert r.returncode == 0, r.stderr
        for name, labels, coords in SITES:
            extra = ["--trust", os.path.join(keys, "root.pub")]
            if coords:
                extra += ["--annotation", f"geo.shoal.io/lat={coords[0]}",
                          "--annotation", f"geo.shoal.io/lon={coords[1]}"]
            MESH.add(name, labels=labels, extra_args=extra)
        for n in MESH.nodes:
            n.wait_ready()
        MESH.wait_converged(timeout=60)
        # Every site's health record has reached the serving node.
        wait_until(lambda: all(s["view"] == "fresh"
                               for s in node(SERVER).get("/v1/fleet/sites")["sites"])
                   and node(SERVER).get("/v1/fleet/sites")["count"] == len(SITES),
                   60, "every site fresh in /v1/fleet/sites", interval=0.5)
        BROWSER = Browser(os.path.join(MESH.tmp, "browser.err"))
    except BaseException:
        MESH.close()
        raise


def tearDownModule():
    if BROWSER:
        BROWSER.close()
    reports = MESH.close() if MESH else []
    finish_suite(reports, TIMER)


class Dashboard(unittest.TestCase):
    longMessage = True

    @property
    def server(self):
        return node(SERVER)

    def raw(self, method, path):
        n = self.server
        conn = http.client.HTTPConnection(n.api_host, n.api_port, timeout=5)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def agree(self, selector, timeout=15):
        """Wait until the page shows `selector`'s answer (counts, and a marker with the
        API's view and band for each site with coordinates); return (page, fleet, sites)."""
        seen = {}

        def same():
            page = BROWSER.page()
            fleet = self.server.get(fleet_query("/v1/fleet", selector))
            sites = self.server.get(fleet_query("/v1/fleet/sites", selector))
            seen.update(page=page, fleet=fleet)
            # Each placed site's marker with the API's view and band (bands move with
            # scores, so this too is read until the page has caught up).
            placed = {s["name"]: (s["view"], s["band"] if s["view"] == "fresh" else "none")
                      for s in sites["sites"] if s["lat"] is not None}
            marked = {m["site"]: (m["view"], m["band"]) for m in page["markers"]}
            ok = (page["status"] == "ok" and page["selector"] == fleet["selector"]
                  and page["counts"] == {k: fleet["sites"][k] for k in COUNT_KEYS}
                  and marked == placed)
            return (page, fleet, sites) if ok else None

        try:
            return wait_until(same, timeout, f"the page to show selector {selector!r}",
                              interval=0.3)
        except AssertionError as e:
            raise AssertionError(f"{e}\npage: {json.dumps(seen.get('page'))[:3000]}\n"
                                 f"fleet: {json.dumps(seen.get('fleet'))[:2000]}") from None

    # ---- the embedded files --------------------------------------------

    def test_0_assets(self):
        files = {"/": ("index.html", "text/html; charset=utf-8"),
                 "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
                 "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
                 "/favicon.svg": ("favicon.svg", "image/svg+xml")}
        for path, (name, ctype) in files.items():
            st, headers, body = self.raw("GET", path)
            self.assertEqual(st, 200, path)
            self.assertEqual(headers.get("Content-Type"), ctype, path)
            self.assertEqual(headers.get("Cache-Control"), "no-cache", path)
            self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff", path)
            with open(os.path.join(DASHBOARD_SRC, name), "rb") as f:
                self.assertEqual(body, f.read(), f"{path} is not node/dashboard/{name}")
            csp = {d.split()[0]: d.split()[1:] for d in
                   headers.get("Content-Security-Policy", "").split(";") if d.strip()}
            self.assertEqual(csp.get("default-src"), ["'none'"], path)
            for d in ("script-src", "style-src", "connect-src", "img-src"):
                self.assertEqual(csp.get(d), ["'self'"], f"{path} {d}")
            self.assertEqual(csp.get("frame-ancestors"), ["'none'"], path)
        # HEAD answers the headers alone; other methods are refused.
        st, headers, body = self.raw("HEAD", "/")
        self.assertEqual((st, body), (200, b""))
        self.assertEqual(headers.get("Content-Type"), "text/html; charset=utf-8")
        st, headers, body = self.raw("POST", "/")
        self.assertEqual(st, 405)
        self.assertEqual(json.loads(body)["error"], "method_not_allowed")
        st, _, body = self.raw("GET", "/dashboard.map")
        self.assertEqual(st, 404)
        # The API keeps its own headers: JSON, never cached, no page policy.
        st, headers, _ = self.raw("GET", "/healthz")
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertNotIn("Content-Security-Policy", headers)

    # ---- the page on a live mesh ---------------------------------------

    def test_1_counts_and_markers(self):
        base = f"http://{self.server.api_addr}/"
        self.assertEqual(BROWSER.call("open", url=base)["status"], 200)
        page, fleet, sites = self.agree("")
        self.assertEqual(fleet["sites"]["total"], len(SITES))
        self.assertEqual(page["counts"]["total"], len(SITES))
        markers = {m["site"]: m for m in page["markers"]}
        for name, _, coords in SITES:
            api = next(s for s in sites["sites"] if s["name"] == name)
            if coords is None:
                self.assertIsNone(api["lat"])
                self.assertNotIn(name, markers)
                self.assertIn(name, [u["site"] for u in page["unplaced"]])
                continue
            self.assertAlmostEqual(api["lat"], coords[0], places=4)
            self.assertAlmostEqual(api["lon"], coords[1], places=4)
            m = markers[name]
            # Equirectangular: x is the longitude, y the latitude upside down.
            self.assertAlmostEqual(m["x"], api["lon"], places=6, msg=name)
            self.assertAlmostEqual(m["y"], -api["lat"], places=6, msg=name)
            self.assertEqual(m["view"], api["view"], name)
            self.assertEqual(m["band"], api["band"] if api["view"] == "fresh" else "none", name)
            self.assertNotEqual(m["fill"], "none", f"{name}: a fresh site is a filled dot")
        self.assertRegex(page["last_refresh"], r"^\d\d:\d\d:\d\d$")
        # The distributions are the node's. A site's use moves between buckets as its record
        # is renewed, so the page (up to one refresh behind) and the API are read until they
        # meet.
        seen = {}

        def same_histograms():
            page, fleet = BROWSER.page(), self.server.get("/v1/fleet")
            seen.update(page=(page["cpu"], page["memory"]),
                        api=(fleet["cpu"]["histogram"], fleet["memory"]["histogram"]))
            return seen["page"] == seen["api"]

        try:
            wait_until(same_histograms, 20, "the page's histograms to equal the node's",
                       interval=0.3)
        except AssertionError as e:
            raise AssertionError(f"{e}: {seen}") from None

    def test_2_live_refresh(self):
        # Two more refreshes (2 s apart, with room for a loaded machine), without a page load.
        before = BROWSER.page()["refreshes"]
        wait_until(lambda: BROWSER.page()["refreshes"] >= before + 2, 15,
                   "two more refreshes", interval=0.2)
        log = BROWSER.call("log")["log"]
        self.assertEqual(sum(1 for u in log["requests"] if urllib.parse.urlsplit(u).path == "/"),
                         1, "the page was loaded once")

    def test_3_intent_rollout(self):
        key = os.path.join(MESH.tmp, "keys", "root.key")
        path = os.path.join(MESH.tmp, "app.yaml")
        with open(path, "w") as f:
            f.write(APP)
        r = MESH.shoalctl("--node", self.server.api_addr, "apply", "-f", path, "--key", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        seen = {}

        def shown():
            api = self.server.get("/v1/fleet")["intents"]
            rows = BROWSER.page()["intents"]
            seen.update(api=api, rows=rows)
            want = [{"intent": f"{i['kind']}/{i['name']}",
                     "ready": [i["states"]["ready"], i["selected"]],
                     "replicated": [i["replicated"], i["selected"]]} for i in api]
            return api if api and rows == want else None

        try:
            api = wait_until(shown, 15, "the intent's rollout on the page", interval=0.3)
        except AssertionError as e:
            raise AssertionError(f"{e}: {seen}") from None
        prod = [n for n, labels, _ in SITES if labels["env"] == "prod"]
        self.assertEqual([(i["kind"], i["name"], i["selected"]) for i in api],
                         [("App", "kuard", len(prod))])

    def test_3b_alerts(self):
        # Both kinds of rule, true of any site that reports: a per-site one, listed by the
        # prod sites' own records, and a fleet-wide one judged by the serving node.
        prod = sorted(n for n, labels, _ in SITES if labels["env"] == "prod")
        for name, expr in (("scored", "score >= 0"), ("any-scored", "count(score >= 0) >= 1")):
            path = os.path.join(MESH.tmp, f"{name}.yaml")
            with open(path, "w") as f:
                f.write(f"apiVersion: shoal.io/v1\nkind: AlertRule\nmetadata: {{name: {name}}}\n"
                        f"spec:\n  target: {{selector: \"env=prod\"}}\n  expr: \"{expr}\"\n")
            r = MESH.shoalctl("--node", self.server.api_addr, "apply", "-f", path, "--key",
                              os.path.join(MESH.tmp, "keys", "root.key"))
            self.assertEqual(r.returncode, 0, r.stderr)
        seen = {}

        def shown():
            api = self.server.get("/v1/fleet")["alerts"]
            rows = BROWSER.page()["alerts"]
            seen.update(api=api, rows=rows)
            want = [{"name": a["name"], "scope": a["scope"], "sites": len(a["sites"])}
                    for a in api]
            done = {a["name"]: sorted(a["sites"]) for a in api} == {
                "scored": prod, "any-scored": prod}
            return api if done and rows == want else None

        try:
            wait_until(shown, 30, "both alerts firing on the page", interval=0.3)
        except AssertionError as e:
            raise AssertionError(f"{e}: {seen}") from None

    def test_4_filter(self):
        selector = "env=prod"
        BROWSER.call("filter", selector=selector)
        page, fleet, sites = self.agree(selector)
        prod = sorted(n for n, labels, _ in SITES if labels["env"] == "prod")
        self.assertEqual(sorted(s["name"] for s in sites["sites"]), prod)
        self.assertEqual(page["counts"]["total"], len(prod))
        self.assertLess(page["counts"]["total"], len(SITES))
        self.assertIn("selector=env%3Dprod", page["location"])
        self.assertIsNone(page["selector_error"])

    def test_5_bad_selector(self):
        bad = "env in (prod"
        st, body = self.server.api(fleet_query("/v1/fleet", bad))
        self.assertEqual(st, 400)
        self.assertEqual(body["error"], "bad_selector")
        before = BROWSER.page()
        BROWSER.call("filter", selector=bad)
        page = wait_until(lambda: (lambda p: p if p["selector_error"] else None)(BROWSER.page()),
                          10, "the selector error")
        self.assertEqual(page["selector_error"], body["reason"])
        # The page goes on showing the last selector the node accepted.
        self.assertEqual(page["selector"], before["selector"])
        self.agree("env=prod")
        # Clearing the filter shows every site again.
        BROWSER.call("filter", selector="")
        page, _, _ = self.agree("")
        self.assertEqual(page["counts"]["total"], len(SITES))
        self.assertIsNone(page["selector_error"])

    def test_6_killed_site(self):
        victim = node(VICTIM)
        victim.kill()
        t0 = time.monotonic()

        def turned():
            m = next((m for m in BROWSER.page()["markers"] if m["site"] == VICTIM), None)
            return m if m and m["view"] in ("unreachable", "stale") else None

        m = wait_until(turned, 30, f"{VICTIM}'s marker to turn unreachable or stale",
                       interval=0.25)
        print(f"\n{VICTIM}'s marker turned {m['view']} {time.monotonic() - t0:.1f} s after "
              "SIGKILL", flush=True)
        self.assertEqual(m["band"], "none", "only a fresh record has a band")
        if m["view"] == "unreachable":
            self.assertEqual(m["fill"], "none", "an unreachable site is a hollow ring")
        page, fleet, _ = self.agree("")
        self.assertEqual(fleet["sites"]["unreachable"] + fleet["sites"]["stale"], 1)
        if os.environ.get("SHOAL_IT_KEEP"):
            BROWSER.call("screenshot", path=os.path.join(MESH.tmp, "dashboard.png"))

    def test_7_console_and_requests(self):
        log = BROWSER.call("log")["log"]
        self.assertEqual(log["pageerrors"], [])
        # The one error the test caused: the 400 answer to the bad selector.
        errors = [m["text"] for m in log["console"] if m["type"] == "error"
                  and "status of 400" not in m["text"]]
        self.assertEqual(errors, [])
        origin = f"http://{self.server.api_addr}"
        foreign = [u for u in log["requests"] if not u.startswith(origin + "/")]
        self.assertEqual(foreign, [], "requests outside the node")
        self.assertEqual(log["failed"], [])
        paths = {urllib.parse.urlsplit(u).path for u in log["requests"]}
        self.assertTrue({"/", "/dashboard.js", "/dashboard.css", "/v1/fleet",
                         "/v1/fleet/sites"} <= paths, paths)
        # The site list is asked for the fields the page draws only.
        asked = [urllib.parse.parse_qs(urllib.parse.urlsplit(u).query)
                 for u in log["requests"] if urllib.parse.urlsplit(u).path == "/v1/fleet/sites"]
        self.assertTrue(asked and all("fields" in q and "annotations" not in q["fields"][0]
                                      for q in asked), asked)

    def test_8_node_down(self):
        self.server.kill()
        page = wait_until(lambda: (lambda p: p if p["status"] == "error" else None)(
            BROWSER.page()), 10, "the page to show that the node stopped answering")
        self.assertIn("not answering", page["status_text"])
        # The time of the last refresh that worked stays in view.
        self.assertRegex(page["last_refresh"], r"^\d\d:\d\d:\d\d$")


if __name__ == "__main__":
    unittest.main()
