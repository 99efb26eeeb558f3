"""The apply engine (k8s/) against fakekube over real HTTPS.

Each test starts a fake API server and build/<flavour>/tests/k8s-driver, the
engine behind a line protocol, then checks the cluster through the fake's
own API and the engine's status snapshot. Timing bounds are generous: the
engine ticks every 100 ms, the fake's controller makes workloads ready
after --ready-delay, and a sanitizer build is several times slower.
"""
import base64
import json
import os
import select
import subprocess
import tempfile
import time
import unittest

from tests.integration.fakekube_client import FakeKube

BIN = os.environ.get("SHOAL_BIN", "build/san")
DRIVER = os.path.join(BIN, "tests", "k8s-driver")
PART_OF = "applyset.kubernetes.io/part-of"


def deployment(name, ns="demo", replicas=1, image="nginx:1.25", extra_env=None):
    c = {"name": name, "image": image, "ports": [{"containerPort": 80}]}
    if extra_env:
        c["env"] = extra_env
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


def to_yaml(objs):
    """Multi-document YAML by hand (JSON flow style is YAML): the engine's
    YAML path is what a person writes, so exercise it."""
    return "".join("---\n" + json.dumps(o, indent=2) + "\n" for o in objs)


class Driver:
    def __init__(self, kubeconfig, *args):
        self.dir = tempfile.mkdtemp(prefix="k8s-driver-")
        self.n = 0
        self.proc = subprocess.Popen(
            [DRIVER, "--kubeconfig", kubeconfig, "--seed", "7", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        hello = self._read(20)
        if not hello.get("ok"):
            raise RuntimeError("driver did not start: " + self.proc.stderr.read().decode())

    def _read(self, timeout=10):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise AssertionError("driver did not answer")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("driver exited: " + self.proc.stderr.read().decode())
        return json.loads(line)

    def cmd(self, text):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()
        return self._read()

    def apply(self, set_id, objs=None, text=None):
        self.n += 1
        path = os.path.join(self.dir, f"m{self.n}")
        with open(path, "w") as f:
            f.write(text if text is not None else to_yaml(objs))
        return self.cmd(f"apply {set_id} {path}")

    def status(self, set_id):
        return self.cmd(f"status {set_id}")

    def wait(self, set_id, pred, timeout=20, what=""):
        end = time.monotonic() + timeout
        st = None
        while time.monotonic() < end:
            st = self.status(set_id)
            if pred(st):
                return st
            time.sleep(0.1)
        raise AssertionError(f"{what or 'condition'} not reached; last status {st}")

    def close(self):
        err = b""
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
            except (AssertionError, BrokenPipeError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read()
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.proc.stderr.close()
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)
        return self.proc.returncode, err.decode(errors="replace")


def wait_for(pred, timeout=15, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached in {timeout} s")


class K8sApplyTest(unittest.TestCase):
    fk_args = ("--controller", "--ready-delay", "0.3")

    def setUp(self):
        self.fk = FakeKube(*self.fk_args)
        self.drivers = []

    def tearDown(self):
        for d in self.drivers:
            rc, err = d.close()
            # A sanitizer report (leak, use after free) fails the test.
            self.assertNotIn("ERROR: AddressSanitizer", err)
            self.assertNotIn("runtime error", err)
            self.assertEqual(rc, 0, err)
        self.fk.stop()

    def driver(self, *args, kubeconfig=None):
        d = Driver(kubeconfig or self.fk.info["kubeconfig"], "--pod-poll", "300", *args)
        self.drivers.append(d)
        return d

    def get(self, path):
        return self.fk.get(path)

    def test_apply_update_prune_remove(self):
        d = self.driver()
        objs = [deployment("web"), service("web"), configmap("web-config", {"a": "1"})]
        self.assertTrue(d.apply("shop", objs)["ok"])
        st = d.wait("shop", lambda s: s["state"] == "ready", what="ready")
        self.assertEqual((st["objects"], st["applied"], st["workloads"], st["workloads_ready"]),
                         (3, 3, 1, 1))
        for path in ("/apis/apps/v1/namespaces/demo/deployments/web",
                     "/api/v1/namespaces/demo/services/web",
                     "/api/v1/namespaces/demo/configmaps/web-config"):
            r = self.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.json["metadata"]["labels"][PART_OF].startswith("shoal-"))
            managers = [m["manager"] for m in r.json["metadata"]["managedFields"]]
            self.assertIn("shoal", managers)
        # The namespace was created for the set but is not one of its members.
        ns = self.get("/api/v1/namespaces/demo")
        self.assertEqual(ns.status, 200)
        self.assertNotIn(PART_OF, ns.json["metadata"].get("labels", {}))
        d.wait("shop", lambda s: s["pods"]["running"] == 1, what="one running pod")

        # Change: updated in place.
        objs = [deployment("web", replicas=2), service("web"),
                configmap("web-config", {"a": "2"})]
        self.assertTrue(d.apply("shop", objs)["ok"])
        wait_for(lambda: self.get("/api/v1/namespaces/demo/configmaps/web-config")
                 .json["data"] == {"a": "2"}, what="configmap updated")
        wait_for(lambda: self.get("/apis/apps/v1/namespaces/demo/deployments/web")
                 .json["spec"]["replicas"] == 2, what="replicas updated")
        d.wait("shop", lambda s: s["state"] == "ready" and s["pods"]["running"] == 2,
               what="two pods running")

        # Drop the ConfigMap: pruned; the others stay.
        self.assertTrue(d.apply("shop", objs[:2])["ok"])
        wait_for(lambda: self.get("/api/v1/namespaces/demo/configmaps/web-config")
                 .status == 404, what="configmap pruned")
        self.assertEqual(self.get("/api/v1/namespaces/demo/services/web").status, 200)
        d.wait("shop", lambda s: s["state"] == "ready" and s["objects"] == 2)

        # Remove the set: everything of it goes, the namespace stays.
        self.assertTrue(d.cmd("remove shop")["ok"])
        self.assertEqual(d.status("shop")["state"], "applying")
        wait_for(lambda: self.get("/apis/apps/v1/namespaces/demo/deployments/web").status
                 == 404 and self.get("/api/v1/namespaces/demo/services/web").status == 404,
                 what="set removed")
        wait_for(lambda: d.status("shop").get("error") == "not_found", what="set forgotten")
        self.assertEqual(self.get("/api/v1/namespaces/demo").status, 200)

    def test_manual_change_is_put_back(self):
        d = self.driver()
        objs = [configmap("cfg", {"mode": "blue"}), deployment("api")]
        d.apply("s", objs)
        d.wait("s", lambda s: s["state"] == "ready", what="ready")
        passes = d.status("s")["passes"]
        # A human edits the ConfigMap and scales the Deployment by hand.
        self.assertEqual(self.fk.merge_patch("/api/v1/namespaces/demo/configmaps/cfg",
                                             {"data": {"mode": "green"}}).status, 200)
        self.fk.merge_patch("/apis/apps/v1/namespaces/demo/deployments/api",
                            {"spec": {"replicas": 5}})
        wait_for(lambda: self.get("/api/v1/namespaces/demo/configmaps/cfg")
                 .json["data"]["mode"] == "blue", what="configmap put back")
        wait_for(lambda: self.get("/apis/apps/v1/namespaces/demo/deployments/api")
                 .json["spec"]["replicas"] == 1, what="replicas put back")
        d.wait("s", lambda s: s["passes"] > passes, what="a re-apply pass")
        # Deleted by hand: created again.
        self.assertEqual(self.fk.request("DELETE", "/api/v1/namespaces/demo/configmaps/cfg")
                         .status, 200)
        wait_for(lambda: self.get("/api/v1/namespaces/demo/configmaps/cfg").status == 200,
                 what="configmap recreated")
        # A labelled object the set does not hold is pruned.
        stray = configmap("stray", {"x": "1"})
        stray["metadata"]["labels"] = {PART_OF: self.get(
            "/api/v1/namespaces/demo/configmaps/cfg").json["metadata"]["labels"][PART_OF]}
        self.assertEqual(self.fk.apply("/api/v1/namespaces/demo/configmaps/stray", stray,
                                       manager="someone").status, 201)
        wait_for(lambda: self.get("/api/v1/namespaces/demo/configmaps/stray").status == 404,
                 what="stray pruned")

    def test_prune_and_remove_after_a_restart(self):
        d = self.driver()
        d.apply("shop", [configmap("cfg", {"a": "1"}), deployment("web")])
        d.wait("shop", lambda s: s["state"] == "ready", what="ready")
        label = self.get("/api/v1/namespaces/demo/configmaps/cfg").json["metadata"]["labels"][
            PART_OF]
        record = self.get(f"/api/v1/namespaces/default/configmaps/applyset-{label}")
        self.assertEqual(record.status, 200)
        ann = record.json["metadata"]["annotations"]
        self.assertEqual(ann["applyset.kubernetes.io/contains-group-kinds"],
                         "ConfigMap,Deployment.apps")
        self.assertEqual(record.json["metadata"]["labels"]["applyset.kubernetes.io/id"], label)
        # A new process knows nothing of Deployments, yet prunes the one the
        # set dropped: the record on the cluster says where to look.
        self.drivers.remove(d)
        d.close()
        d = self.driver()
        d.apply("shop", [configmap("cfg", {"a": "1"})])
        wait_for(lambda: self.get("/apis/apps/v1/namespaces/demo/deployments/web").status == 404,
                 what="deployment pruned after restart")
        d.wait("shop", lambda s: s["state"] == "ready")
        wait_for(lambda: self.get(f"/api/v1/namespaces/default/configmaps/applyset-{label}")
                 .json["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
                 == "ConfigMap", what="record narrowed")
        d.cmd("remove shop")
        wait_for(lambda: d.status("shop").get("error") == "not_found", what="removed")
        self.assertEqual(self.get("/api/v1/namespaces/demo/configmaps/cfg").status, 404)
        self.assertEqual(
            self.get(f"/api/v1/namespaces/default/configmaps/applyset-{label}").status, 404)

    def test_found_and_removed_by_a_new_process(self):
        d = self.driver()
        d.apply("App/shop", [configmap("cfg", {"a": "1"}), deployment("web")])
        d.wait("App/shop", lambda s: s["state"] == "ready", what="ready")
        label = self.get("/api/v1/namespaces/demo/configmaps/cfg").json["metadata"]["labels"][
            PART_OF]
        record = f"/api/v1/namespaces/default/configmaps/applyset-{label}"
        self.assertEqual(self.get(record).json["metadata"]["annotations"]["shoal/set-id"],
                         "App/shop")
        # Neither records: another tool's ApplySet parent, and a ConfigMap
        # named like a record whose label does not match its name.
        self.fk.apply("/api/v1/namespaces/default/configmaps/applyset-kubectl", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "applyset-kubectl", "namespace": "default",
                         "labels": {"applyset.kubernetes.io/id": "applyset-abc-v1"},
                         "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.29"}}},
            manager="kubectl")
        self.fk.apply("/api/v1/namespaces/default/configmaps/applyset-shoal-" + "0" * 24, {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "applyset-shoal-" + "0" * 24, "namespace": "default",
                         "labels": {"applyset.kubernetes.io/id": label},
                         "annotations": {"applyset.kubernetes.io/tooling": "shoal/v1"}}},
            manager="kubectl")
        self.drivers.remove(d)
        d.close()
        # A new process finds the set from its record, and removes it
        # without ever having applied it.
        d = self.driver()
        found = wait_for(lambda: (lambda r: r if r["listed"] else None)(d.cmd("found")),
                         what="records listed")
        self.assertEqual(found["sets"], [{"id": "App/shop", "label": label}])
        self.assertEqual(d.cmd("list")["sets"], [])
        self.assertTrue(d.cmd("remove App/shop")["ok"])
        self.assertTrue(d.status("App/shop")["reason"].startswith("removing"))
        wait_for(lambda: d.status("App/shop").get("error") == "not_found", what="removed")
        for path in ("/api/v1/namespaces/demo/configmaps/cfg",
                     "/apis/apps/v1/namespaces/demo/deployments/web", record):
            self.assertEqual(self.get(path).status, 404, path)
        self.assertEqual(
            self.get("/api/v1/namespaces/default/configmaps/applyset-kubectl").status, 200)
        # A set with no record: nothing to delete, gone at once.
        self.assertTrue(d.cmd("remove never-applied")["ok"])
        wait_for(lambda: d.status("never-applied").get("error") == "not_found",
                 what="unknown set forgotten")
        self.assertEqual(d.cmd("remove")["error"], "unknown command")

    def test_watch_relists_after_410(self):
        # A first retry 1-2 s after a failure leaves time to age the
        # watch's resourceVersion while it is cut off.
        d = self.driver("--backoff-min", "2000", "--backoff-max", "2000")
        d.apply("s", [configmap("cfg", {"k": "v"})])
        d.wait("s", lambda s: s["state"] == "ready", what="ready")
        time.sleep(0.5)  # the watch is open
        passes = d.status("s")["passes"]
        # Cut the watch, move the cluster on and forget all history: resuming
        # from the old resourceVersion gets 410 Gone, so it must list again.
        self.fk.control("POST", "down", {"mode": "close"})
        time.sleep(0.3)
        self.fk.control("POST", "up")
        self.fk.apply("/api/v1/namespaces/default/configmaps/other",
                      configmap("other", {"a": "b"}, ns="default"), manager="someone")
        self.fk.control("POST", "compact")
        self.fk.control("DELETE", "requests")
        def relisted():
            return [r for r in self.fk.control("GET", "requests").json["requests"]
                    if r["path"] == "/api/v1/configmaps" and r["method"] == "GET" and
                    "watch" not in r["query"] and r["code"] == 200]
        wait_for(relisted, what="re-list after 410")
        # The LIST came from the watch, not from a new apply pass.
        self.assertEqual(d.status("s")["passes"], passes)
        self.fk.merge_patch("/api/v1/namespaces/demo/configmaps/cfg", {"data": {"k": "edited"}})
        wait_for(lambda: self.get("/api/v1/namespaces/demo/configmaps/cfg")
                 .json["data"]["k"] == "v", what="put back after re-list")

    def test_server_down_backoff_then_recovery(self):
        d = self.driver("--backoff-min", "200", "--backoff-max", "800")
        d.apply("s", [configmap("cfg", {"v": "1"})])
        d.wait("s", lambda s: s["state"] == "ready", what="ready")
        self.fk.control("POST", "down", {"mode": "refuse"})
        self.fk.control("DELETE", "requests")
        d.apply("s", [configmap("cfg", {"v": "2"})])
        time.sleep(3.0)
        st = d.status("s")
        self.assertIn(st["state"], ("applying", "degraded"))
        self.assertIn("retrying", st["reason"])
        self.assertGreaterEqual(st["retries"], 2)
        # Each attempt's first write (creating the namespace, then the apply)
        # is refused; watches retry on their own and are not counted.
        patches = [r for r in self.fk.control("GET", "requests").json["requests"]
                   if r["method"] in ("PATCH", "POST")]
        # Backoff 200 ms doubling to 800 ms with half-jitter: at most ~10
        # attempts in 3 s (one per 100 ms tick without backoff would be 30).
        self.assertGreaterEqual(len(patches), 2)
        self.assertLessEqual(len(patches), 10, patches)
        self.assertTrue(all(r["code"] == 503 for r in patches))
        self.fk.control("POST", "up")
        d.wait("s", lambda s: s["state"] == "ready" and s["retries"] == 0, what="recovered")
        self.assertEqual(self.get("/api/v1/namespaces/demo/configmaps/cfg").json["data"],
                         {"v": "2"})

    def test_rejected_set_fails_with_server_message_others_fine(self):
        d = self.driver("--backoff-min", "200", "--backoff-max", "1000")
        bad = deployment("bad")
        del bad["spec"]["template"]["spec"]["containers"][0]["image"]
        # What the server says about it, asked directly.
        probe = self.fk.apply("/apis/apps/v1/namespaces/default/deployments/bad",
                              dict(bad, metadata={"name": "bad", "namespace": "default"}),
                              dry_run=True)
        self.assertEqual(probe.status, 422)
        message = probe.json["message"].replace("default", "demo")
        d.apply("bad", [configmap("bad-cfg", {"a": "1"}), bad])
        d.apply("good", [configmap("good-cfg", {"a": "1"}), deployment("good")])
        st = d.wait("bad", lambda s: s["state"] == "failed", what="bad set failed")
        self.assertIn(message, st["reason"])
        self.assertTrue(st["reason"].startswith("Deployment demo/bad: "), st["reason"])
        d.wait("good", lambda s: s["state"] == "ready", what="good set ready")
        # The rest of the failed set was applied; it keeps failing, with backoff.
        self.assertEqual(self.get("/api/v1/namespaces/demo/configmaps/bad-cfg").status, 200)
        d.wait("bad", lambda s: s["retries"] >= 2, what="retries")
        self.assertEqual(d.status("good")["state"], "ready")

    def test_image_pull_backoff_counts_as_waiting_for_image(self):
        d = self.driver()
        d.apply("s", [deployment("web", replicas=2)])
        d.wait("s", lambda s: s["state"] == "ready" and s["pods"]["running"] == 2,
               what="ready")
        r = self.fk.control("POST", "pod-state", {"namespace": "demo", "labelSelector": "app=web",
                                                  "state": "ImagePullBackOff"})
        self.assertEqual(r.status, 200)
        st = d.wait("s", lambda s: s["pods"]["waiting_for_image"] == 2, what="image bucket")
        st = d.wait("s", lambda s: s["state"] == "degraded", what="degraded")
        self.assertIn("waiting for image", st["reason"])
        self.assertEqual(st["pods"]["running"], 0)

    def test_crd_first_then_its_objects(self):
        d = self.driver()
        crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "widgets.example.com"},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                        "versions": [{"name": "v1", "served": True, "storage": True,
                                      "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
        widget = {"apiVersion": "example.com/v1", "kind": "Widget",
                  "metadata": {"name": "w1", "namespace": "tools"}, "spec": {"size": 3}}
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tools"}}
        # Written in the wrong order on purpose: the engine sorts.
        d.apply("crd", [widget, ns, crd])
        d.wait("crd", lambda s: s["state"] == "ready", what="ready")
        r = self.get("/apis/example.com/v1/namespaces/tools/widgets/w1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["spec"], {"size": 3})
        # The declared namespace is a member: removal deletes it too.
        d.cmd("remove crd")
        wait_for(lambda: self.get("/api/v1/namespaces/tools").status == 404,
                 what="namespace removed")

    def test_json_list_and_bad_manifests(self):
        d = self.driver()
        r = d.apply("j", text=json.dumps([configmap("a", {"x": "1"}, ns="default")]))
        self.assertTrue(r["ok"])
        d.wait("j", lambda s: s["state"] == "ready")
        for text, needle in (("kind: ConfigMap\nmetadata: {name: x}\n", "apiVersion"),
                             ("apiVersion: v1\nmetadata: {name: x}\n", "kind"),
                             ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "metadata.name"),
                             ("a: [1, 2\n", "line"),
                             ("[{\"apiVersion\": \"v1\"", "JSON")):
            r = d.apply("j", text=text)
            self.assertFalse(r["ok"], text)
            self.assertIn(needle, r["error"])
        # A refused apply changes nothing.
        self.assertEqual(d.status("j")["objects"], 1)
        self.assertEqual(self.get("/api/v1/namespaces/default/configmaps/a").status, 200)


class K8sAccessTest(unittest.TestCase):
    """Each way a kubeconfig authenticates, through the real TLS client."""

    def test_kubeconfig_variants(self):
        fk = FakeKube()
        try:
            kdir = os.path.dirname(fk.info["kubeconfig"])
            for variant in ("kubeconfig", "kubeconfig-cert", "kubeconfig-files",
                            "kubeconfig-exec"):
                d = Driver(os.path.join(kdir, variant))
                try:
                    name = variant.replace("kubeconfig", "cm")
                    d.apply("v-" + variant, [configmap(name, {"v": variant}, ns="default")])
                    d.wait("v-" + variant, lambda s: s["state"] == "ready", what=variant)
                    r = fk.get(f"/api/v1/namespaces/default/configmaps/{name}")
                    self.assertEqual(r.status, 200, variant)
                finally:
                    rc, err = d.close()
                    self.assertEqual(rc, 0, err)
                    self.assertNotIn("AddressSanitizer", err)
        finally:
            fk.stop()

    def exec_kubeconfig(self, fk, workdir, bad_first):
        """A kubeconfig whose exec plugin counts its runs in workdir/runs,
        checks the environment it is given, and (bad_first) answers a wrong
        token the first time, as a plugin with a stale cache would."""
        plugin = os.path.join(workdir, "plugin.py")
        with open(plugin, "w") as f:
            f.write(f"""import datetime, json, os, sys
runs = os.path.join({workdir!r}, "runs")
with open(runs, "a") as f:
    f.write("run\\n")
n = sum(1 for _ in open(runs))
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
assert info["kind"] == "ExecCredential" and os.environ["SHOAL_TEST_ENV"] == "yes"
token = open(sys.argv[1]).read().strip()
if {bad_first!r} and n == 1:
    token = "stale"
exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1",
                  "kind": "ExecCredential",
                  "status": {{"token": token,
                             "expirationTimestamp": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}}}}))
""")
        ca = base64.b64encode(fk.kubeconfig["ca_pem"].encode()).decode()
        token_file = os.path.join(os.path.dirname(fk.info["kubeconfig"]), "token")
        path = os.path.join(workdir, "kubeconfig")
        with open(path, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: fk
  cluster:
    server: {fk.kubeconfig["server"]}
    certificate-authority-data: {ca}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: /usr/bin/python3
      args: [{plugin}, {token_file}]
      env:
      - name: SHOAL_TEST_ENV
        value: "yes"
contexts:
- name: c
  context: {{cluster: fk, user: u}}
current-context: c
""")
        return path, os.path.join(workdir, "runs")

    def test_exec_plugin_token_is_cached_and_refreshed_after_401(self):
        fk = FakeKube()
        try:
            with tempfile.TemporaryDirectory() as work:
                kc, runs = self.exec_kubeconfig(fk, work, bad_first=False)
                d = Driver(kc, "--backoff-min", "200", "--backoff-max", "400")
                try:
                    for i in range(3):
                        d.apply("e", [configmap("e", {"i": str(i)}, ns="default")])
                        d.wait("e", lambda s: s["state"] == "ready", what="ready")
                    # An hour-long token: one run for all those requests.
                    with open(runs) as f:
                        self.assertEqual(len(f.readlines()), 1)
                finally:
                    rc, err = d.close()
                    self.assertEqual(rc, 0, err)
            with tempfile.TemporaryDirectory() as work:
                kc, runs = self.exec_kubeconfig(fk, work, bad_first=True)
                d = Driver(kc, "--backoff-min", "200", "--backoff-max", "400")
                try:
                    d.apply("e", [configmap("e2", {"a": "1"}, ns="default")])
                    # The stale token gets a 401; the plugin runs again and
                    # the retry goes through.
                    d.wait("e", lambda s: s["state"] == "ready", what="ready after 401")
                    with open(runs) as f:
                        self.assertEqual(len(f.readlines()), 2)
                finally:
                    rc, err = d.close()
                    self.assertEqual(rc, 0, err)
        finally:
            fk.stop()

    def test_exec_plugin_missing_is_reported(self):
        fk = FakeKube()
        try:
            with tempfile.TemporaryDirectory() as work:
                kc, _ = self.exec_kubeconfig(fk, work, bad_first=False)
                with open(kc) as f:
                    text = f.read().replace("command: /usr/bin/python3",
                                            "command: /nonexistent/aws")
                with open(kc, "w") as f:
                    f.write(text)
                d = Driver(kc, "--backoff-min", "200", "--backoff-max", "400")
                try:
                    d.apply("e", [configmap("e", {"a": "1"}, ns="default")])
                    st = d.wait("e", lambda s: "exec plugin" in s["reason"], what="reason")
                    self.assertEqual(st["state"], "applying")
                    self.assertIn("cannot run /nonexistent/aws", st["reason"])
                finally:
                    rc, err = d.close()
                    self.assertEqual(rc, 0, err)
        finally:
            fk.stop()

    def test_bad_kubeconfig_is_refused_at_start(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: nope\ncontexts: []\n")
            f.flush()
            p = subprocess.run([DRIVER, "--kubeconfig", f.name], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 1)
            self.assertIn(b'context "nope" not found', p.stderr)


if __name__ == "__main__":
    unittest.main()
