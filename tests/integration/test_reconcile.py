"""The reconciler: shoald converging its own (fake) Kubernetes cluster toward
the App intents that select it.

ReconcileTest: one shoald with its own fakekube (tests/fakekube, real HTTPS,
its controller making workloads ready); App intents are applied and deleted
with shoalctl, and what lands is checked through the fake's own API and
shoald's GET /v1/self/intents.

ClusterConfigTest: a node without a cluster reports selected App intents
pending; a kubeconfig that does not load refuses to start (exit 2).

MeshReconcileTest: five shoald, each with its own fakekube and its own
labels: an App intent applied at one node lands in the clusters of the
selected nodes only, and one signed by a granted key lands only inside its
target AND the key's scope.

Fast profile everywhere: the reconciler polls every 100 ms and the engine's
backoff runs from 50 ms to 3 s.
"""
import json
import os
import time
import unittest

from .fakekube_client import FakeKube
from .mesh import Mesh, SuiteTimer, finish_suite, sanitizer_check, wait_until

TIMER = SuiteTimer("test_reconcile")
PART_OF = "applyset.kubernetes.io/part-of"
FK_ARGS = ("--controller", "--ready-delay", "0.2")


def setUpModule():
    TIMER.start()


def tearDownModule():
    TIMER.stop()


def deployment(name, ns="demo", replicas=1, image="nginx:1.25"):
    c = {"name": name, "image": image}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [c]}}}}


def service(name, ns="demo"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 80}]}}


def configmap(name, data, ns="demo"):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns}, "data": data}


def app_yaml(name, objs, selector):
    """An App intent file as an operator writes it: manifests as a literal
    block of multi-document YAML (JSON flow style is YAML)."""
    docs = "".join("---\n" + json.dumps(o, indent=2) + "\n" for o in objs)
    body = "".join("    " + ln + "\n" for ln in docs.splitlines())
    return (f"apiVersion: shoal.io/v1\nkind: App\nmetadata: {{name: {name}}}\n"
            f"spec:\n  target: {{selector: \"{selector}\"}}\n  manifests: |\n{body}")


def site_intents(node):
    return node.get("/v1/self/intents")


def site_intent(node, name):
    for it in site_intents(node)["intents"]:
        if it["kind"] == "App" and it["name"] == name:
            return it
    return None


def wait_state(node, name, pred, timeout=20, what=""):
    last = [None]

    def check():
        last[0] = site_intent(node, name)
        return last[0] is not None and pred(last[0])
    try:
        wait_until(check, timeout, what or f"{name} on {node.name}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last: {last[0]}") from None
    return last[0]


class Fixture:
    """A mesh whose root key every node trusts, and shoalctl around it."""

    def __init__(self, prefix):
        self.mesh = Mesh(prefix=prefix)
        self.fakes = []
        self.keys = os.path.join(self.mesh.tmp, "keys")
        os.makedirs(self.keys)
        r = self.mesh.shoalctl("keygen", "--out", os.path.join(self.keys, "root"))
        assert r.returncode == 0, r.stderr
        self.trust = os.path.join(self.keys, "root.pub")
        self.n = 0

    def fake(self):
        fk = FakeKube(*FK_ARGS)
        self.fakes.append(fk)
        return fk

    def ctl(self, node, *args):
        return self.mesh.shoalctl("--node", node.api_addr, *args)

    def apply(self, node, name, objs, selector="region=jp", key="root"):
        self.n += 1
        path = os.path.join(self.mesh.tmp, f"{name}.{self.n}.yaml")
        with open(path, "w") as f:
            f.write(app_yaml(name, objs, selector))
        r = self.ctl(node, "apply", "-f", path, "--key", os.path.join(self.keys, key + ".key"))
        assert r.returncode == 0, r.stderr
        return r

    def delete(self, node, name):
        r = self.ctl(node, "delete", "App", name, "--key", os.path.join(self.keys, "root.key"))
        assert r.returncode == 0, r.stderr

    def close(self):
        reports = self.mesh.close()
        for fk in self.fakes:
            fk.stop()
        return reports


class ReconcileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture("shoal-rec-")
        try:
            cls.fk = cls.fx.fake()
            cls.node = cls.fx.mesh.add("r1", labels={"region": "jp"}, extra_args=[
                "--trust", cls.fx.trust, "--kubeconfig", cls.fk.info["kubeconfig"]])
            cls.node.wait_ready()
        except BaseException:
            cls.fx.close()
            raise

    @classmethod
    def tearDownClass(cls):
        reports = cls.fx.close()
        finish_suite(reports)

    def setUp(self):
        self.t0 = time.monotonic()

    def tearDown(self):
        print(f"\n  {self.id().rsplit('.', 1)[-1]}: {time.monotonic() - self.t0:.1f} s",
              end="", flush=True)
        self.fk.control("POST", "up")

    def get(self, path):
        return self.fk.get(path)

    def gone(self, path):
        return self.get(path).status == 404

    def test_apply_update_prune_delete(self):
        n, name = self.node, "shop"
        objs = [deployment("web"), service("web"), configmap("web-config", {"a": "1"})]
        self.fx.apply(n, name, objs)
        st = wait_state(n, name, lambda s: s["state"] == "ready" and s["pods"]["running"] == 1,
                        what="shop ready with one pod running")
        self.assertEqual(st["reason"], "")
        self.assertEqual(st["restarts"], 0)
        self.assertRegex(st["since"], r"^\d{4}-\d\d-\d\dT")
        held = n.get("/v1/intents/App/shop")
        self.assertEqual(st["version"], held["version"])
        for path in ("/apis/apps/v1/namespaces/demo/deployments/web",
                     "/api/v1/namespaces/demo/services/web",
                     "/api/v1/namespaces/demo/configmaps/web-config"):
            r = self.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertIn(PART_OF, r.json["metadata"]["labels"])
        body = site_intents(n)
        self.assertEqual((body["site"], body["cluster"]), ("r1", True))
        self.assertTrue(n.events("intent_apply"))

        # Changed: updated in place, and reported for the new version.
        objs = [deployment("web", replicas=2), service("web"),
                configmap("web-config", {"a": "2"})]
        self.fx.apply(n, name, objs)
        wait_until(lambda: self.get("/api/v1/namespaces/demo/configmaps/web-config")
                   .json["data"] == {"a": "2"}, 15, "configmap updated")
        st = wait_state(n, name, lambda s: s["state"] == "ready" and s["pods"]["running"] == 2,
                        what="two pods running")
        self.assertEqual(st["version"], n.get("/v1/intents/App/shop")["version"])

        # An object dropped from the intent: pruned, the rest stays.
        self.fx.apply(n, name, objs[:2])
        wait_until(lambda: self.gone("/api/v1/namespaces/demo/configmaps/web-config"), 15,
                   "configmap pruned")
        self.assertEqual(self.get("/api/v1/namespaces/demo/services/web").status, 200)

        # The intent deleted: everything it put there goes, and so does its state.
        self.fx.delete(n, name)
        wait_until(lambda: self.gone("/apis/apps/v1/namespaces/demo/deployments/web") and
                   self.gone("/api/v1/namespaces/demo/services/web"), 15, "all pruned")
        wait_until(lambda: site_intent(n, name) is None, 10, "site state dropped")
        prunes = [e for e in n.events("intent_prune") if e.get("name") == name]
        self.assertEqual([e["status"] for e in prunes], ["removing", "removed"])
        self.assertEqual(prunes[0]["cause"], "deleted")

    def test_manual_change_is_put_back(self):
        n = self.node
        self.fx.apply(n, "drift", [configmap("drift-cfg", {"mode": "blue"})])
        wait_state(n, "drift", lambda s: s["state"] == "ready")
        self.fk.merge_patch("/api/v1/namespaces/demo/configmaps/drift-cfg",
                            {"data": {"mode": "green"}})
        wait_until(lambda: self.get("/api/v1/namespaces/demo/configmaps/drift-cfg")
                   .json["data"]["mode"] == "blue", 10, "edit put back")
        self.fk.request("DELETE", "/api/v1/namespaces/demo/configmaps/drift-cfg")
        wait_until(lambda: self.get("/api/v1/namespaces/demo/configmaps/drift-cfg").status
                   == 200, 10, "deleted object recreated")

    def test_server_down_degraded_then_recovers(self):
        n = self.node
        self.fx.apply(n, "steady", [configmap("steady-cfg", {"v": "1"})])
        wait_state(n, "steady", lambda s: s["state"] == "ready")
        self.fk.control("POST", "down", {"mode": "refuse"})
        self.fk.control("DELETE", "requests")
        st = wait_state(n, "steady", lambda s: s["state"] == "degraded", timeout=15,
                        what="degraded while the API server is down")
        self.assertIn("retrying", st["reason"])
        ev = [e for e in n.events("intent_state")
              if e["name"] == "steady" and e["state"] == "degraded"]
        self.assertTrue(ev and "retrying" in ev[-1]["reason"], ev)
        time.sleep(1.5)
        # Backoff (50 ms doubling to 3 s in the fast profile, with jitter):
        # a handful of probes, not one per 100 ms tick.
        probes = [r for r in self.fk.control("GET", "requests").json["requests"]
                  if r["path"] == "/version"]
        self.assertGreaterEqual(len(probes), 2)
        self.assertLessEqual(len(probes), 10, probes)
        self.fk.control("POST", "up")
        wait_state(n, "steady", lambda s: s["state"] == "ready", timeout=15, what="recovered")

    def test_rejected_manifest_fails_others_unaffected(self):
        n = self.node
        bad = deployment("bad")
        del bad["spec"]["template"]["spec"]["containers"][0]["image"]
        probe = self.fk.apply("/apis/apps/v1/namespaces/default/deployments/bad",
                              dict(bad, metadata={"name": "bad", "namespace": "default"}),
                              dry_run=True)
        self.assertEqual(probe.status, 422)
        message = probe.json["message"].replace("default", "demo")
        self.fx.apply(n, "broken", [configmap("broken-cfg", {"a": "1"}), bad])
        self.fx.apply(n, "fine", [configmap("fine-cfg", {"a": "1"}), deployment("fine")])
        st = wait_state(n, "broken", lambda s: s["state"] == "failed", what="broken failed")
        self.assertIn(message, st["reason"])
        wait_state(n, "fine", lambda s: s["state"] == "ready", what="fine ready")
        self.assertEqual(site_intent(n, "broken")["state"], "failed")
        m = n.metrics()
        self.assertGreaterEqual(m[("shoal_site_intents", frozenset({("state", "failed")}))], 1)
        self.assertGreaterEqual(m[("shoal_site_intents", frozenset({("state", "ready")}))], 1)
        self.fx.delete(n, "broken")
        wait_until(lambda: site_intent(n, "broken") is None, 10, "broken removed")

    def test_image_pull_backoff_shows_waiting_image(self):
        n = self.node
        self.fx.apply(n, "pull", [deployment("pull", replicas=2)])
        wait_state(n, "pull", lambda s: s["state"] == "ready" and s["pods"]["running"] == 2)
        r = self.fk.control("POST", "pod-state", {"namespace": "demo",
                                                  "labelSelector": "app=pull",
                                                  "state": "ImagePullBackOff"})
        self.assertEqual(r.status, 200)
        st = wait_state(n, "pull", lambda s: s["pods"]["waiting-image"] == 2,
                        what="pods waiting for their image")
        self.assertEqual(st["pods"]["running"], 0)
        wait_state(n, "pull", lambda s: s["state"] == "degraded" and
                   "waiting for image" in s["reason"])

    def test_not_selected_is_not_applied_and_label_change_prunes(self):
        n = self.node
        self.fx.apply(n, "elsewhere", [configmap("elsewhere-cfg", {"a": "1"})],
                      selector="region=us")
        self.fx.apply(n, "k8s-only", [configmap("versioned-cfg", {"a": "1"})],
                      selector="sys.shoal.io/k8s-version=v1.30.0-fakekube")
        # The engine learnt the server's version: the site's label says it,
        # and an intent selecting by it lands.
        wait_until(lambda: n.self_info()["labels"].get("sys.shoal.io/k8s-version")
                   == "v1.30.0-fakekube", 10, "k8s-version label")
        wait_state(n, "k8s-only", lambda s: s["state"] == "ready")
        time.sleep(0.5)
        self.assertIsNone(site_intent(n, "elsewhere"))
        self.assertTrue(self.gone("/api/v1/namespaces/demo/configmaps/elsewhere-cfg"))
        # Narrowed so that it no longer selects this site: pruned.
        self.fx.apply(n, "k8s-only", [configmap("versioned-cfg", {"a": "1"})],
                      selector="sys.shoal.io/k8s-version=v1.30.0-fakekube,region=us")
        wait_until(lambda: self.gone("/api/v1/namespaces/demo/configmaps/versioned-cfg"), 10,
                   "pruned once not selected")
        wait_until(lambda: site_intent(n, "k8s-only") is None, 10, "state dropped")
        causes = [e["cause"] for e in n.events("intent_prune")
                  if e.get("name") == "k8s-only" and e.get("status") == "removing"]
        self.assertEqual(causes, ["not selected"])

    def test_app_namespace_is_the_default(self):
        n = self.node
        cm = configmap("ns-cfg", {"a": "1"})
        del cm["metadata"]["namespace"]
        path = os.path.join(self.fx.mesh.tmp, "ns.yaml")
        with open(path, "w") as f:
            f.write(app_yaml("ns-app", [cm], "region=jp").replace(
                "spec:\n", "spec:\n  namespace: team-a\n", 1))
        r = self.fx.ctl(n, "apply", "-f", path, "--key", os.path.join(self.fx.keys, "root.key"))
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_state(n, "ns-app", lambda s: s["state"] == "ready")
        self.assertEqual(self.get("/api/v1/namespaces/team-a/configmaps/ns-cfg").status, 200)


class ClusterConfigTest(unittest.TestCase):
    def setUp(self):
        self.t0 = time.monotonic()
        self.fx = Fixture("shoal-rec-cfg-")

    def tearDown(self):
        reports = self.fx.close()
        print(f"\n  {self.id().rsplit('.', 1)[-1]}: {time.monotonic() - self.t0:.1f} s",
              end="", flush=True)
        sanitizer_check(self, reports)

    def test_no_cluster_reports_pending(self):
        node = self.fx.mesh.add("bare", labels={"region": "jp"}, start=False,
                                extra_args=["--trust", self.fx.trust])
        node.env = {"KUBECONFIG": ""}  # whatever the caller's environment says
        node.start().wait_ready()
        self.fx.apply(node, "lonely", [configmap("c", {"a": "1"})])
        st = wait_state(node, "lonely", lambda s: s["state"] == "pending")
        self.assertEqual(st["reason"], "no Kubernetes cluster configured (--kubeconfig)")
        self.assertFalse(site_intents(node)["cluster"])
        self.assertEqual(node.metric("shoal_k8s_cluster"), 0)
        self.assertEqual(node.metric("shoal_site_intents", state="pending"), 1)
        self.fx.delete(node, "lonely")
        wait_until(lambda: site_intent(node, "lonely") is None, 10, "pending state dropped")

    def test_bad_kubeconfig_refused_at_start(self):
        bad = os.path.join(self.fx.mesh.tmp, "kubeconfig")
        with open(bad, "w") as f:
            f.write("apiVersion: v1\nkind: Config\nclusters: []\ncurrent-context: nope\n")
        node = self.fx.mesh.add("badkube", extra_args=["--kubeconfig", bad])
        rc = node.proc.wait(timeout=20)
        self.assertEqual(rc, 2)
        err = node.stderr_tail()
        self.assertIn("Kubernetes cluster", err)
        self.assertIn(bad, err)
        missing = os.path.join(self.fx.mesh.tmp, "no-such-kubeconfig")
        node = self.fx.mesh.add("nokube", extra_args=["--kubeconfig", missing])
        self.assertEqual(node.proc.wait(timeout=20), 2)
        self.assertIn(missing, node.stderr_tail())


class MeshReconcileTest(unittest.TestCase):
    """Five sites, five clusters."""

    LABELS = [{"region": "jp", "env": "prod"}, {"region": "jp", "env": "dev"},
              {"region": "us", "env": "prod"}, {"region": "us", "env": "dev"},
              {"region": "eu", "env": "prod"}]

    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        cls.fx = Fixture("shoal-rec-mesh-")
        try:
            cls.nodes, cls.fks = [], []
            for i, labels in enumerate(cls.LABELS):
                fk = cls.fx.fake()
                node = cls.fx.mesh.add(f"s{i + 1}", labels=labels, extra_args=[
                    "--trust", cls.fx.trust, "--kubeconfig", fk.info["kubeconfig"]])
                cls.nodes.append(node)
                cls.fks.append(fk)
            for node in cls.nodes:
                node.wait_ready()
            cls.fx.mesh.wait_converged(timeout=60)
        except BaseException:
            cls.fx.close()
            raise

    @classmethod
    def tearDownClass(cls):
        reports = cls.fx.close()
        print(f"\n  MeshReconcileTest: {time.monotonic() - cls.t0:.1f} s", end="", flush=True)
        finish_suite(reports)

    def landed(self, i, path):
        return self.fks[i].get(path).status == 200

    def expect(self, name, path, selected, timeout=30):
        """The intent lands and is ready on `selected` sites, and nowhere else."""
        for i in selected:
            wait_until(lambda: self.landed(i, path), timeout, f"{name} on s{i + 1}'s cluster")
            wait_state(self.nodes[i], name, lambda s: s["state"] == "ready", timeout=timeout)
        # Every site has judged the latest version by now (they all hold it).
        version = self.nodes[selected[0]].get(f"/v1/intents/App/{name}")["version"]
        wait_until(lambda: all(n.api(f"/v1/intents/App/{name}")[1].get("version") == version
                               for n in self.nodes), 15, "every site holds the intent")
        time.sleep(0.5)
        for i in range(len(self.nodes)):
            if i not in selected:
                self.assertFalse(self.landed(i, path), f"{name} landed on s{i + 1}")
                self.assertIsNone(site_intent(self.nodes[i], name), f"s{i + 1}")

    def test_selector_lands_on_selected_sites_only(self):
        t0 = time.monotonic()
        self.fx.apply(self.nodes[4], "jp-web", [deployment("jp-web"), service("jp-web")],
                      selector="region=jp")
        self.expect("jp-web", "/apis/apps/v1/namespaces/demo/deployments/jp-web", [0, 1])
        st = site_intent(self.nodes[0], "jp-web")
        self.assertEqual(st["pods"]["running"], 1)
        print(f"\n  selector: landed and ready in {time.monotonic() - t0:.1f} s", end="")

        # Any node answers for the rollout: the fleet view and shoalctl status
        # show the ready counts from the sites' replicated health records.
        far = self.nodes[3]

        def jp_web():
            st, body = far.api("/v1/fleet")
            its = [i for i in body["intents"] if i["name"] == "jp-web"] if st == 200 else []
            return its[0] if its else None
        it = wait_until(lambda: (lambda i: i if i and i["states"]["ready"] == 2 else None)(
            jp_web()), 20, "jp-web ready on 2 sites in s4's /v1/fleet")
        self.assertEqual(it["selected"], 2)
        self.assertEqual(it["replicated"], 2)
        r = self.fx.ctl(far, "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        row = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("App ")]
        self.assertEqual(row[0][:3], ["App", "jp-web", "2/2"], r.stdout)

        # A pod stuck pulling its image on s1 shows as waiting for image in the
        # fleet view of another node, and s1's copy of the intent as degraded.
        r = self.fks[0].control("POST", "pod-state", {"namespace": "demo",
                                                      "labelSelector": "app=jp-web",
                                                      "state": "ImagePullBackOff"})
        self.assertEqual(r.status, 200)
        body = wait_until(lambda: (lambda b: b if b["pods"]["waiting-image"] >= 1 else None)(
            far.api("/v1/fleet")[1]), 20, "waiting-image in s4's /v1/fleet")
        wait_until(lambda: (lambda i: i if i and i["states"]["degraded"] == 1 else None)(
            jp_web()), 20, "jp-web degraded on s1 in s4's /v1/fleet")

    def test_granted_key_lands_inside_target_and_scope(self):
        ops = os.path.join(self.fx.keys, "ops")
        r = self.fx.mesh.shoalctl("keygen", "--out", ops)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.fx.ctl(self.nodes[0], "key", "grant", "--pub", ops + ".pub", "--scope",
                        "env=prod", "--expires", "1h", "--key",
                        os.path.join(self.fx.keys, "root.key"))
        self.assertEqual(r.returncode, 0, r.stderr)
        # Every node holds the grant before the intent it covers is applied.
        wait_until(lambda: all(n.api("/v1/intents")[1]["count"] >= 1 for n in self.nodes), 15,
                   "the grant everywhere")
        self.fx.apply(self.nodes[2], "prod-web", [configmap("prod-web", {"a": "1"})],
                      selector="region in (jp,us)", key="ops")
        self.expect("prod-web", "/api/v1/namespaces/demo/configmaps/prod-web", [0, 2])


if __name__ == "__main__":
    unittest.main()
