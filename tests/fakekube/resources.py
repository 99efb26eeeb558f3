"""The REST surface for objects: GET, LIST, WATCH, POST, PUT, PATCH, DELETE.

Paths follow the API's layout:
  /api/v1[/namespaces/<ns>]/<resource>[/<name>[/status]]
  /apis/<group>/<version>[/namespaces/<ns>]/<resource>[/<name>[/status]]
A namespaced resource listed without a namespace lists all namespaces.

Every write goes through _write: defaults, validation (422), immutable
fields, generation (bumped when anything but metadata and status changed),
uid and creationTimestamp kept from the live object, then the store, which
stamps the resourceVersion and records the watch event. dryRun=All runs all
of it except the store.
"""
import base64
import binascii
import copy
import datetime
import json
import time
import uuid

import apply as ssa
from apierrors import ApiError, already_exists, bad_request, invalid, method_not_allowed, \
    no_such_resource, not_found, status_object, unsupported_media_type
from labelsel import fields_match, labels_match, parse_field_selector, parse_label_selector
from validation import immutable_causes, object_causes

try:
    import yaml
except ImportError:  # JSON bodies still work; YAML apply bodies then get a 415
    yaml = None

NAMESPACES = ("", "namespaces")
APPLY_TYPE = "application/apply-patch+yaml"
MERGE_TYPE = "application/merge-patch+json"
STRATEGIC_TYPE = "application/strategic-merge-patch+json"


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Request:
    """What a handler needs of an HTTP request; built by the server."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query        # {name: last value}
        self.headers = headers    # {lower-case name: value}
        self.body = body          # bytes

    def content_type(self):
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def flag(self, name):
        return self.query.get(name, "").lower() in ("1", "true")


class WatchStream:
    """A watch response: the server writes each item of events() as one chunk."""

    def __init__(self, api, kind_info, namespace, req):
        self.api = api
        self.kind_info = kind_info
        self.namespace = namespace
        self.labels = parse_label_selector(req.query.get("labelSelector"))
        self.fields = parse_field_selector(req.query.get("fieldSelector"), kind_info.kind)
        self.rv = req.query.get("resourceVersion", "")
        if self.rv not in ("", "0") and not self.rv.isdigit():
            raise bad_request(f'invalid resource version "{self.rv}"')
        timeout = req.query.get("timeoutSeconds", "")
        self.deadline = time.monotonic() + int(timeout) if timeout.isdigit() else None
        self.bookmarks = req.flag("allowWatchBookmarks")

    def _matches(self, obj):
        if obj is None:
            return False
        if self.namespace is not None and obj["metadata"].get("namespace", "") != self.namespace:
            return False
        return labels_match(self.labels, obj) and fields_match(self.fields, obj)

    def _translate(self, ev):
        """Event as this watch sees it: an object leaving the selection is DELETED for it."""
        now_in, was_in = self._matches(ev.obj), self._matches(ev.prev)
        if ev.type == "DELETED":
            return "DELETED" if was_in else None
        if now_in:
            return "MODIFIED" if was_in else "ADDED"
        return "DELETED" if was_in else None

    def events(self, should_stop):
        """Yield event dicts until the deadline, `should_stop()`, or an error."""
        store, key = self.api.store, self.kind_info.resource_key
        if self.rv in ("", "0"):
            # No starting point: synthetic ADDED for what exists, then changes.
            with store.lock:
                pos = store.current_rv()
                initial = [o for o in store.list(key, self.namespace) if self._matches(o)]
            for o in initial:
                yield {"type": "ADDED", "object": self.api.out(self.kind_info, o, in_list=False)}
        else:
            pos = int(self.rv)
        interval = self.api.options.bookmark_interval
        last_bookmark = time.monotonic()
        while not should_stop():
            now = time.monotonic()
            if self.deadline is not None and now >= self.deadline:
                return
            try:
                with store.cond:
                    evs = store.events_after(pos)
                    if not evs:
                        wait = 0.25
                        if self.deadline is not None:
                            wait = min(wait, max(0.0, self.deadline - now))
                        store.cond.wait(wait)
                        evs = store.events_after(pos)
            except ApiError as e:
                yield {"type": "ERROR", "object": e.status()}
                return
            for ev in evs:
                pos = ev.rv
                if ev.key != key:
                    continue
                t = self._translate(ev)
                if t:
                    yield {"type": t, "object": self.api.out(self.kind_info, ev.obj, False)}
            if self.bookmarks and time.monotonic() - last_bookmark >= interval:
                last_bookmark = time.monotonic()
                # The position is past every event already read (of any kind), so a
                # client resuming from the bookmark misses nothing.
                yield {"type": "BOOKMARK", "object": {
                    "kind": self.kind_info.kind, "apiVersion": self.kind_info.api_version,
                    "metadata": {"resourceVersion": str(pos)}}}


class ResourceApi:
    def __init__(self, store, registry, options):
        self.store = store
        self.registry = registry
        self.options = options   # bookmark_interval, on_change hook

    # ---- routing ---------------------------------------------------------
    def parse_path(self, path):
        """(kind_info, namespace or None, name or None, subresource or None)."""
        segs = [s for s in path.split("/") if s]
        if segs[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", segs[2:]
        elif segs[:1] == ["apis"] and len(segs) >= 3:
            group, version, rest = segs[1], segs[2], segs[3:]
        else:
            raise no_such_resource()
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise no_such_resource()
        k = self.registry.by_path(group, version, rest[0])
        if k is None or (namespace is not None and not k.namespaced):
            raise no_such_resource()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and (sub != "status" or not k.status_subresource):
            raise no_such_resource()
        if name is not None and k.namespaced and namespace is None:
            raise no_such_resource()
        return k, namespace, name, sub

    def handle(self, req):
        k, ns, name, sub = self.parse_path(req.path)
        m = req.method
        if name is None:
            if m == "GET":
                if req.flag("watch"):
                    return 200, WatchStream(self, k, ns, req)
                return 200, self._list(k, ns, req)
            if m == "POST" and (ns is not None or not k.namespaced):
                return self._create(k, ns, req)
            if m == "DELETE" and (ns is not None or not k.namespaced):
                return 200, self._delete_collection(k, ns, req)
            raise method_not_allowed()
        if m == "GET":
            obj = self.store.get(k.resource_key, ns or "", name)
            if obj is None:
                raise not_found(k, name)
            return 200, self.out(k, obj, False)
        if m == "PUT":
            return self._put(k, ns, name, sub, req)
        if m == "PATCH":
            return self._patch(k, ns, name, sub, req)
        if m == "DELETE" and sub is None:
            return self._delete_one(k, ns, name, req)
        raise method_not_allowed()

    # ---- helpers ---------------------------------------------------------
    def out(self, k, obj, in_list):
        """An object as the API returns it; list items of built-in kinds carry no
        apiVersion/kind, as the real server encodes them."""
        obj = copy.deepcopy(obj)
        if in_list and k.crd is None:
            obj.pop("apiVersion", None)
            obj.pop("kind", None)
            return dict(obj, metadata=self._ordered_meta(obj.get("metadata", {})))
        obj["apiVersion"], obj["kind"] = k.api_version, k.kind
        return {"apiVersion": obj.pop("apiVersion"), "kind": obj.pop("kind"),
                "metadata": self._ordered_meta(obj.pop("metadata", {})), **obj}

    @staticmethod
    def _ordered_meta(meta):
        """Identity first, managedFields last: how the real server's JSON reads."""
        first = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation",
                 "creationTimestamp", "deletionTimestamp", "labels", "annotations")
        out = {k: meta[k] for k in first if k in meta}
        out.update({k: v for k, v in meta.items() if k not in out and k != "managedFields"})
        if "managedFields" in meta:
            out["managedFields"] = meta["managedFields"]
        return out

    @staticmethod
    def manager(req):
        m = req.query.get("fieldManager")
        if m:
            return m
        ua = req.headers.get("user-agent", "")
        return ua.split("/")[0] if ua else "unknown"

    @staticmethod
    def dry_run(req):
        v = req.query.get("dryRun")
        if v is None:
            return False
        if v != "All":
            raise bad_request(f'Invalid value: "{v}": supported values: "All"')
        return True

    def body(self, req, allow_yaml=False):
        raw = req.body or b""
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            if not allow_yaml:
                raise bad_request(f"error decoding JSON body: {e}")
            if yaml is None:
                raise ApiError(415, "UnsupportedMediaType",
                               "this server reads apply bodies as JSON only (no YAML parser)")
            try:
                obj = yaml.safe_load(raw.decode("utf-8", errors="replace"))
            except yaml.YAMLError as ye:
                raise bad_request(f"error decoding YAML: {ye}")
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be an object")
        return obj

    def _check_type(self, k, obj, url_name, ns, require_type):
        """The body's apiVersion/kind/name/namespace against the URL: 400 when they differ."""
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if require_type and (not av or not kind):
            raise bad_request("apiVersion and kind must be set in the applied configuration")
        if av and av != k.api_version:
            raise bad_request(f"the API version in the data ({av}) does not match the expected "
                              f"API version ({k.api_version})")
        if kind and kind != k.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind "
                              f"({k.kind})")
        meta = obj.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        meta = obj.setdefault("metadata", {})
        if url_name is not None and meta.get("name") and meta["name"] != url_name:
            raise bad_request(f'the name of the object ({meta["name"]}) does not match the name '
                              f'on the URL ({url_name})')
        if k.namespaced and meta.get("namespace") and ns is not None and meta["namespace"] != ns:
            raise bad_request("the namespace of the provided object does not match the namespace "
                              "sent on the request")

    def _require_namespace(self, k, ns):
        if not k.namespaced or self.registry.by_kind("", "Namespace") is None:
            return
        if self.store.get(NAMESPACES, "", ns) is None:
            raise not_found(self.registry.by_kind("", "Namespace"), ns)

    @staticmethod
    def _same(old, new):
        def strip(o):
            o = copy.deepcopy(o)
            meta = o.get("metadata", {})
            meta.pop("resourceVersion", None)
            for e in meta.get("managedFields") or []:
                e.pop("time", None)
            return o
        return strip(old) == strip(new)

    @staticmethod
    def _content(obj):
        return {k: v for k, v in obj.items() if k not in ("metadata", "status")}

    def _defaults(self, k, obj, old):
        spec = obj.get("spec")
        if k.kind in ("Deployment", "StatefulSet", "ReplicaSet") and isinstance(spec, dict):
            spec.setdefault("replicas", 1)
        if k.kind == "Job" and isinstance(spec, dict):
            spec.setdefault("completions", 1)
            spec.setdefault("parallelism", 1)
            spec.setdefault("backoffLimit", 6)
        pod_spec = None
        if k.kind == "Pod":
            pod_spec = spec
        elif isinstance(spec, dict):
            pod_spec = (spec.get("template") or {}).get("spec")
        if isinstance(pod_spec, dict):
            for c in pod_spec.get("containers") or []:
                for p in (c.get("ports") or []) if isinstance(c, dict) else []:
                    if isinstance(p, dict):
                        p.setdefault("protocol", "TCP")
        if k.kind == "Service" and isinstance(spec, dict):
            spec.setdefault("type", "ClusterIP")
            for p in spec.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
                    p.setdefault("targetPort", p.get("port"))
            if "clusterIP" not in spec:
                old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
                spec["clusterIP"] = old_ip or self._next_cluster_ip()
        if k.kind == "Namespace":
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = \
                obj["metadata"]["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        if k.kind == "Pod" and not (obj.get("status") or {}).get("phase"):
            obj.setdefault("status", {})["phase"] = "Pending"

    def _next_cluster_ip(self):
        n = sum(1 for _ in self.store.list(("", "services"))) + 10
        return f"10.96.{(n >> 8) & 255}.{n & 255}"

    def _write(self, k, ns, name, old, new, dry_run, keep_status=True):
        """Finish and store a new version of an object; returns (code, stored)."""
        new["apiVersion"], new["kind"] = k.api_version, k.kind
        meta = new.setdefault("metadata", {})
        meta["name"] = name
        if k.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        for f in ("resourceVersion", "deletionTimestamp", "selfLink"):
            meta.pop(f, None)
        if k.status_subresource and keep_status:
            if old is not None and "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["generation"] = 1
        else:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            meta["generation"] = old["metadata"].get("generation", 1)
        self._defaults(k, new, old)
        causes = object_causes(k, new)
        if old is not None:
            causes += immutable_causes(k, old, new)
            if self._content(old) != self._content(new):
                meta["generation"] += 1
        if causes:
            raise invalid(k, name, causes)
        if old is not None and self._same(old, new):
            # A write that changes nothing is not a write: no new resourceVersion,
            # no watch event, as on the real server (periodic re-apply stays quiet).
            return 200, self.out(k, old, False)
        if dry_run:
            if old is not None:
                meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            return (200 if old else 201), self.out(k, new, False)
        stored = self.store.put(k.resource_key, new)
        hook = getattr(self.options, "on_change", None)
        if hook:
            hook(k, stored)
        return (200 if old else 201), self.out(k, stored, False)

    # ---- verbs -----------------------------------------------------------
    def _list(self, k, ns, req):
        labels = parse_label_selector(req.query.get("labelSelector"))
        fields = parse_field_selector(req.query.get("fieldSelector"), k.kind)
        with self.store.lock:
            rv = self.store.current_rv()
            items = [o for o in self.store.list(k.resource_key, ns)
                     if labels_match(labels, o) and fields_match(fields, o)]
        meta = {"resourceVersion": str(rv)}
        start = req.query.get("continue")
        if start:
            try:
                token = json.loads(base64.urlsafe_b64decode(start.encode()).decode())
                after, rv = tuple(token["after"]), token["rv"]
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise bad_request("invalid continue token")
            items = [o for o in items
                     if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
            meta["resourceVersion"] = str(rv)
        limit = req.query.get("limit", "")
        if limit.isdigit() and 0 < int(limit) < len(items):
            rest = len(items) - int(limit)
            items = items[:int(limit)]
            last = items[-1]["metadata"]
            token = {"rv": int(meta["resourceVersion"]),
                     "after": [last.get("namespace", ""), last["name"]]}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            meta["remainingItemCount"] = rest
        return {"kind": k.list_kind, "apiVersion": k.api_version, "metadata": meta,
                "items": [self.out(k, o, True) for o in items]}

    def _create(self, k, ns, req):
        dry = self.dry_run(req)
        obj = self.body(req)
        self._check_type(k, obj, None, ns, require_type=False)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name", "")
        if not name:
            raise invalid(k, "", object_causes(k, dict(obj, metadata=dict(meta, name=""))))
        with self.store.lock:
            self._require_namespace(k, ns)
            if self.store.get(k.resource_key, ns or "", name) is not None:
                raise already_exists(k, name)
            obj.get("metadata", {}).pop("managedFields", None)
            ssa.record_update(None, obj, self.manager(req), k.api_version, now_rfc3339())
            return self._write(k, ns, name, None, obj, dry)

    def _put(self, k, ns, name, sub, req):
        dry = self.dry_run(req)
        obj = self.body(req)
        self._check_type(k, obj, name, ns, require_type=False)
        with self.store.lock:
            old = self.store.get(k.resource_key, ns or "", name)
            want_rv = obj["metadata"].get("resourceVersion")
            if old is not None and want_rv and want_rv != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on '
                               f'{k.plural}{"." + k.group if k.group else ""} "{name}": the '
                               f'object has been modified; please apply your changes to the '
                               f'latest version and try again',
                               {"name": name, "group": k.group, "kind": k.plural})
            if sub == "status":
                if old is None:
                    raise not_found(k, name)
                new = copy.deepcopy(old)
                new["status"] = obj.get("status", {})
                return self._write(k, ns, name, old, new, dry, keep_status=False)
            if old is None:
                self._require_namespace(k, ns)
            obj["metadata"].pop("managedFields", None)
            ssa.record_update(old, obj, self.manager(req), k.api_version, now_rfc3339())
            return self._write(k, ns, name, old, obj, dry)

    def _patch(self, k, ns, name, sub, req):
        dry = self.dry_run(req)
        ctype = req.content_type()
        if ctype == APPLY_TYPE:
            if sub is not None:
                raise method_not_allowed()
            return self._apply(k, ns, name, req, dry)
        if ctype not in (MERGE_TYPE, STRATEGIC_TYPE):
            raise unsupported_media_type(ctype)
        patch = self.body(req)
        with self.store.lock:
            old = self.store.get(k.resource_key, ns or "", name)
            if old is None:
                raise not_found(k, name)
            merge = ssa.json_merge_patch if ctype == MERGE_TYPE else ssa.strategic_merge
            new = merge(old, patch)
            self._check_type(k, new, name, ns, require_type=False)
            if sub == "status":
                new = dict(copy.deepcopy(old), status=new.get("status", {}))
                return self._write(k, ns, name, old, new, dry, keep_status=False)
            ssa.record_update(old, new, self.manager(req), k.api_version, now_rfc3339())
            return self._write(k, ns, name, old, new, dry)

    def _apply(self, k, ns, name, req, dry):
        manager = req.query.get("fieldManager")
        if not manager:
            raise bad_request("PATCH, application/apply-patch+yaml requests must provide a "
                              "fieldManager")
        force = req.flag("force")
        obj = self.body(req, allow_yaml=True)
        self._check_type(k, obj, name, ns, require_type=True)
        if not obj["metadata"].get("name"):
            raise invalid(k, name, [("FieldValueRequired", "metadata.name", "Required value: "
                                     "name is required in an applied configuration")])
        if k.status_subresource:
            obj.pop("status", None)
        with self.store.lock:
            self._require_namespace(k, ns)
            old = self.store.get(k.resource_key, ns or "", name)
            new = ssa.server_side_apply(old, obj, manager, k.api_version, force, now_rfc3339())
            return self._write(k, ns, name, old, new, dry)

    def _delete_one(self, k, ns, name, req):
        dry = self.dry_run(req)
        with self.store.lock:
            obj = self.store.get(k.resource_key, ns or "", name)
            if obj is None:
                raise not_found(k, name)
            if dry:
                return 200, self.out(k, obj, False)
            orphan = req.query.get("propagationPolicy") == "Orphan"
            final = self.delete_object(k, obj, orphan)
        if k.kind in ("Namespace", "Pod"):
            # These return the object: a namespace "Terminating", a pod being
            # deleted; the fake finishes either at once.
            final["metadata"]["deletionTimestamp"] = now_rfc3339()
            if k.kind == "Namespace":
                final["status"] = {"phase": "Terminating"}
            return 200, self.out(k, final, False)
        return 200, status_object(200, "", "", {"name": name, "group": k.group,
                                                "kind": k.plural, "uid": obj["metadata"]["uid"]},
                                  success=True)

    def _delete_collection(self, k, ns, req):
        dry = self.dry_run(req)
        labels = parse_label_selector(req.query.get("labelSelector"))
        fields = parse_field_selector(req.query.get("fieldSelector"), k.kind)
        gone = []
        with self.store.lock:
            for o in self.store.list(k.resource_key, ns):
                if labels_match(labels, o) and fields_match(fields, o):
                    gone.append(o if dry else self.delete_object(k, o, False))
            rv = self.store.current_rv()
        return {"kind": k.list_kind, "apiVersion": k.api_version,
                "metadata": {"resourceVersion": str(rv)},
                "items": [self.out(k, o, True) for o in gone if o is not None]}

    # ---- used by the controllers and the control endpoints ----------------
    def set_status(self, k, ns, name, status, replace=False):
        """Write an object's status as a controller would (no generation change);
        `status` replaces it or is merged into it (JSON merge patch)."""
        with self.store.lock:
            old = self.store.get(k.resource_key, ns or "", name)
            if old is None:
                raise not_found(k, name)
            new = copy.deepcopy(old)
            new["status"] = copy.deepcopy(status) if replace else \
                ssa.json_merge_patch(old.get("status") or {}, status)
            stored = self.store.put(k.resource_key, new)
            return self.out(k, stored, False)

    def create_internal(self, k, obj, manager):
        """Create an object the way a controller does, status included."""
        meta = obj["metadata"]
        with self.store.lock:
            ssa.record_update(None, obj, manager, k.api_version, now_rfc3339())
            return self._write(k, meta.get("namespace"), meta["name"], None, obj, False,
                               keep_status=False)[1]

    def delete_object(self, k, obj, orphan):
        """Delete one object and what goes with it: a namespace's contents, a
        CRD's custom resources, and (unless orphaned) objects it owns."""
        meta = obj["metadata"]
        final = self.store.delete(k.resource_key, meta.get("namespace", ""), meta["name"])
        if final is None:
            return None
        if k.kind == "Namespace":
            for key, o in self.store.all_objects():
                if o["metadata"].get("namespace") == meta["name"]:
                    self.store.delete(key, meta["name"], o["metadata"]["name"])
        if k.kind == "CustomResourceDefinition":
            for info in self.registry.remove_crd_kinds(meta["name"]):
                for o in self.store.list(info.resource_key):
                    self.store.delete(info.resource_key, o["metadata"].get("namespace", ""),
                                      o["metadata"]["name"])
        if not orphan:
            uid = meta["uid"]
            for key, o in self.store.all_objects():
                owners = o["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in owners):
                    ok = next((x for x in self.registry.kinds() if x.resource_key == key), None)
                    if ok is not None:
                        self.delete_object(ok, o, False)
                    else:
                        self.store.delete(key, o["metadata"].get("namespace", ""),
                                          o["metadata"]["name"])
        return final
