"""Test-control endpoints under /fakekube/: what a test does to the "cluster"
that no Kubernetes client could.

  GET    /fakekube/state        counters, mode, history window
  POST   /fakekube/status       {"path": <object path>, "status": {...}, "replace": bool}
  POST   /fakekube/pod-state    {"namespace", "name" | "labelSelector", "state", "message"?}
  POST   /fakekube/down         {"mode": "refuse" | "close"}   503s, or dropped connections
  POST   /fakekube/up
  POST   /fakekube/fail         {"method"?, "path"?, "code", "reason"?, "message"?, "count"?}
  DELETE /fakekube/fail         clear injected failures
  POST   /fakekube/compact      forget watch history: every older resourceVersion is stale
  POST   /fakekube/controller   {"enabled": bool, "readyDelay": seconds}
  GET    /fakekube/requests     the API requests served, oldest first (DELETE clears)

Pod states (the `state` of pod-state) are the ones the reconciler sorts pods
by: Running, Pending, ContainerCreating, ErrImagePull, ImagePullBackOff,
CreateContainerConfigError, InvalidImageName, CrashLoopBackOff, OOMKilled,
Unschedulable, Succeeded, Failed.
"""
import json

from apierrors import ApiError, bad_request, not_found
from controller import running_pod_status
from labelsel import labels_match, parse_label_selector
from resources import now_rfc3339

WAITING = {
    "ContainerCreating": ("", "Pending"),
    "ErrImagePull": ("rpc error: code = NotFound desc = failed to pull and unpack image",
                     "Pending"),
    "ImagePullBackOff": ('Back-off pulling image', "Pending"),
    "CreateContainerConfigError": ('configmap "missing" not found', "Pending"),
    "InvalidImageName": ('Failed to apply default image tag: couldn\'t parse image reference',
                         "Pending"),
    "CrashLoopBackOff": ("back-off 5m0s restarting failed container", "Running"),
}
STATES = sorted(list(WAITING) + ["Running", "Pending", "OOMKilled", "Unschedulable",
                                 "Succeeded", "Failed"])


def _condition(t, status, reason=None, message=None):
    c = {"type": t, "status": status, "lastProbeTime": None, "lastTransitionTime": now_rfc3339()}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def pod_status_for(pod, state, message=None):
    """A pod status a kubelet would report in `state`."""
    containers = (pod.get("spec") or {}).get("containers") or []
    if state == "Running":
        return running_pod_status(pod)
    if state == "Succeeded":
        return running_pod_status(pod, succeeded=True)
    if state == "Pending":
        return {"phase": "Pending"}
    if state == "Unschedulable":
        return {"phase": "Pending", "conditions": [_condition(
            "PodScheduled", "False", "Unschedulable",
            message or "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes "
                       "are available: 1 No preemption victims found for incoming pod.")]}
    base = {"conditions": [_condition("PodScheduled", "True"),
                           _condition("Ready", "False", "ContainersNotReady",
                                      "containers with unready status")],
            "hostIP": "10.0.0.1", "startTime": now_rfc3339()}
    statuses = []
    for c in containers:
        st = {"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": False,
              "started": False, "restartCount": 0}
        if state in WAITING:
            default_msg, phase = WAITING[state]
            waiting = {"reason": state}
            if message or default_msg:
                waiting["message"] = message or default_msg
            st["state"] = {"waiting": waiting}
            if state == "CrashLoopBackOff":
                st["restartCount"] = 5
                st["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
        elif state == "OOMKilled":
            phase = "Running"
            st["restartCount"] = 3
            st["state"] = {"running": {"startedAt": now_rfc3339()}}
            st["lastState"] = {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                              "startedAt": now_rfc3339(),
                                              "finishedAt": now_rfc3339()}}
        elif state == "Failed":
            phase = "Failed"
            st["state"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
        statuses.append(st)
    return dict(base, phase=phase, containerStatuses=statuses)


class Control:
    def __init__(self, fakekube):
        self.fk = fakekube

    def handle(self, method, path, body):
        """(code, JSON-able body) for a control request."""
        try:
            req = json.loads(body.decode() or "{}") if body else {}
        except ValueError as e:
            raise bad_request(f"control request body is not JSON: {e}")
        if not isinstance(req, dict):
            raise bad_request("control request body must be an object")
        route = (method, path.rstrip("/"))
        fk = self.fk
        if route == ("GET", "/fakekube/state"):
            return 200, fk.state()
        if route == ("POST", "/fakekube/status"):
            return 200, self._status(req)
        if route == ("POST", "/fakekube/pod-state"):
            return 200, self._pod_state(req)
        if route == ("POST", "/fakekube/down"):
            mode = req.get("mode", "refuse")
            if mode not in ("refuse", "close"):
                raise bad_request('mode must be "refuse" or "close"')
            fk.down_mode = mode
            return 200, fk.state()
        if route == ("POST", "/fakekube/up"):
            fk.down_mode = None
            return 200, fk.state()
        if route == ("POST", "/fakekube/fail"):
            code = req.get("code")
            if not isinstance(code, int) or not 400 <= code <= 599:
                raise bad_request("code must be an HTTP error code (400-599)")
            fk.add_failure(req)
            return 200, fk.state()
        if route == ("DELETE", "/fakekube/fail"):
            fk.clear_failures()
            return 200, fk.state()
        if route == ("POST", "/fakekube/compact"):
            fk.store.compact()
            return 200, fk.state()
        if route == ("POST", "/fakekube/controller"):
            fk.controllers.workloads = bool(req.get("enabled", True))
            if "readyDelay" in req:
                fk.controllers.ready_delay = float(req["readyDelay"])
            return 200, fk.state()
        if route == ("GET", "/fakekube/requests"):
            return 200, {"requests": fk.request_log()}
        if route == ("DELETE", "/fakekube/requests"):
            fk.clear_request_log()
            return 200, {"requests": []}
        raise ApiError(404, "NotFound", f"no control endpoint {method} {path}")

    def _status(self, req):
        path, status = req.get("path"), req.get("status")
        if not isinstance(path, str) or not isinstance(status, dict):
            raise bad_request('need "path" (an object path) and "status" (an object)')
        k, ns, name, sub = self.fk.api.parse_path(path)
        if name is None or sub is not None:
            raise bad_request("path must name one object")
        return self.fk.api.set_status(k, ns, name, status, replace=bool(req.get("replace")))

    def _pod_state(self, req):
        state = req.get("state")
        if state not in STATES:
            raise bad_request(f"state must be one of {', '.join(STATES)}")
        ns = req.get("namespace") or "default"
        api = self.fk.api
        pod_kind = api.registry.by_kind("", "Pod")
        if pod_kind is None:
            raise bad_request("this server does not serve Pods")
        with api.store.lock:
            if req.get("name"):
                pod = api.store.get(pod_kind.resource_key, ns, req["name"])
                if pod is None:
                    raise not_found(pod_kind, req["name"])
                pods = [pod]
            else:
                sel = parse_label_selector(req.get("labelSelector", ""))
                pods = [p for p in api.store.list(pod_kind.resource_key, ns)
                        if labels_match(sel, p)]
            out = []
            for p in pods:
                status = pod_status_for(p, state, req.get("message"))
                out.append(api.set_status(pod_kind, ns, p["metadata"]["name"], status,
                                          replace=True))
        return {"kind": "PodList", "apiVersion": "v1", "items": out}
