"""Nothing Shoal applied is left behind: sets a restarted shoald was never
handed again are found from their records on the cluster and removed when
their intent does not select the site.

RestartTest: one shoald with its own fakekube. A removal cut short by
SIGKILL (the API server failing the Deployment's DELETE) is finished after
the restart, reported `applying`/"removing" meanwhile; a set whose intent
still selects the site is left exactly as it was (same uid and
resourceVersion: nothing deleted and re-created); objects and ApplySet
parents Shoal did not make are never touched.

MeshRestartTest: two shoald; the intent is deleted at one while the other,
whose cluster runs it, is stopped. Started again, the second catches up on
the tombstone and prunes.

Fast profile: the reconciler polls every 100 ms, the engine's backoff runs
from 50 ms to 3 s.
"""
import hashlib
import time
import unittest

from .mesh import SuiteTimer, sanitizer_check, wait_until
from .test_reconcile import Fixture, configmap, deployment, site_intent, wait_state

TIMER = SuiteTimer("test_reconcile_orphans")
PART_OF = "applyset.kubernetes.io/part-of"
DOOMED_DEPLOY = "/apis/apps/v1/namespaces/demo/deployments/doomed"
DOOMED_CM = "/api/v1/namespaces/demo/configmaps/doomed-cfg"
KEEP_CM = "/api/v1/namespaces/demo/configmaps/keep-cfg"


def setUpModule():
    TIMER.start()


def tearDownModule():
    TIMER.stop()


def record_path(fk, obj_path):
    """The ApplySet record of the set an object belongs to."""
    label = fk.get(obj_path).json["metadata"]["labels"][PART_OF]
    return f"/api/v1/namespaces/default/configmaps/applyset-{label}"


def identity(fk, path):
    meta = fk.get(path).json["metadata"]
    return meta["uid"], meta["resourceVersion"]


def prunes(node, name):
    return [e for e in node.events("intent_prune") if e.get("name") == name]


class RestartTest(unittest.TestCase):
    def setUp(self):
        self.t0 = time.monotonic()
        self.fx = Fixture("shoal-rec-orph-")
        self.fk = self.fx.fake()
        self.node = self.fx.mesh.add("o1", labels={"region": "jp"}, extra_args=[
            "--trust", self.fx.trust, "--kubeconfig", self.fk.info["kubeconfig"]])
        self.node.wait_ready()

    def tearDown(self):
        reports = self.fx.close()
        print(f"\n  {self.id().rsplit('.', 1)[-1]}: {time.monotonic() - self.t0:.1f} s",
              end="", flush=True)
        sanitizer_check(self, reports)

    def gone(self, path):
        return self.fk.get(path).status == 404

    def foreign_objects(self):
        """What other hands put on the cluster: a plain ConfigMap, a kubectl
        ApplySet parent in the records' namespace and one of its members."""
        fk = self.fk
        objs = {
            "/api/v1/namespaces/demo/configmaps/handmade":
                configmap("handmade", {"by": "hand"}),
            "/api/v1/namespaces/default/configmaps/applyset-kubectl-parent": {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "applyset-kubectl-parent", "namespace": "default",
                             "labels": {"applyset.kubernetes.io/id": "applyset-abc-v1"},
                             "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.29",
                                             "applyset.kubernetes.io/contains-group-kinds":
                                                 "ConfigMap"}}},
            "/api/v1/namespaces/demo/configmaps/kubectl-member": {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kubectl-member", "namespace": "demo",
                             "labels": {PART_OF: "applyset-abc-v1"}},
                "data": {"a": "1"}},
        }
        for path, obj in objs.items():
            self.assertIn(fk.apply(path, obj, manager="kubectl").status, (200, 201), path)
        return {path: identity(fk, path) for path in objs}

    def test_removal_cut_by_sigkill_is_finished_after_restart(self):
        n, fk = self.node, self.fk
        self.fx.apply(n, "keep", [configmap("keep-cfg", {"a": "1"})])
        self.fx.apply(n, "doomed", [deployment("doomed"), configmap("doomed-cfg", {"a": "1"})])
        wait_state(n, "keep", lambda s: s["state"] == "ready")
        wait_state(n, "doomed", lambda s: s["state"] == "ready")
        foreign = self.foreign_objects()
        doomed_record = record_path(fk, DOOMED_DEPLOY)
        keep_record = record_path(fk, KEEP_CM)
        record = fk.get(doomed_record).json["metadata"]["annotations"]
        self.assertEqual(record["shoal/set-id"], "App/doomed")
        kept = {p: identity(fk, p) for p in (KEEP_CM, keep_record)}

        # The API server fails the Deployment's DELETE: the removal cannot end.
        r = fk.control("POST", "fail", {"method": "DELETE", "path": "deployments/doomed$",
                                         "code": 503})
        self.assertEqual(r.status, 200)
        fk.control("DELETE", "requests")
        self.fx.delete(n, "doomed")
        wait_until(lambda: any(q["method"] == "DELETE" and q["path"] == DOOMED_DEPLOY
                               for q in fk.control("GET", "requests").json["requests"]),
                   10, "the Deployment's DELETE refused")
        st = wait_state(n, "doomed", lambda s: s["state"] == "applying")
        self.assertTrue(st["reason"].startswith("removing"), st)
        n.kill()
        self.assertEqual(fk.get(DOOMED_DEPLOY).status, 200)
        self.assertEqual(fk.get(doomed_record).status, 200)

        # Started again, still failing: the node found the set on the cluster
        # and says it is removing it.
        t0 = time.monotonic()
        n.start().wait_ready()
        st = wait_state(n, "doomed", lambda s: s["state"] == "applying", timeout=10,
                        what="doomed removing after the restart")
        self.assertTrue(st["reason"].startswith("removing"), st)
        self.assertEqual(st["version"], n.get("/v1/intents/App/doomed")["version"])
        found = n.events("reconcile_found")
        self.assertEqual(len(found), 1, found)
        self.assertEqual((found[0]["apps"], found[0]["unnamed"]), (2, 0), found)
        fk.control("DELETE", "fail")
        wait_until(lambda: self.gone(DOOMED_DEPLOY) and self.gone(DOOMED_CM) and
                   self.gone(doomed_record), 15, "doomed removed after the restart")
        print(f"\n  removal finished {time.monotonic() - t0:.1f} s after the restart",
              end="")
        wait_until(lambda: site_intent(n, "doomed") is None, 10, "doomed state dropped")
        self.assertEqual([(e["status"], e.get("cause")) for e in prunes(n, "doomed")],
                         [("removing", "deleted"), ("removed", None)])

        # Still selected: applied again without a change, nothing re-created.
        wait_state(n, "keep", lambda s: s["state"] == "ready")
        self.assertEqual(prunes(n, "keep"), [])
        for path, ident in kept.items():
            self.assertEqual(identity(fk, path), ident, path)
        # Not Shoal's: untouched.
        for path, ident in foreign.items():
            self.assertEqual(identity(fk, path), ident, path)
        deletes = [q for q in fk.control("GET", "requests").json["requests"]
                   if q["method"] == "DELETE" and "doomed" not in q["path"] and
                   q["path"] != doomed_record]
        self.assertEqual(deletes, [])

    def test_intent_unknown_to_the_store_is_orphaned(self):
        """A set whose intent the store does not hold at all (its tombstone
        collected, the data dir replaced) is removed as orphaned, but not
        by a node that is resyncing from an empty store."""
        n, fk = self.node, self.fk
        stray_cm = "/api/v1/namespaces/demo/configmaps/stray-cfg"
        self.fx.apply(n, "stray", [configmap("stray-cfg", {"a": "1"})])
        wait_state(n, "stray", lambda s: s["state"] == "ready")
        stray_record = record_path(fk, stray_cm)
        n.kill()
        # Another data dir on the same cluster: an empty store resyncs, and
        # a resyncing node does not know yet what the fleet holds.
        other = self.fx.mesh.add("o2", labels={"region": "jp"}, extra_args=[
            "--trust", self.fx.trust, "--kubeconfig", fk.info["kubeconfig"]])
        other.wait_ready()
        wait_until(lambda: other.events("reconcile_found"), 10, "records listed")
        self.fx.apply(other, "other", [configmap("other-cfg", {"a": "1"})])
        wait_state(other, "other", lambda s: s["state"] == "ready")
        self.assertEqual(fk.get(stray_cm).status, 200)
        self.assertEqual(prunes(other, "stray"), [])
        # Restarted with a store that holds something, and never held
        # "stray": that set is nobody's, and goes.
        other.kill()
        t0 = time.monotonic()
        other.start().wait_ready()
        wait_until(lambda: fk.get(stray_cm).status == 404 and fk.get(stray_record).status == 404,
                   15, "stray removed")
        print(f"\n  orphan removed {time.monotonic() - t0:.1f} s after the restart", end="")
        wait_until(lambda: [e["status"] for e in prunes(other, "stray")] ==
                   ["removing", "removed"], 10, "prune events")
        self.assertEqual(prunes(other, "stray")[0]["cause"], "orphaned")
        wait_until(lambda: site_intent(other, "stray") is None, 10, "state dropped")
        wait_state(other, "other", lambda s: s["state"] == "ready")
        self.assertEqual(fk.get("/api/v1/namespaces/demo/configmaps/other-cfg").status, 200)


    def test_record_without_set_id_matched_by_label(self):
        """Records written before records named their set: matched to an
        intent of the store by the label (a hash of the set id); one that no
        intent hashes to (another program's set) is left alone."""
        n, fk = self.node, self.fk

        def legacy_set(set_id, cm_name):
            label = "shoal-" + hashlib.sha256(set_id.encode()).hexdigest()[:24]
            cm = configmap(cm_name, {"a": "1"}, ns="default")
            cm["metadata"]["labels"] = {PART_OF: label}
            path = f"/api/v1/namespaces/default/configmaps/{cm_name}"
            self.assertEqual(fk.apply(path, cm, force=True).status, 201)
            rec = f"/api/v1/namespaces/default/configmaps/applyset-{label}"
            self.assertEqual(fk.apply(rec, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": f"applyset-{label}", "namespace": "default",
                             "labels": {"applyset.kubernetes.io/id": label},
                             "annotations": {
                                 "shoal/resources": "v1|ConfigMap|configmaps|N",
                                 "applyset.kubernetes.io/contains-group-kinds": "ConfigMap",
                                 "applyset.kubernetes.io/tooling": "shoal/v1"}}},
                force=True).status, 201)
            return path, rec

        # "legacy" selected another region and was deleted: the store holds
        # its tombstone, and no entry.
        self.fx.apply(n, "legacy", [configmap("legacy-cfg", {"a": "1"})], selector="region=us")
        self.fx.delete(n, "legacy")
        legacy = legacy_set("App/legacy", "legacy-cfg")
        driver = legacy_set("web", "driver-cfg")
        driver_ident = {p: identity(fk, p) for p in driver}
        n.kill()
        n.start().wait_ready()
        wait_until(lambda: all(fk.get(p).status == 404 for p in legacy), 15, "legacy removed")
        found = n.events("reconcile_found")
        self.assertEqual((found[0]["apps"], found[0]["unnamed"]), (0, 2), found)
        wait_until(lambda: [e["status"] for e in prunes(n, "legacy")] == ["removing", "removed"],
                   10, "prune events")
        self.assertEqual(prunes(n, "legacy")[0]["cause"], "deleted")
        wait_until(lambda: n.events("reconcile_unclaimed"), 10, "unclaimed record logged")
        self.assertEqual(n.events("reconcile_unclaimed")[0]["sets"], 1)
        time.sleep(0.5)
        for path, ident in driver_ident.items():
            self.assertEqual(identity(fk, path), ident, path)


class MeshRestartTest(unittest.TestCase):
    def setUp(self):
        self.t0 = time.monotonic()
        self.fx = Fixture("shoal-rec-orph-mesh-")

    def tearDown(self):
        reports = self.fx.close()
        print(f"\n  {self.id().rsplit('.', 1)[-1]}: {time.monotonic() - self.t0:.1f} s",
              end="", flush=True)
        sanitizer_check(self, reports)

    def test_deleted_while_down_is_pruned_after_restart(self):
        fk = self.fx.fake()
        a = self.fx.mesh.add("ma", labels={"region": "us"}, extra_args=["--trust", self.fx.trust])
        b = self.fx.mesh.add("mb", labels={"region": "jp"}, join=[a], extra_args=[
            "--trust", self.fx.trust, "--kubeconfig", fk.info["kubeconfig"]])
        a.wait_ready()
        b.wait_ready()
        self.fx.mesh.wait_converged(timeout=30)
        self.fx.apply(a, "gone-while-down", [configmap("gwd-cfg", {"a": "1"}),
                                             deployment("gwd")])
        wait_state(b, "gone-while-down", lambda s: s["state"] == "ready", timeout=30)
        record = record_path(fk, "/api/v1/namespaces/demo/configmaps/gwd-cfg")
        self.assertEqual(b.terminate(), 0)
        self.fx.delete(a, "gone-while-down")
        self.assertEqual(fk.get("/apis/apps/v1/namespaces/demo/deployments/gwd").status, 200)
        t0 = time.monotonic()
        b.start().wait_ready()
        wait_until(lambda: fk.get("/apis/apps/v1/namespaces/demo/deployments/gwd").status == 404
                   and fk.get("/api/v1/namespaces/demo/configmaps/gwd-cfg").status == 404
                   and fk.get(record).status == 404, 30, "pruned after the restart")
        print(f"\n  pruned {time.monotonic() - t0:.1f} s after the restart", end="")
        wait_until(lambda: site_intent(b, "gone-while-down") is None, 10, "state dropped")
        ev = prunes(b, "gone-while-down")
        self.assertEqual([e["status"] for e in ev], ["removing", "removed"], ev)
        self.assertEqual(ev[0]["cause"], "deleted")


if __name__ == "__main__":
    unittest.main()
