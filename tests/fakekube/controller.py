"""What the fake's control plane does by itself, on a background thread.

CRDs: a new or changed CustomResourceDefinition is marked NamesAccepted and
Established after `crd_delay` seconds, and only then are its kinds served
(discovery lists them, their paths answer), as on a real cluster where a
client must wait for Established before creating custom resources.

Workloads (only with --controller): after `ready_delay` seconds at a new
generation, a Deployment, StatefulSet, DaemonSet (one node) or Job gets Pods
made from its template (labels copied, ownerReferences set, so deleting the
workload deletes them), running and Ready (a Job's pods Succeeded), and its
status is written from those pods the way kstatus reads it. Status keeps
following the pods, so a test that puts a pod into ImagePullBackOff through
the control endpoint sees the workload's readyReplicas drop.
"""
import copy
import hashlib
import json
import threading
import time
import uuid

from discovery import KindInfo
from resources import now_rfc3339

CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
NODE_NAME = "fakekube-node"


def _true(cond_type, reason, message=""):
    return {"type": cond_type, "status": "True", "reason": reason, "message": message,
            "lastTransitionTime": _now()}


def _now():
    return now_rfc3339()


def crd_kinds(crd):
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        out.append(KindInfo(spec.get("group", ""), v.get("name", "v1"), names.get("kind", ""),
                            names.get("plural", ""), spec.get("scope") == "Namespaced",
                            names.get("shortNames") or [],
                            status_subresource=bool((v.get("subresources") or {}).get("status")),
                            crd=crd["metadata"]["name"]))
    return out


def is_established(obj):
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def running_pod_status(pod, succeeded=False):
    started = _now()
    statuses = []
    for c in pod["spec"].get("containers") or []:
        st = {"name": c.get("name"), "image": c.get("image"), "imageID": "",
              "restartCount": 0, "ready": not succeeded, "started": not succeeded}
        if succeeded:
            st["state"] = {"terminated": {"exitCode": 0, "reason": "Completed",
                                          "startedAt": started, "finishedAt": started}}
        else:
            st["state"] = {"running": {"startedAt": started}}
        statuses.append(st)
    ready = "False" if succeeded else "True"
    conds = [_true("PodScheduled", ""), _true("Initialized", "")]
    conds += [dict(_true("ContainersReady", ""), status=ready), dict(_true("Ready", ""),
                                                                     status=ready)]
    for c in conds:
        if not c["reason"]:
            del c["reason"]
        del c["message"]
    return {"phase": "Succeeded" if succeeded else "Running", "conditions": conds,
            "hostIP": "10.0.0.1", "podIP": "10.244.0.10", "startTime": started,
            "containerStatuses": statuses}


def pod_is_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


class Controllers:
    def __init__(self, api, crd_delay, workloads, ready_delay):
        self.api = api
        self.store = api.store
        self.registry = api.registry
        self.crd_delay = crd_delay
        self.workloads = workloads      # simulate workload controllers?
        self.ready_delay = ready_delay
        self._seen = {}                 # uid -> (generation, monotonic time first seen)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fakekube-controllers",
                                        daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        while not self._stop.wait(0.05):
            with self.store.lock:
                self._crds()
                if self.workloads:
                    self._workloads()

    def _aged(self, obj, delay):
        """Has this object sat at its current generation for `delay` seconds?"""
        meta = obj["metadata"]
        gen = meta.get("generation", 1)
        seen = self._seen.get(meta["uid"])
        now = time.monotonic()
        if seen is None or seen[0] != gen:
            self._seen[meta["uid"]] = (gen, now)
            return delay <= 0
        return now - seen[1] >= delay

    # ---- CRDs --------------------------------------------------------------
    def _crds(self):
        crd_kind = self.registry.by_kind("apiextensions.k8s.io", "CustomResourceDefinition")
        if crd_kind is None:
            return
        for crd in self.store.list(CRDS):
            observed = (crd.get("status") or {}).get("observedGeneration")
            if is_established(crd) and observed == crd["metadata"].get("generation"):
                wanted = crd_kinds(crd)
                have = [k for k in self.registry.kinds() if k.crd == crd["metadata"]["name"]]
                if [vars(k) for k in have] != [vars(k) for k in wanted]:
                    self.registry.add_crd_kinds(crd["metadata"]["name"], wanted)
                continue
            if not self._aged(crd, self.crd_delay):
                continue
            spec = crd["spec"]
            storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
            self.api.set_status(crd_kind, None, crd["metadata"]["name"], {
                "acceptedNames": spec.get("names") or {},
                "conditions": [_true("NamesAccepted", "NoConflicts", "no conflicts found"),
                               _true("Established", "InitialNamesAccepted",
                                     "the initial names have been accepted")],
                "storedVersions": storage,
                "observedGeneration": crd["metadata"].get("generation"),
            }, replace=True)
            self.registry.add_crd_kinds(crd["metadata"]["name"], crd_kinds(crd))

    # ---- workloads ---------------------------------------------------------
    def _workloads(self):
        pod_kind = self.registry.by_kind("", "Pod")
        if pod_kind is None:
            return
        for kind in WORKLOAD_KINDS:
            k = self.registry.by_kind("batch" if kind == "Job" else "apps", kind)
            if k is None:
                continue
            for obj in self.store.list(k.resource_key):
                if self._aged(obj, self.ready_delay):
                    self._reconcile(k, pod_kind, obj)

    def _desired(self, kind, spec):
        if kind == "DaemonSet":
            return 1
        if kind == "Job":
            return spec.get("completions", 1)
        return spec.get("replicas", 1)

    def _reconcile(self, k, pod_kind, obj):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        ns, uid = meta["namespace"], meta["uid"]
        template = spec.get("template") or {}
        rev = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        pods = [p for p in self.store.list(pod_kind.resource_key, ns)
                if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]
        current = [p for p in pods if p["metadata"].get("labels", {}).get("pod-template-hash")
                   == rev]
        for p in pods:
            if p not in current:
                self.api.delete_object(pod_kind, p, False)
        want = self._desired(k.kind, spec)
        for p in current[want:]:
            self.api.delete_object(pod_kind, p, False)
        current = current[:want]
        taken = {p["metadata"]["name"] for p in current}
        for i in range(want - len(current)):
            current.append(self._make_pod(k, pod_kind, obj, template, rev, i, taken))
        self._write_status(k, obj, current, want, rev)

    def _make_pod(self, k, pod_kind, owner, template, rev, index, taken):
        meta = owner["metadata"]
        if k.kind == "StatefulSet":
            n = 0
            while f"{meta['name']}-{n}" in taken:
                n += 1
            name = f"{meta['name']}-{n}"
        elif k.kind == "Deployment":
            name = f"{meta['name']}-{rev}-{uuid.uuid4().hex[:5]}"
        else:
            name = f"{meta['name']}-{uuid.uuid4().hex[:5]}"
        taken.add(name)
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels["pod-template-hash"] = rev
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": meta["namespace"], "labels": labels,
                            "ownerReferences": [{"apiVersion": k.api_version, "kind": k.kind,
                                                 "name": meta["name"], "uid": meta["uid"],
                                                 "controller": True,
                                                 "blockOwnerDeletion": True}]},
               "spec": dict(copy.deepcopy(template.get("spec") or {}), nodeName=NODE_NAME)}
        pod["status"] = running_pod_status(pod, succeeded=k.kind == "Job")
        return self.api.create_internal(pod_kind, pod, "kube-controller-manager")

    @staticmethod
    def _counts(status):
        return {k: v for k, v in status.items() if v not in (0, None)}

    def _write_status(self, k, obj, pods, want, rev):
        gen = obj["metadata"].get("generation", 1)
        ready = sum(1 for p in pods if pod_is_ready(p))
        n = len(pods)
        if k.kind == "Deployment":
            status = self._counts({"observedGeneration": gen, "replicas": n,
                                   "updatedReplicas": n, "readyReplicas": ready,
                                   "availableReplicas": ready,
                                   "unavailableReplicas": n - ready})
            status["conditions"] = [
                dict(_true("Available", "MinimumReplicasAvailable",
                           "Deployment has minimum availability."),
                     status="True" if ready >= want else "False"),
                _true("Progressing", "NewReplicaSetAvailable",
                      f'ReplicaSet "{obj["metadata"]["name"]}-{rev}" has successfully '
                      f'progressed.')]
        elif k.kind == "StatefulSet":
            status = self._counts({"observedGeneration": gen, "replicas": n,
                                   "readyReplicas": ready, "currentReplicas": n,
                                   "updatedReplicas": n, "availableReplicas": ready})
            status["currentRevision"] = status["updateRevision"] = \
                f'{obj["metadata"]["name"]}-{rev}'
            status["collisionCount"] = 0
        elif k.kind == "DaemonSet":
            status = {"observedGeneration": gen, "desiredNumberScheduled": 1,
                      "currentNumberScheduled": n, "updatedNumberScheduled": n,
                      "numberReady": ready, "numberAvailable": ready, "numberMisscheduled": 0}
            status = self._counts(status)
            status.setdefault("numberMisscheduled", 0)
        else:
            done = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
            old = obj.get("status") or {}
            status = self._counts({"succeeded": done, "active": n - done, "ready": 0})
            status["startTime"] = old.get("startTime") or _now()
            if done >= want:
                status["completionTime"] = old.get("completionTime") or _now()
                status["conditions"] = old.get("conditions") or [
                    _true("SuccessCriteriaMet", "CompletionsReached",
                          "Reached expected number of succeeded pods"),
                    _true("Complete", "CompletionsReached",
                          "Reached expected number of succeeded pods")]
        old = dict(obj.get("status") or {})
        if self._same_status(old, status):
            return
        self.api.set_status(k, obj["metadata"]["namespace"], obj["metadata"]["name"], status,
                            replace=True)

    @staticmethod
    def _same_status(a, b):
        def strip(s):
            s = copy.deepcopy(s)
            for c in s.get("conditions") or []:
                c.pop("lastTransitionTime", None)
            s.pop("startTime", None)
            s.pop("completionTime", None)
            return s
        return strip(a) == strip(b)
