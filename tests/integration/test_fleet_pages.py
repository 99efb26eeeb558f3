"""GET /v1/fleet/sites in pages: ?limit=N&continue=TOKEN, the band, view and
fields filters, on a live mesh of real shoald processes (fast profile):
sixteen full nodes, each a site with a region label, and one leaf.

Checked here:
- a walk with limit=7 lists every site exactly once, in name order, and its
  pages put together equal the unpaged list; each page says how many sites
  remain and the last one has no continue token;
- a continue token gives the same page again, and on any full node (a name
  is the whole state);
- a selector with paging walks the selected sites only, and its token is
  refused under another selector;
- band and view filters split the list; fields= cuts each line to what was
  asked, the values as in the whole line;
- bad parameters (limit 0, -1, abc, 99999, an unknown band, view or field, a
  damaged or made-up token) are 400 with {"error","reason"};
- a leaf passes limit and continue on to a full node: a walk on the leaf
  equals the full node's list, and a bad token is refused through it;
- `shoalctl top sites` takes the list in pages (--chunk-size) and prints
  what it printed from one request;
- a walk with sites dying and records changing between its pages still
  lists every site exactly once.
"""
import json
import time
import unittest
import urllib.parse

from .mesh import Mesh, SuiteTimer, finish_suite, http_get, wait_until

TIMER = SuiteTimer("test_fleet_pages")
MESH = None
FULL = 16
SITES = FULL + 1  # the leaf is a site too
REGIONS = ["north", "south"]


def setUpModule():
    global MESH
    TIMER.start()
    MESH = Mesh(prefix="shoal-fleet-pages-")
    try:
        for i in range(FULL):
            join = MESH.nodes[:3] if MESH.nodes else []
            MESH.add(f"p{i:02d}", join=join, labels={"region": REGIONS[i % 2]})
        MESH.add("leaf0", join=MESH.nodes[:2], labels={"region": "north"},
                 extra_args=["--leaf"])
        for n in MESH.nodes:
            n.wait_ready()
        MESH.wait_converged(timeout=90)
        for n in MESH.nodes[:FULL]:
            wait_until(lambda n=n: fresh_count(n) == SITES, 60,
                       f"every site fresh on {n.name}", interval=0.5)
    except BaseException:
        MESH.close()
        raise


def tearDownModule():
    finish_suite(MESH.close() if MESH else [], TIMER)


def fresh_count(n):
    st, body = n.api("/v1/fleet", timeout=10)
    return body["sites"]["green"] + body["sites"]["orange"] + body["sites"]["red"] \
        if st == 200 else -1


def query(**params):
    return "/v1/fleet/sites?" + urllib.parse.urlencode(
        {k: v for k, v in params.items() if v is not None})


def walk(node, limit, pause=0.0, **params):
    """Every page of a walk: [(status, headers, body)], stopping at an error."""
    pages, token = [], None
    while True:
        st, h, body = http_get(node, query(limit=limit, **params, **{"continue": token}))
        pages.append((st, h, body))
        if st != 200 or not body.get("continue"):
            return pages
        token = body["continue"]
        time.sleep(pause)


def names(lines):
    return [s["name"] for s in lines]


def without_clock(line):
    """A line without what moves with the clock or the next record."""
    return {k: v for k, v in line.items()
            if k not in ("age_s", "version", "links", "score", "components", "cpu_pct",
                         "mem_pct", "disk_pct", "band", "pods", "intents")}


class Pages(unittest.TestCase):
    def test_1_walk_equals_the_whole_list(self):
        n = MESH.nodes[3]
        st, _, whole = http_get(n, "/v1/fleet/sites")
        self.assertEqual(st, 200)
        self.assertNotIn("continue", whole)  # no paging asked: the answer as it was
        self.assertEqual(whole["count"], SITES)
        pages = walk(n, 7)
        self.assertEqual([p[0] for p in pages], [200, 200, 200])
        self.assertEqual([p[2]["count"] for p in pages], [7, 7, 3])
        self.assertEqual([p[2]["remaining"] for p in pages], [10, 3, 0])
        self.assertIsNone(pages[-1][2]["continue"])
        lines = [s for p in pages for s in p[2]["sites"]]
        self.assertEqual(names(lines), names(whole["sites"]))
        self.assertEqual(len(set(names(lines))), SITES)
        self.assertEqual(names(lines), sorted(names(lines)))
        for a, b in zip(lines, whole["sites"]):
            self.assertEqual(list(a.keys()), list(b.keys()))
            self.assertEqual(without_clock(a), without_clock(b))
        # One page for everything: no token, nothing remaining.
        st, _, one = http_get(n, query(limit=5000))
        self.assertEqual((one["count"], one["continue"], one["remaining"]), (SITES, None, 0))

    def test_2_token_round_trips_on_any_node(self):
        a, b = MESH.nodes[0], MESH.nodes[9]
        st, _, first = http_get(a, query(limit=5))
        self.assertEqual(st, 200)
        token = first["continue"]
        self.assertRegex(token, r"^[A-Za-z0-9_-]+$")  # URL-safe as it is
        seen = []
        for node in (a, a, b):
            st, _, page = http_get(node, query(limit=5, **{"continue": token}))
            self.assertEqual(st, 200, page)
            seen.append(names(page["sites"]))
            self.assertTrue(all(x > names(first["sites"])[-1] for x in seen[-1]))
        self.assertEqual(seen[0], seen[1])
        self.assertEqual(seen[0], seen[2])
        # continue without limit: the rest of the list.
        st, _, rest = http_get(a, query(**{"continue": token}))
        self.assertEqual(rest["count"], SITES - 5)
        self.assertIsNone(rest["continue"])

    def test_3_selector_with_paging(self):
        n = MESH.nodes[5]
        sel = "region=south"
        st, _, whole = http_get(n, query(selector=sel))
        want = sorted(f"p{i:02d}" for i in range(FULL) if REGIONS[i % 2] == "south")
        self.assertEqual(names(whole["sites"]), want)
        pages = walk(n, 3, selector=sel)
        self.assertTrue(all(p[0] == 200 and p[2]["selector"] == sel for p in pages))
        self.assertEqual([x for p in pages for x in names(p[2]["sites"])], want)
        token = pages[0][2]["continue"]
        st, _, err = http_get(n, query(limit=3, selector="region=north", **{"continue": token}))
        self.assertEqual(st, 400)
        self.assertEqual(err["error"], "bad_continue")
        self.assertIn("another query", err["reason"])
        st, _, err = http_get(n, query(limit=3, selector=sel, band="green",
                                  **{"continue": token}))
        self.assertEqual(st, 400)

    def test_4_band_view_and_fields(self):
        n = MESH.nodes[7]
        st, _, whole = http_get(n, "/v1/fleet/sites")
        parts = {}
        for band in ("green", "orange", "red", "none"):
            st, _, body = http_get(n, query(band=band))
            self.assertEqual(st, 200, body)
            parts[band] = names(body["sites"])
            for s in body["sites"]:
                self.assertEqual(s["band"], None if band == "none" else band)
        # Each site in exactly one band (records may move a site between
        # bands between two requests, so the union is checked by name).
        everything = sorted(x for v in parts.values() for x in v)
        self.assertEqual(len(everything), SITES)
        self.assertEqual(set(everything), set(names(whole["sites"])))
        st, _, fresh = http_get(n, query(view="fresh"))
        self.assertEqual(names(fresh["sites"]), names(whole["sites"]))
        st, _, stale = http_get(n, query(view="unreachable"))
        self.assertEqual(stale["count"], 0)
        st, _, cut = http_get(n, query(fields="lat,view,labels", limit=4))
        self.assertEqual(st, 200)
        for s, full in zip(cut["sites"], whole["sites"]):
            self.assertEqual(list(s.keys()), ["name", "view", "labels", "lat"])
            self.assertEqual(s["labels"], full["labels"])
            self.assertEqual(s["view"], full["view"])

    def test_5_bad_parameters(self):
        n = MESH.nodes[2]
        st, _, first = http_get(n, query(limit=7))
        token = first["continue"]
        bad = [dict(limit="0"), dict(limit="-1"), dict(limit="abc"), dict(limit="99999"),
               dict(limit="5001"), dict(limit=""), dict(limit="1e3"), dict(limit="+5"),
               dict(band="blue"), dict(band="GREEN"), dict(view="gone"),
               dict(fields="name,nosuch"), dict(fields=""), dict(fields="name,"),
               dict(selector="region in ("),
               {"limit": "7", "continue": "garbage"},
               {"limit": "7", "continue": ""},
               {"limit": "7", "continue": token[:-2]},
               {"limit": "7", "continue": token + "A"},
               {"limit": "7", "continue": "eyJydiI6MTIzfQ"},  # another system's token
               {"limit": "7", "continue": token.replace(token[3], "A" if token[3] != "A"
                                                        else "B", 1)}]
        for params in bad:
            st, _, err = http_get(n, query(**params))
            self.assertEqual(st, 400, f"{params}: {err}")
            self.assertEqual(set(err), {"error", "reason"}, params)
            self.assertTrue(err["reason"], params)
        # Nothing changed: the same first page as before.
        st, _, again = http_get(n, query(limit=7))
        self.assertEqual(names(again["sites"]), names(first["sites"]))
        self.assertEqual(again["continue"], token)

    def test_6_walk_through_a_leaf(self):
        leaf = MESH.nodes[-1]
        full = {x.name: x for x in MESH.nodes[:FULL]}
        pages = walk(leaf, 4)
        self.assertEqual([p[0] for p in pages], [200] * 5, [p[2] for p in pages])
        for st, h, body in pages:
            self.assertIn(h.get("x-shoal-answered-by"), full)
        st, _, whole = http_get(MESH.nodes[0], "/v1/fleet/sites")
        self.assertEqual([x for p in pages for x in names(p[2]["sites"])],
                         names(whole["sites"]))
        # With a selector and fields, through the leaf.
        pages = walk(leaf, 2, selector="region=north", fields="view")
        got = [x for p in pages for x in p[2]["sites"]]
        self.assertEqual(names(got), sorted(["leaf0"] + [f"p{i:02d}" for i in range(0, FULL, 2)]))
        self.assertTrue(all(list(s.keys()) == ["name", "view"] for s in got))
        # A bad token or limit is the full node's 400, relayed.
        st, h, err = http_get(leaf, query(limit=4, **{"continue": "garbage"}))
        self.assertEqual(st, 400)
        self.assertEqual(err["error"], "bad_continue")
        self.assertIn("x-shoal-answered-by", h)
        st, h, err = http_get(leaf, query(limit=0))
        self.assertEqual(st, 400)

    def test_6b_shoalctl_top_walks_pages(self):
        n = MESH.nodes[6]

        def top(*args):
            r = MESH.shoalctl("--node", n.api_addr, "top", "sites", *args)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout

        def masked(text):
            body = json.loads(text)
            body["sites"] = [without_clock(s) for s in body["sites"]]
            return body

        for args in (["--sort", "name"], ["--sort", "name", "--limit", "5"],
                     ["-l", "region=north", "--sort", "name"]):
            one = top(*args, "-o", "json", "--chunk-size", "0")
            paged = top(*args, "-o", "json", "--chunk-size", "3")
            default = top(*args, "-o", "json")
            self.assertEqual(list(json.loads(paged).keys()), ["selector", "count", "sites"])
            self.assertEqual(masked(paged), masked(one), args)
            self.assertEqual(masked(default), masked(one), args)
        # The table: the same rows in the same order, NAME to VIEW.
        rows = [[line.split()[:3] for line in top("--sort", "name", *c).splitlines()]
                for c in (["--chunk-size", "0"], ["--chunk-size", "4"])]
        self.assertEqual(rows[0], rows[1])
        self.assertEqual(len(rows[0]), SITES + 1)  # and the header
        for bad in ("-1", "5001", "x"):
            r = MESH.shoalctl("--node", n.api_addr, "top", "sites", "--chunk-size", bad)
            self.assertEqual(r.returncode, 2, r.stderr)

    def test_7_walk_while_sites_die(self):
        n = MESH.nodes[1]
        st, _, whole = http_get(n, "/v1/fleet/sites")
        victims = [MESH.nodes[14], MESH.nodes[4]]  # one after the first page, one before
        listed, token, killed = [], None, False
        while True:
            st, _, page = http_get(n, query(limit=2, **{"continue": token}))
            self.assertEqual(st, 200, page)
            listed += names(page["sites"])
            if len(listed) >= 6 and not killed:
                for v in victims:
                    v.kill()
                killed = True
            token = page["continue"]
            if not token:
                break
            time.sleep(0.3)  # records keep arriving between pages
        self.assertEqual(listed, names(whole["sites"]))
        # Once they are unreachable, the view filter finds them.
        wait_until(lambda: http_get(n, query(view="unreachable"))[2]["count"] == 2, 60,
                   "two sites unreachable")
        st, _, gone = http_get(n, query(view="unreachable", limit=1))
        self.assertEqual(gone["count"], 1)
        self.assertEqual(gone["remaining"], 1)
        st, _, rest = http_get(n, query(view="unreachable", **{"continue": gone["continue"]}))
        self.assertEqual(sorted(names(gone["sites"]) + names(rest["sites"])),
                         sorted(v.name for v in victims))
        for s in gone["sites"] + rest["sites"]:
            self.assertIsNone(s["band"])


if __name__ == "__main__":
    unittest.main()
