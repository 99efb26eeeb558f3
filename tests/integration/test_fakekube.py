"""The contract fakekube is held to: the parts of the Kubernetes API Shoal uses,
answered as the real API documents them, over real TLS from the kubeconfig.

Discovery lists only served kinds; server-side apply creates, updates,
removes fields a manager dropped while keeping others' fields, answers 409 on
a conflict without force and 422 on an invalid object, and records
managedFields; LIST and DELETE honour selectors; WATCH streams changes and
answers 410 for a stale resourceVersion; tests can set status fields; and the
token is enforced.
"""
import base64
import http.client
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from .fakekube_client import FakeKube, read_kubeconfig

FAKE = None
NS = "contract"


def setUpModule():
    global FAKE
    FAKE = FakeKube("--crd-delay", "0.3", "--bookmark-interval", "0.3")
    r = FAKE.apply("/api/v1/namespaces/" + NS, {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": NS}})
    assert r.status == 201, r


def tearDownModule():
    if FAKE:
        FAKE.stop()


def deployment(name, replicas=2, image="nginx:1.25", labels=None, extra_env=None):
    labels = labels or {"app": name}
    container = {"name": "web", "image": image, "ports": [{"containerPort": 80}]}
    if extra_env:
        container["env"] = extra_env
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS, "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [container]}}}}


def configmap(name, data, labels=None, ns=NS):
    meta = {"name": name, "namespace": ns}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def dep_path(name, ns=NS):
    return f"/apis/apps/v1/namespaces/{ns}/deployments/{name}"


def cm_path(name="", ns=NS):
    return f"/api/v1/namespaces/{ns}/configmaps" + (f"/{name}" if name else "")


def managers(obj):
    return {(m["manager"], m["operation"]): m for m in obj["metadata"].get("managedFields", [])}


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class AccessTest(unittest.TestCase):
    def test_kubeconfig_names_an_https_server_its_ca_verifies(self):
        kc = FAKE.kubeconfig
        self.assertTrue(kc["server"].startswith("https://127.0.0.1:"), kc["server"])
        self.assertIn("BEGIN CERTIFICATE", kc["ca_pem"])
        self.assertTrue(kc["token"])
        r = FAKE.get("/version")
        self.assertEqual(r.status, 200, r)

    def test_server_certificate_is_rejected_without_the_ca(self):
        conn = FAKE.connect(context=ssl.create_default_context())
        with self.assertRaises(ssl.SSLCertVerificationError):
            conn.request("GET", "/api")
        conn.close()

    def test_no_token_or_wrong_token_is_401_status(self):
        for token in (None, "not-the-token"):
            r = FAKE.get("/api/v1/namespaces", token=token)
            self.assertEqual(r.status, 401, r)
            self.assertEqual(r.json["kind"], "Status")
            self.assertEqual(r.json["status"], "Failure")
            self.assertEqual(r.json["reason"], "Unauthorized")
            self.assertEqual(r.json["code"], 401)

    def test_kubeconfig_variants_each_authenticate(self):
        base = os.path.dirname(FAKE.info["kubeconfig"])

        files = read_kubeconfig(os.path.join(base, "kubeconfig-files"))
        with open(files["tokenFile"]) as f:
            token = f.read().strip()
        ctx = ssl.create_default_context(cafile=files["certificate-authority"])
        conn = FAKE.connect(context=ctx)
        conn.request("GET", "/api", headers={"Authorization": "Bearer " + token})
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

        execd = read_kubeconfig(os.path.join(base, "kubeconfig-exec"))
        out = subprocess.run([execd["command"], *execd["args"]], stdout=subprocess.PIPE,
                             check=True).stdout
        cred = json.loads(out)
        self.assertEqual((cred["apiVersion"], cred["kind"]),
                         ("client.authentication.k8s.io/v1", "ExecCredential"))
        self.assertEqual(FAKE.get("/api", token=cred["status"]["token"]).status, 200)

        # A client certificate signed by the CA authenticates without any token.
        cert = read_kubeconfig(os.path.join(base, "kubeconfig-cert"))
        self.assertNotIn("token", cert)
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for key in ("client-certificate-data", "client-key-data"):
                paths.append(os.path.join(tmp, key))
                with open(paths[-1], "wb") as f:
                    f.write(base64.b64decode(cert[key]))
            ctx = ssl.create_default_context(cadata=cert["ca_pem"])
            ctx.load_cert_chain(*paths)
        conn = FAKE.connect(context=ctx)
        conn.request("GET", "/api/v1/namespaces/default")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def test_plain_http_mode_still_enforces_the_token(self):
        fk = FakeKube("--plain-http")
        try:
            self.assertTrue(fk.kubeconfig["server"].startswith("http://"))
            self.assertIsNone(fk.kubeconfig["ca_pem"])
            self.assertEqual(fk.get("/api", token=None).status, 401)
            self.assertEqual(fk.get("/api").json["versions"], ["v1"])
        finally:
            fk.stop()


class DiscoveryTest(unittest.TestCase):
    def test_core_and_groups_list_the_served_kinds(self):
        self.assertEqual(FAKE.get("/api").json["versions"], ["v1"])
        groups = {g["name"]: g for g in FAKE.get("/apis").json["groups"]}
        for g in ("apps", "batch", "apiextensions.k8s.io"):
            self.assertIn(g, groups)
        self.assertEqual(groups["apps"]["preferredVersion"]["groupVersion"], "apps/v1")
        core = {r["name"]: r for r in FAKE.get("/api/v1").json["resources"]}
        for name, kind, namespaced in (("namespaces", "Namespace", False),
                                       ("configmaps", "ConfigMap", True),
                                       ("secrets", "Secret", True),
                                       ("services", "Service", True),
                                       ("serviceaccounts", "ServiceAccount", True),
                                       ("pods", "Pod", True)):
            self.assertEqual(core[name]["kind"], kind)
            self.assertEqual(core[name]["namespaced"], namespaced)
            self.assertIn("patch", core[name]["verbs"])
            self.assertIn("watch", core[name]["verbs"])
        apps = FAKE.get("/apis/apps/v1").json
        self.assertEqual(apps["kind"], "APIResourceList")
        self.assertEqual(apps["groupVersion"], "apps/v1")
        kinds = {r["name"]: r["kind"] for r in apps["resources"]}
        self.assertEqual(kinds["deployments"], "Deployment")
        self.assertEqual(kinds["statefulsets"], "StatefulSet")
        self.assertEqual(kinds["daemonsets"], "DaemonSet")
        batch = {r["name"]: r["kind"] for r in FAKE.get("/apis/batch/v1").json["resources"]}
        self.assertEqual(batch["jobs"], "Job")
        crd = FAKE.get("/apis/apiextensions.k8s.io/v1").json["resources"]
        self.assertIn(("customresourcedefinitions", False),
                      [(r["name"], r["namespaced"]) for r in crd])

    def test_unknown_groups_and_resources_are_404_status(self):
        for path in ("/apis/example.com/v1", "/apis/apps/v2",
                     "/apis/apps/v1/namespaces/default/replicasets",
                     "/api/v1/namespaces/default/widgets/x"):
            r = FAKE.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual((r.json["kind"], r.json["reason"]), ("Status", "NotFound"), path)

    def test_serve_lists_only_the_chosen_kinds_and_404s_the_rest(self):
        fk = FakeKube("--serve", "Namespace,ConfigMap")
        try:
            core = sorted(r["name"] for r in fk.get("/api/v1").json["resources"])
            self.assertEqual(core, ["configmaps", "namespaces", "namespaces/status"])
            self.assertEqual(fk.get("/apis").json["groups"], [])
            self.assertEqual(fk.get("/apis/apps/v1").status, 404)
            r = fk.apply("/apis/apps/v1/namespaces/default/deployments/web",
                         dict(deployment("web"), metadata={"name": "web"}))
            self.assertEqual(r.status, 404, r)
            self.assertEqual(fk.get("/api/v1/namespaces/default/pods").status, 404)
            self.assertEqual(fk.apply(cm_path("c", "default"), configmap("c", {"k": "v"},
                                                                          ns="default")).status,
                             201)
        finally:
            fk.stop()

    def test_crd_kind_is_served_once_established(self):
        crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "widgets.example.com"},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                                  "listKind": "WidgetList"},
                        "versions": [{"name": "v1", "served": True, "storage": True,
                                      "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
        r = FAKE.apply(path, crd, force=True)
        self.assertEqual(r.status, 201, r)
        # Not served until Established: the client must wait for the condition.
        self.assertEqual(FAKE.get("/apis/example.com/v1").status, 404)

        def established():
            conds = (FAKE.get(path).json.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conds)
        wait_until(established, 5, "CRD Established=True")
        res = FAKE.get("/apis/example.com/v1").json["resources"]
        self.assertIn(("widgets", "Widget", True),
                      [(x["name"], x["kind"], x["namespaced"]) for x in res])
        self.assertIn("example.com", [g["name"] for g in FAKE.get("/apis").json["groups"]])
        w = {"apiVersion": "example.com/v1", "kind": "Widget",
             "metadata": {"name": "w1", "namespace": NS}, "spec": {"size": 3}}
        wpath = f"/apis/example.com/v1/namespaces/{NS}/widgets/w1"
        self.assertEqual(FAKE.apply(wpath, w).status, 201)
        listed = FAKE.get(f"/apis/example.com/v1/namespaces/{NS}/widgets").json
        self.assertEqual(listed["kind"], "WidgetList")
        self.assertEqual(listed["items"][0]["kind"], "Widget")  # custom resources keep it
        self.assertEqual(FAKE.request("DELETE", path).status, 200)
        self.assertEqual(FAKE.get("/apis/example.com/v1").status, 404)
        self.assertEqual(FAKE.get(wpath).status, 404)


class ApplyTest(unittest.TestCase):
    def test_apply_creates_then_updates(self):
        r = FAKE.apply(dep_path("create"), deployment("create"))
        self.assertEqual(r.status, 201, r)
        obj = r.json
        meta = obj["metadata"]
        self.assertEqual((obj["apiVersion"], obj["kind"]), ("apps/v1", "Deployment"))
        self.assertEqual(meta["generation"], 1)
        self.assertTrue(meta["uid"])
        self.assertRegex(meta["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        rv1 = int(meta["resourceVersion"])

        # The same configuration again changes nothing: no new resourceVersion.
        same = FAKE.apply(dep_path("create"), deployment("create"))
        self.assertEqual(same.status, 200)
        self.assertEqual(int(same.json["metadata"]["resourceVersion"]), rv1)

        r = FAKE.apply(dep_path("create"), deployment("create", image="nginx:1.26"))
        self.assertEqual(r.status, 200, r)
        meta2 = r.json["metadata"]
        self.assertEqual(meta2["uid"], meta["uid"])
        self.assertEqual(meta2["creationTimestamp"], meta["creationTimestamp"])
        self.assertEqual(meta2["generation"], 2)
        self.assertGreater(int(meta2["resourceVersion"]), rv1)
        got = FAKE.get(dep_path("create")).json
        self.assertEqual(got["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26")

        # A label-only change is not a spec change: generation stays.
        r = FAKE.apply(dep_path("create"), dict(deployment("create", image="nginx:1.26"),
                                                metadata={"name": "create", "labels": {
                                                    "app": "create", "tier": "web"}}))
        self.assertEqual(r.json["metadata"]["generation"], 2)

    def test_resource_versions_increase_across_kinds(self):
        a = FAKE.apply(cm_path("rv-a"), configmap("rv-a", {"x": "1"})).json
        b = FAKE.apply(dep_path("rv-b"), deployment("rv-b")).json
        c = FAKE.apply(cm_path("rv-a"), configmap("rv-a", {"x": "2"})).json
        rvs = [int(o["metadata"]["resourceVersion"]) for o in (a, b, c)]
        self.assertEqual(rvs, sorted(set(rvs)))

    def test_managed_fields_record_the_applied_fields(self):
        obj = FAKE.apply(dep_path("mf"), deployment(
            "mf", extra_env=[{"name": "MODE", "value": "prod"}])).json
        entry = managers(obj)[("shoal", "Apply")]
        self.assertEqual(entry["fieldsType"], "FieldsV1")
        self.assertEqual(entry["apiVersion"], "apps/v1")
        self.assertTrue(entry["time"])
        f = entry["fieldsV1"]
        self.assertIn("f:app", f["f:metadata"]["f:labels"])
        self.assertIn("f:replicas", f["f:spec"])
        container = f["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
        self.assertIn(".", container)
        self.assertIn("f:image", container)
        self.assertIn('k:{"containerPort":80,"protocol":"TCP"}', container["f:ports"])
        self.assertIn('k:{"name":"MODE"}', container["f:env"])
        self.assertNotIn("f:status", f)
        self.assertNotIn("f:name", f.get("f:metadata", {}))

    def test_dropped_field_is_removed_but_another_managers_field_stays(self):
        r = FAKE.apply(cm_path("drop"), configmap("drop", {"a": "1", "b": "2"},
                                                  labels={"shared": "yes", "mine": "1"}))
        self.assertEqual(r.status, 201, r)
        # A second manager owns key c and shares label "shared" (same value).
        r = FAKE.apply(cm_path("drop"), configmap("drop", {"c": "3"}, labels={"shared": "yes"}),
                       manager="other")
        self.assertEqual(r.status, 200, r)
        r = FAKE.apply(cm_path("drop"), configmap("drop", {"a": "1"}, labels={}))
        self.assertEqual(r.status, 200, r)
        obj = FAKE.get(cm_path("drop")).json
        self.assertEqual(obj["data"], {"a": "1", "c": "3"})
        self.assertEqual(obj["metadata"]["labels"], {"shared": "yes"})
        m = managers(obj)
        self.assertEqual(set(m[("shoal", "Apply")]["fieldsV1"]["f:data"]), {"f:a"})
        self.assertEqual(set(m[("other", "Apply")]["fieldsV1"]["f:data"]), {"f:c"})

    def test_dropped_list_item_is_removed(self):
        env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
        FAKE.apply(dep_path("items"), deployment("items", extra_env=env))
        FAKE.apply(dep_path("items"), deployment("items", extra_env=env[:1]))
        c = FAKE.get(dep_path("items")).json["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(c["env"], [{"name": "A", "value": "1"}])

    def test_conflict_without_force_then_force_moves_ownership(self):
        path = dep_path("conflict")
        self.assertEqual(FAKE.apply(path, deployment("conflict", replicas=2)).status, 201)
        # Someone edits the replica count by hand (an Update, not an Apply).
        r = FAKE.merge_patch(path, {"spec": {"replicas": 5}}, manager="kubectl-edit")
        self.assertEqual(r.status, 200, r)
        edit = managers(r.json)[("kubectl-edit", "Update")]
        self.assertIn("f:replicas", edit["fieldsV1"]["f:spec"])
        self.assertNotIn("f:replicas",
                         managers(r.json)[("shoal", "Apply")]["fieldsV1"]["f:spec"])
        rv = r.json["metadata"]["resourceVersion"]

        r = FAKE.apply(path, deployment("conflict", replicas=2))
        self.assertEqual(r.status, 409, r)
        self.assertEqual((r.json["kind"], r.json["reason"], r.json["code"]),
                         ("Status", "Conflict", 409))
        self.assertIn("kubectl-edit", r.json["message"])
        causes = r.json["details"]["causes"]
        self.assertEqual([(c["type"], c["field"]) for c in causes],
                         [("FieldManagerConflict", ".spec.replicas")])
        unchanged = FAKE.get(path).json
        self.assertEqual(unchanged["spec"]["replicas"], 5)
        self.assertEqual(unchanged["metadata"]["resourceVersion"], rv)

        # Applying the value the other manager set is no conflict: ownership is shared.
        self.assertEqual(FAKE.apply(path, deployment("conflict", replicas=5)).status, 200)
        FAKE.merge_patch(path, {"spec": {"replicas": 7}}, manager="kubectl-edit")

        r = FAKE.apply(path, deployment("conflict", replicas=2), force=True)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["spec"]["replicas"], 2)
        m = managers(r.json)
        self.assertIn("f:replicas", m[("shoal", "Apply")]["fieldsV1"]["f:spec"])
        edit = m.get(("kubectl-edit", "Update"))
        self.assertTrue(edit is None or "f:replicas" not in edit["fieldsV1"].get("f:spec", {}))

    def test_invalid_objects_are_rejected_and_change_nothing(self):
        cases = [
            ("bad_name", deployment("bad_name"), "metadata.name"),
            ("no-selector", dict(deployment("no-selector"), spec=dict(
                deployment("no-selector")["spec"], selector=None)), "spec.selector"),
            ("mismatch", dict(deployment("mismatch"), spec=dict(
                deployment("mismatch")["spec"],
                selector={"matchLabels": {"app": "other"}})), "spec.template.metadata.labels"),
            ("no-image", dict(deployment("no-image"), spec=dict(
                deployment("no-image")["spec"], template={
                    "metadata": {"labels": {"app": "no-image"}},
                    "spec": {"containers": [{"name": "web"}]}})),
             "spec.template.spec.containers[0].image"),
        ]
        for name, obj, field in cases:
            r = FAKE.apply(dep_path(name), obj)
            self.assertEqual(r.status, 422, (name, r))
            self.assertEqual((r.json["kind"], r.json["reason"]), ("Status", "Invalid"))
            self.assertEqual(r.json["details"]["kind"], "Deployment")
            self.assertIn(field, [c["field"] for c in r.json["details"]["causes"]], name)
            self.assertIn(field, r.json["message"])
            self.assertEqual(FAKE.get(dep_path(name)).status, 404, name)

        r = FAKE.apply(cm_path("noname"), {"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"namespace": NS}, "data": {}})
        self.assertEqual(r.status, 422, r)
        r = FAKE.request("POST", cm_path(), {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {}, "data": {}})
        self.assertEqual(r.status, 422, r)
        self.assertIn("metadata.name", [c["field"] for c in r.json["details"]["causes"]])

    def test_body_disagreeing_with_the_url_is_400(self):
        r = FAKE.apply(cm_path("url-name"), configmap("body-name", {}))
        self.assertEqual(r.status, 400, r)
        self.assertIn("does not match the name on the URL", r.json["message"])
        r = FAKE.apply(cm_path("kind"), dict(configmap("kind", {}), kind="Secret"))
        self.assertEqual((r.status, r.json["reason"]), (400, "BadRequest"))
        r = FAKE.apply(dep_path("av"), dict(deployment("av"), apiVersion="apps/v1beta1"))
        self.assertEqual((r.status, r.json["reason"]), (400, "BadRequest"))
        self.assertEqual(FAKE.get(cm_path("url-name")).status, 404)

    def test_missing_namespace_is_404(self):
        r = FAKE.apply(cm_path("x", ns="nowhere"), configmap("x", {}, ns="nowhere"))
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json["reason"], "NotFound")
        self.assertEqual(r.json["message"], 'namespaces "nowhere" not found')

    def test_dry_run_stores_nothing(self):
        r = FAKE.apply(cm_path("dry"), configmap("dry", {"k": "v"}), dry_run=True)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["data"], {"k": "v"})
        self.assertEqual(FAKE.get(cm_path("dry")).status, 404)
        self.assertEqual(FAKE.apply(cm_path("dry"), configmap("dry", {}), dry_run=True,
                                    manager="m").status, 201)

    def test_yaml_body(self):
        text = (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml\n  namespace: {NS}\n"
                "data:\n  greeting: hello\n")
        r = FAKE.apply(cm_path("yaml"), None, raw=text)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["data"], {"greeting": "hello"})

    def test_post_put_get_delete(self):
        r = FAKE.request("POST", cm_path(), configmap("crud", {"a": "1"}),
                         headers={"User-Agent": "kubectl/v1.30"})
        self.assertEqual(r.status, 201, r)
        self.assertIn(("kubectl", "Update"), managers(r.json))
        self.assertEqual(FAKE.request("POST", cm_path(), configmap("crud", {})).json["reason"],
                         "AlreadyExists")
        obj = FAKE.get(cm_path("crud")).json
        obj["data"] = {"a": "2"}
        r = FAKE.request("PUT", cm_path("crud"), obj)
        self.assertEqual((r.status, r.json["data"]), (200, {"a": "2"}))
        stale = dict(obj, data={"a": "3"})  # carries the old resourceVersion
        self.assertEqual(FAKE.request("PUT", cm_path("crud"), stale).status, 409)
        r = FAKE.request("DELETE", cm_path("crud"))
        self.assertEqual((r.status, r.json["status"]), (200, "Success"))
        self.assertEqual(FAKE.get(cm_path("crud")).status, 404)
        self.assertEqual(FAKE.request("DELETE", cm_path("crud")).status, 404)


class PatchTest(unittest.TestCase):
    def test_strategic_merge_patch_merges_keyed_lists(self):
        path = dep_path("smp")
        FAKE.apply(path, deployment("smp", extra_env=[{"name": "A", "value": "1"}]))
        r = FAKE.request("PATCH", path, {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "env": [{"name": "B", "value": "2"}]}]}}}},
            ctype="application/strategic-merge-patch+json", query={"fieldManager": "kubectl"})
        self.assertEqual(r.status, 200, r)
        c = r.json["spec"]["template"]["spec"]["containers"]
        self.assertEqual(len(c), 1)
        self.assertEqual(c[0]["image"], "nginx:1.25")
        self.assertEqual(c[0]["env"], [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        self.assertEqual(r.json["metadata"]["generation"], 2)
        fields = managers(r.json)[("kubectl", "Update")]["fieldsV1"]
        env = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
        self.assertEqual(set(env["f:env"]), {'k:{"name":"B"}'})

    def test_status_subresource_changes_only_status(self):
        path = dep_path("sub")
        FAKE.apply(path, deployment("sub"))
        r = FAKE.request("PATCH", path + "/status", {"status": {"readyReplicas": 1},
                                                     "spec": {"replicas": 9}},
                         ctype="application/merge-patch+json")
        self.assertEqual(r.status, 200, r)
        obj = FAKE.get(path + "/status").json
        self.assertEqual(obj["status"], {"readyReplicas": 1})
        self.assertEqual(obj["spec"]["replicas"], 2)
        self.assertEqual(obj["metadata"]["generation"], 1)

    def test_unsupported_patch_type_is_415(self):
        r = FAKE.request("PATCH", dep_path("sub"), [], ctype="application/json-patch+json")
        self.assertEqual((r.status, r.json["reason"]), (415, "UnsupportedMediaType"))

    def test_immutable_selector_is_422(self):
        path = dep_path("immut")
        FAKE.apply(path, deployment("immut"))
        r = FAKE.apply(path, deployment("immut", labels={"app": "immut", "v": "2"}))
        self.assertEqual(r.status, 422, r)
        self.assertIn("field is immutable", r.json["message"])


class SelectorTest(unittest.TestCase):
    NSX = "selectors"

    @classmethod
    def setUpClass(cls):
        FAKE.apply(f"/api/v1/namespaces/{cls.NSX}", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": cls.NSX}})
        for name, labels in (("a", {"app": "x", "tier": "web"}),
                             ("b", {"app": "y", "tier": "db"}),
                             ("c", {"app": "z"}),
                             ("d", {})):
            r = FAKE.apply(cm_path(name, cls.NSX), configmap(name, {}, labels, ns=cls.NSX))
            assert r.status in (200, 201), r

    def names(self, **query):
        r = FAKE.get(cm_path(ns=self.NSX), query=query)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["kind"], "ConfigMapList")
        self.assertTrue(r.json["metadata"]["resourceVersion"].isdigit())
        return sorted(i["metadata"]["name"] for i in r.json["items"])

    def test_label_selector_operators(self):
        cases = {"app=x": ["a"], "app==y": ["b"], "app!=x": ["b", "c", "d"],
                 "app in (x,z)": ["a", "c"], "app notin (x, z)": ["b", "d"],
                 "tier": ["a", "b"], "!tier": ["c", "d"], "app,tier!=db": ["a", "c"],
                 "app in (x,y),tier=web": ["a"], "": ["a", "b", "c", "d"]}
        for sel, want in cases.items():
            self.assertEqual(self.names(labelSelector=sel), want, sel)

    def test_field_selector_and_bad_selectors(self):
        self.assertEqual(self.names(fieldSelector="metadata.name=b"), ["b"])
        self.assertEqual(self.names(fieldSelector="metadata.name!=b"), ["a", "c", "d"])
        for q in ({"labelSelector": "app in (x"}, {"labelSelector": "a b c"},
                  {"labelSelector": "-bad=1"}, {"fieldSelector": "spec.nope=1"}):
            r = FAKE.get(cm_path(ns=self.NSX), query=q)
            self.assertEqual((r.status, r.json["reason"]), (400, "BadRequest"), q)

    def test_list_items_and_all_namespaces(self):
        r = FAKE.get(cm_path(ns=self.NSX)).json
        self.assertNotIn("kind", r["items"][0])  # built-in list items carry no kind
        every = FAKE.get("/api/v1/configmaps", query={"labelSelector": "app=x"}).json
        self.assertIn((self.NSX, "a"), [(i["metadata"]["namespace"], i["metadata"]["name"])
                                        for i in every["items"]])

    def test_limit_and_continue_page_through(self):
        seen, token = [], None
        while True:
            q = {"limit": "3"}
            if token:
                q["continue"] = token
            page = FAKE.get(cm_path(ns=self.NSX), query=q).json
            seen += [i["metadata"]["name"] for i in page["items"]]
            token = page["metadata"].get("continue")
            if not token:
                break
        self.assertEqual(seen, ["a", "b", "c", "d"])


class DeleteTest(unittest.TestCase):
    def test_delete_collection_honours_the_label_selector(self):
        ns = "delcoll"
        FAKE.apply(f"/api/v1/namespaces/{ns}", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": ns}})
        for name, part in (("m1", "set-1"), ("m2", "set-1"), ("m3", "set-2")):
            FAKE.apply(cm_path(name, ns), configmap(
                name, {}, {"applyset.kubernetes.io/part-of": part}, ns=ns))
        r = FAKE.request("DELETE", cm_path(ns=ns),
                         query={"labelSelector": "applyset.kubernetes.io/part-of=set-1"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(i["metadata"]["name"] for i in r.json["items"]), ["m1", "m2"])
        left = FAKE.get(cm_path(ns=ns)).json["items"]
        self.assertEqual([i["metadata"]["name"] for i in left], ["m3"])

    def test_deleting_a_namespace_deletes_its_objects(self):
        ns = "doomed"
        FAKE.apply(f"/api/v1/namespaces/{ns}", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": ns}})
        FAKE.apply(cm_path("c", ns), configmap("c", {}, ns=ns))
        FAKE.apply(dep_path("d", ns), dict(deployment("d"), metadata={"name": "d",
                                                                      "namespace": ns}))
        r = FAKE.request("DELETE", f"/api/v1/namespaces/{ns}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"]["phase"], "Terminating")
        self.assertEqual(FAKE.get(cm_path("c", ns)).status, 404)
        self.assertEqual(FAKE.get(dep_path("d", ns)).status, 404)
        self.assertEqual(FAKE.get(f"/api/v1/namespaces/{ns}").status, 404)


class WatchTest(unittest.TestCase):
    def test_watch_streams_added_modified_deleted(self):
        listed = FAKE.get(cm_path(), query={"labelSelector": "watch=me"}).json
        rv = listed["metadata"]["resourceVersion"]
        w = FAKE.watch(cm_path(), {"resourceVersion": rv, "labelSelector": "watch=me"})
        try:
            self.assertEqual(w.status, 200)
            self.assertEqual(w.headers.get("Transfer-Encoding"), "chunked")
            FAKE.apply(cm_path("w1"), configmap("w1", {"v": "1"}, {"watch": "me"}))
            FAKE.apply(cm_path("ignored"), configmap("ignored", {}, {"watch": "not-me"}))
            FAKE.apply(cm_path("w1"), configmap("w1", {"v": "2"}, {"watch": "me"}))
            FAKE.request("DELETE", cm_path("w1"))
            evs = w.until(lambda e: e["type"] == "DELETED")
            evs = [e for e in evs if e["type"] != "BOOKMARK"]
            self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in evs],
                             [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")])
            self.assertEqual(evs[1]["object"]["data"], {"v": "2"})
            self.assertEqual(evs[0]["object"]["kind"], "ConfigMap")
            rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
            self.assertEqual(rvs, sorted(rvs))
            self.assertGreater(rvs[0], int(rv))
        finally:
            w.close()

    def test_object_leaving_the_selection_is_deleted_for_the_watch(self):
        FAKE.apply(cm_path("leaver"), configmap("leaver", {}, {"group": "in"}))
        w = FAKE.watch(cm_path(), {"labelSelector": "group=in"})  # no rv: current state first
        try:
            first = w.until(lambda e: e["type"] == "ADDED"
                            and e["object"]["metadata"]["name"] == "leaver")
            self.assertTrue(first)
            FAKE.apply(cm_path("leaver"), configmap("leaver", {}, {"group": "out"}))
            ev = w.until(lambda e: e["type"] != "BOOKMARK")[-1]
            self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]),
                             ("DELETED", "leaver"))
        finally:
            w.close()

    def test_bookmarks_when_allowed_and_timeout_ends_the_stream(self):
        rv = FAKE.get(cm_path()).json["metadata"]["resourceVersion"]
        w = FAKE.watch(cm_path(), {"resourceVersion": rv, "allowWatchBookmarks": "true",
                                   "timeoutSeconds": "2"})
        try:
            ev = w.until(lambda e: e["type"] == "BOOKMARK")[-1]
            self.assertGreaterEqual(int(ev["object"]["metadata"]["resourceVersion"]), int(rv))
            start = time.monotonic()
            while w.next_event() is not None:
                pass
            self.assertLess(time.monotonic() - start, 5)
        finally:
            w.close()

    def test_stale_resource_version_gets_410_gone(self):
        fk = FakeKube("--history", "5")
        try:
            ns = "default"
            rv0 = fk.get(cm_path(ns=ns)).json["metadata"]["resourceVersion"]
            for i in range(3):
                fk.apply(cm_path(f"h{i}", ns), configmap(f"h{i}", {}, ns=ns))
            # Within the window: the watch replays what happened since rv0.
            w = fk.watch(cm_path(ns=ns), {"resourceVersion": rv0})
            evs = w.until(lambda e: e["object"]["metadata"]["name"] == "h2")
            self.assertEqual([e["type"] for e in evs], ["ADDED"] * 3)
            w.close()
            for i in range(10):
                fk.apply(cm_path("churn", ns), configmap("churn", {"i": str(i)}, ns=ns))
            w = fk.watch(cm_path(ns=ns), {"resourceVersion": rv0})
            try:
                self.assertEqual(w.status, 200)
                ev = w.next_event()
                self.assertEqual(ev["type"], "ERROR")
                self.assertEqual((ev["object"]["kind"], ev["object"]["code"],
                                  ev["object"]["reason"]), ("Status", 410, "Expired"))
                self.assertIn("too old resource version", ev["object"]["message"])
                self.assertIsNone(w.next_event())  # and the stream ends
            finally:
                w.close()
            # A fresh LIST gives a resourceVersion the watch accepts again.
            rv = fk.get(cm_path(ns=ns)).json["metadata"]["resourceVersion"]
            w = fk.watch(cm_path(ns=ns), {"resourceVersion": rv})
            fk.apply(cm_path("after", ns), configmap("after", {}, ns=ns))
            self.assertEqual(w.next_event()["type"], "ADDED")
            w.close()
        finally:
            fk.stop()


class StatusTest(unittest.TestCase):
    def make_pod(self, name):
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": NS, "labels": {"pod": name}},
               "spec": {"containers": [{"name": "main", "image": "busybox"}]}}
        r = FAKE.request("POST", f"/api/v1/namespaces/{NS}/pods", pod)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["status"]["phase"], "Pending")

    def pod_state(self, name, state):
        r = FAKE.control("POST", "pod-state", {"namespace": NS, "name": name, "state": state})
        self.assertEqual(r.status, 200, r)
        return FAKE.get(f"/api/v1/namespaces/{NS}/pods/{name}").json["status"]

    def test_pods_can_be_made_to_fail_or_become_ready(self):
        self.make_pod("p1")
        st = self.pod_state("p1", "ImagePullBackOff")
        self.assertEqual(st["phase"], "Pending")
        self.assertEqual(st["containerStatuses"][0]["state"]["waiting"]["reason"],
                         "ImagePullBackOff")
        st = self.pod_state("p1", "CrashLoopBackOff")
        self.assertEqual(st["containerStatuses"][0]["state"]["waiting"]["reason"],
                         "CrashLoopBackOff")
        st = self.pod_state("p1", "OOMKilled")
        self.assertEqual(st["containerStatuses"][0]["lastState"]["terminated"]["reason"],
                         "OOMKilled")
        st = self.pod_state("p1", "Unschedulable")
        sched = [c for c in st["conditions"] if c["type"] == "PodScheduled"][0]
        self.assertEqual((sched["status"], sched["reason"]), ("False", "Unschedulable"))
        st = self.pod_state("p1", "Running")
        self.assertEqual(st["phase"], "Running")
        ready = [c for c in st["conditions"] if c["type"] == "Ready"][0]
        self.assertEqual(ready["status"], "True")
        self.assertTrue(st["containerStatuses"][0]["ready"])
        r = FAKE.control("POST", "pod-state", {"namespace": NS, "name": "p1", "state": "Bogus"})
        self.assertEqual(r.status, 400)

    def test_status_endpoint_sets_workload_status_without_touching_generation(self):
        FAKE.apply(dep_path("stat"), deployment("stat", replicas=3))
        w = FAKE.watch(dep_path("").rsplit("/", 1)[0],
                       {"resourceVersion": FAKE.get(dep_path("stat")).json["metadata"][
                           "resourceVersion"], "fieldSelector": "metadata.name=stat"})
        try:
            r = FAKE.control("POST", "status", {"path": dep_path("stat"), "status": {
                "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
                "readyReplicas": 3, "availableReplicas": 3,
                "conditions": [{"type": "Available", "status": "True"}]}})
            self.assertEqual(r.status, 200, r)
            ev = w.until(lambda e: e["type"] == "MODIFIED")[-1]
            self.assertEqual(ev["object"]["status"]["readyReplicas"], 3)
        finally:
            w.close()
        obj = FAKE.get(dep_path("stat")).json
        self.assertEqual(obj["metadata"]["generation"], 1)
        self.assertEqual(obj["status"]["availableReplicas"], 3)
        # Apply through the main endpoint does not overwrite status.
        FAKE.apply(dep_path("stat"), dict(deployment("stat", replicas=3),
                                          status={"readyReplicas": 0}))
        self.assertEqual(FAKE.get(dep_path("stat")).json["status"]["readyReplicas"], 3)

    def test_controller_mode_creates_ready_pods_that_follow_the_workload(self):
        fk = FakeKube("--controller", "--ready-delay", "0.2")
        try:
            path = "/apis/apps/v1/namespaces/default/deployments/demo"
            dep = deployment("demo", replicas=2)
            dep["metadata"]["namespace"] = "default"
            self.assertEqual(fk.apply(path, dep).status, 201)

            def status(want):
                s = fk.get(path).json.get("status") or {}
                return s if s.get("readyReplicas") == want and \
                    s.get("observedGeneration") == fk.get(path).json["metadata"][
                        "generation"] else None
            wait_until(lambda: status(2), 10, "2 ready replicas")
            pods = fk.get("/api/v1/namespaces/default/pods",
                          query={"labelSelector": "app=demo"}).json["items"]
            self.assertEqual(len(pods), 2)
            self.assertTrue(all(p["status"]["phase"] == "Running" for p in pods))
            self.assertEqual(pods[0]["metadata"]["ownerReferences"][0]["kind"], "Deployment")

            dep["spec"]["replicas"] = 3
            fk.apply(path, dep)
            wait_until(lambda: status(3), 10, "3 ready replicas")
            one = fk.get("/api/v1/namespaces/default/pods",
                         query={"labelSelector": "app=demo"}).json["items"][0]
            fk.control("POST", "pod-state", {"namespace": "default",
                                             "name": one["metadata"]["name"],
                                             "state": "ImagePullBackOff"})
            wait_until(lambda: (fk.get(path).json["status"].get("readyReplicas") == 2), 10,
                       "readyReplicas to drop to 2")
            fk.request("DELETE", path)
            wait_until(lambda: not fk.get("/api/v1/namespaces/default/pods").json["items"], 10,
                       "pods of the deleted deployment to go")
        finally:
            fk.stop()


class FaultTest(unittest.TestCase):
    def tearDown(self):
        FAKE.control("POST", "up")
        FAKE.control("DELETE", "fail")

    def test_down_refuse_answers_503_and_up_recovers(self):
        FAKE.control("POST", "down", {"mode": "refuse"})
        r = FAKE.get("/api")
        self.assertEqual((r.status, r.json["reason"]), (503, "ServiceUnavailable"))
        FAKE.control("POST", "up")
        self.assertEqual(FAKE.get("/api").status, 200)

    def test_down_close_drops_connections_and_ends_watches(self):
        w = FAKE.watch(cm_path(), {"resourceVersion": FAKE.get(cm_path()).json["metadata"][
            "resourceVersion"]})
        FAKE.control("POST", "down", {"mode": "close"})
        with self.assertRaises((http.client.HTTPException, OSError)):
            FAKE.get("/api")  # connection closed with no response
        # The open watch ends too (cut off, without the final chunk; http.client
        # reports that as a plain end of stream, libcurl as a partial transfer).
        start = time.monotonic()
        try:
            while w.next_event() is not None:
                pass
        except (http.client.HTTPException, OSError):
            pass
        finally:
            w.close()
        self.assertLess(time.monotonic() - start, 3)
        FAKE.control("POST", "up")
        self.assertEqual(FAKE.get("/api").status, 200)

    def test_injected_failures_are_answered_as_status_then_cleared(self):
        r = FAKE.control("POST", "fail", {"method": "PATCH", "path": "/configmaps/inj",
                                          "code": 500, "count": 2})
        self.assertEqual(r.status, 200, r)
        for _ in range(2):
            r = FAKE.apply(cm_path("inj"), configmap("inj", {}))
            self.assertEqual((r.status, r.json["kind"], r.json["reason"]),
                             (500, "Status", "InternalError"))
        self.assertEqual(FAKE.apply(cm_path("inj"), configmap("inj", {})).status, 201)

    def test_concurrent_applies_each_land_once(self):
        # Many clients at once: every apply lands once, resourceVersions stay unique.
        results = []

        def worker(i):
            results.append(FAKE.apply(cm_path(f"par-{i}"), configmap(f"par-{i}", {"i": str(i)})))
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(r.status for r in results), [201] * 8)
        rvs = {r.json["metadata"]["resourceVersion"] for r in results}
        self.assertEqual(len(rvs), 8)


if __name__ == "__main__":
    unittest.main()
