"""Field paths and sets in the managedFields `fieldsV1` format.

A path is a tuple of fieldsV1 keys: "f:<field>" for a map field,
'k:{"name":"web"}' for the item of a list keyed by merge keys, and "." for a
keyed item itself. A field set holds leaf paths only (scalars, atomic lists,
empty maps, and the "." of each keyed item); to_fields_v1/from_fields_v1
convert it to and from the nested JSON the API shows:

  {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers":
      {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}}}}}

Which lists are keyed, and by what, comes from the OpenAPI schema on a real
server (x-kubernetes-list-type: map); the fake carries a table of the ones
that matter for workloads (containers, ports, env, volumes, ...). Every other
list is atomic: one leaf, owned and replaced as a whole. Sets of scalars
("v:" entries) are treated as atomic lists.
"""
import json

MISSING = object()

# Top-level and metadata fields no manager owns: identity and server-set fields.
SKIP_TOP = {"apiVersion", "kind", "metadata", "status"}
OWNED_METADATA = {"labels", "annotations", "finalizers", "ownerReferences"}

# field name -> merge keys, with a default for keys the server would default.
_KEYED = {
    "containers": ["name"],
    "initContainers": ["name"],
    "ephemeralContainers": ["name"],
    "env": ["name"],
    "volumes": ["name"],
    "volumeMounts": ["mountPath"],
    "volumeDevices": ["devicePath"],
    "imagePullSecrets": ["name"],
    "hostAliases": ["ip"],
    "ownerReferences": ["uid"],
    "conditions": ["type"],
}
_DEFAULTS = {"protocol": "TCP"}


def merge_keys(parent_path, field):
    """Merge keys of list `field` under `parent_path`, or None if the list is atomic."""
    if field == "ports":
        # Container ports are keyed by containerPort+protocol, Service ports by port+protocol.
        if parent_path and parent_path[-1].startswith("k:"):
            return ["containerPort", "protocol"]
        if parent_path[-1:] == ("f:spec",):
            return ["port", "protocol"]
        return None
    return _KEYED.get(field)


def item_key(item, keys):
    """The 'k:{...}' element for a list item, or None when it lacks a key."""
    if not isinstance(item, dict):
        return None
    kv = {}
    for k in keys:
        v = item.get(k, _DEFAULTS.get(k, MISSING))
        if v is MISSING:
            return None
        kv[k] = v
    return "k:" + json.dumps(kv, sort_keys=True, separators=(",", ":"))


def _keyed(items, keys):
    """{k-element: item} if every item has a key, else None (treat as atomic)."""
    if not isinstance(items, list) or not items:
        return None
    out = {}
    for it in items:
        k = item_key(it, keys)
        if k is None or k in out:
            return None
        out[k] = it
    return out


def _walk(value, path, out):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            fpath = path + ("f:" + k,)
            if isinstance(v, list):
                keys = merge_keys(path, k)
                keyed = _keyed(v, keys) if keys else None
                if keyed is not None:
                    for kel, item in keyed.items():
                        out.add(fpath + (kel, "."))
                        _walk_item(item, fpath + (kel,), out)
                    continue
            if isinstance(v, dict) and v:
                _walk(v, fpath, out)
            else:
                out.add(fpath)
    else:
        out.add(path)


def _walk_item(item, path, out):
    for k, v in item.items():
        sub = {k: v}
        _walk(sub, path, out)


def field_set(obj, include_status=False):
    """Leaf paths of an object's content, as managedFields would record them."""
    out = set()
    for k, v in obj.items():
        if k in SKIP_TOP and not (k == "status" and include_status):
            continue
        _walk({k: v}, (), out)
    meta = obj.get("metadata") or {}
    for k in OWNED_METADATA:
        if k in meta:
            _walk({k: meta[k]}, ("f:metadata",), out)
    return out


def get(obj, path):
    """Value at `path` in `obj`, or MISSING."""
    cur = obj
    for i, el in enumerate(path):
        if el == ".":
            return cur
        if el.startswith("f:"):
            if not isinstance(cur, dict) or el[2:] not in cur:
                return MISSING
            cur = cur[el[2:]]
        elif el.startswith("k:"):
            if not isinstance(cur, list):
                return MISSING
            keys = list(json.loads(el[2:]).keys())
            found = MISSING
            for it in cur:
                if item_key(it, keys) == el:
                    found = it
                    break
            if found is MISSING:
                return MISSING
            cur = found
        else:
            return MISSING
    return cur


def remove(obj, path):
    """Remove the field (or keyed item, for a "." path) at `path`; prune maps it emptied."""
    if path and path[-1] == ".":
        container = get(obj, path[:-2])
        if isinstance(container, list):
            keys = list(json.loads(path[-2][2:]).keys())
            container[:] = [it for it in container if item_key(it, keys) != path[-2]]
            if not container:
                remove(obj, path[:-2])
        return
    parent = get(obj, path[:-1]) if len(path) > 1 else obj
    if isinstance(parent, dict) and path[-1].startswith("f:"):
        parent.pop(path[-1][2:], None)
        # A nested map the removal emptied goes too (labels: {} is noise); the
        # object's own top-level maps (spec, data, metadata) stay.
        if not parent and len(path) >= 3 and path[-2].startswith("f:"):
            remove(obj, path[:-1])


def to_fields_v1(paths):
    root = {}
    for p in sorted(paths):
        cur = root
        for el in p:
            cur = cur.setdefault(el, {})
    return root


def from_fields_v1(tree, prefix=()):
    out = set()
    for k, v in tree.items():
        p = prefix + (k,)
        if k == "." or not v:
            out.add(p)
        else:
            out |= from_fields_v1(v, p)
    return out


def describe(path):
    """A path as the API writes it in conflict messages: .spec.containers[name="web"].image"""
    s = ""
    for el in path:
        if el.startswith("f:"):
            s += "." + el[2:]
        elif el.startswith("k:"):
            kv = json.loads(el[2:])
            s += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in kv.items()) + "]"
    return s
