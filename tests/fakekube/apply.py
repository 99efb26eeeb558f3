"""Server-side apply and field ownership (managedFields).

Each manager's ownership is one managedFields entry per (manager, operation):
  Apply  -- the fields of the manager's last applied configuration;
  Update -- the fields a manager's POST/PUT/PATCH changed (taken from whoever
            owned them before, as the real server does for non-apply writes).
An apply merges the applied configuration into the live object (maps field
by field, keyed lists item by item, everything else replaced), then removes
the fields the manager applied last time but dropped now, unless another
manager still owns them. Applying a value different from the live one in a
field another manager owns is a conflict (409) unless force is set, which
moves the ownership to the applier.

Departure from the real server: a null in an applied configuration is
dropped rather than treated as an explicit removal request.
"""
import copy
import json

import fieldset as fs
from apierrors import ApiError

APPLY, UPDATE = "Apply", "Update"


def _strip_nulls(v):
    if isinstance(v, dict):
        return {k: _strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_strip_nulls(x) for x in v]
    return v


def read_managers(obj):
    """managedFields as a list of dicts, each with its field set under "set"."""
    out = []
    for e in (obj or {}).get("metadata", {}).get("managedFields") or []:
        e = dict(e)
        e["set"] = fs.from_fields_v1(e.pop("fieldsV1", {}) or {})
        out.append(e)
    return out


def write_managers(obj, entries):
    live = fs.field_set(obj)
    mf = []
    for e in entries:
        s = e["set"] & live
        if not s:
            continue
        out = {k: v for k, v in e.items() if k != "set"}
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = fs.to_fields_v1(s)
        mf.append(out)
    if mf:
        obj.setdefault("metadata", {})["managedFields"] = mf
    else:
        obj.setdefault("metadata", {}).pop("managedFields", None)


def _entry(entries, manager, operation, api_version, now):
    for e in entries:
        if e["manager"] == manager and e["operation"] == operation and not e.get("subresource"):
            e["apiVersion"], e["time"] = api_version, now
            return e
    e = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now,
         "set": set()}
    entries.append(e)
    return e


def _merge_list(dst, src, keys, path):
    index = {}
    for it in dst:
        k = fs.item_key(it, keys)
        if k is None:
            return copy.deepcopy(src)  # live list not keyable: replace it
        index[k] = it
    for it in src:
        k = fs.item_key(it, keys)
        if k is None:
            return copy.deepcopy(src)
        if k in index and isinstance(index[k], dict):
            _merge_map(index[k], it, path + (k,))
        else:
            dst.append(copy.deepcopy(it))
            index[k] = dst[-1]
    return dst


def _merge_map(dst, src, path):
    for k, v in src.items():
        fpath = path + ("f:" + k,)
        cur = dst.get(k)
        if isinstance(v, dict) and isinstance(cur, dict):
            _merge_map(cur, v, fpath)
        elif isinstance(v, list) and isinstance(cur, list) and fs.merge_keys(path, k):
            dst[k] = _merge_list(cur, v, fs.merge_keys(path, k), fpath)
        else:
            dst[k] = copy.deepcopy(v)


def merge_content(live, patch):
    """Merge `patch` into a copy of `live`: the content part of apply (and of
    strategic merge patch, which merges keyed lists the same way)."""
    out = copy.deepcopy(live)
    for k, v in patch.items():
        if k in ("apiVersion", "kind", "metadata", "status"):
            continue
        _merge_map(out, {k: v}, ())
    meta = out.setdefault("metadata", {})
    for k in fs.OWNED_METADATA:
        if k in (patch.get("metadata") or {}):
            _merge_map(meta, {k: patch["metadata"][k]}, ("f:metadata",))
    return out


def _others_own(entries, mine, path):
    for e in entries:
        if e is mine:
            continue
        if path in e["set"]:
            return True
        if path[-1] == ".":
            item = path[:-1]
            if any(q[:len(item)] == item for q in e["set"]):
                return True
    return False


def _conflicts(entries, mine, base, merged, applied_set):
    """(entry, path) for each field another manager owns that this apply would
    change: the applier's configuration covers it and its value differs."""
    found = []
    for e in entries:
        if e is mine or e.get("subresource"):
            continue
        for q in sorted(e["set"]):
            if q[-1] == ".":
                continue
            covered = any(q[:n] in applied_set for n in range(1, len(q) + 1))
            if covered and fs.get(base, q) != fs.get(merged, q):
                found.append((e, q))
    return found


def _is_key_field(path):
    """Is this the merge key of its keyed list item (kept while the item exists)?"""
    return len(path) >= 2 and path[-2].startswith("k:") and \
        path[-1].startswith("f:") and path[-1][2:] in json.loads(path[-2][2:])


def conflict_error(conflicts):
    causes, lines = [], []
    for e, p in sorted(conflicts, key=lambda c: (c[0]["manager"], fs.describe(c[1]))):
        msg = f'conflict with "{e["manager"]}"'
        if e["operation"] == UPDATE:
            msg += f' using {e["apiVersion"]}'
        causes.append({"type": "FieldManagerConflict", "message": msg, "field": fs.describe(p)})
        lines.append(f"{msg}: {fs.describe(p)}")
    n = len(causes)
    text = f"Apply failed with {n} conflict{'s' if n != 1 else ''}: " + "\n".join(lines)
    return ApiError(409, "Conflict", text, {"causes": causes})


def server_side_apply(live, applied, manager, api_version, force, now):
    """The object after `manager` applies `applied` to `live` (None if absent).

    `applied` has had its status removed by the caller when the kind has a
    status subresource. Raises ApiError(409) on a conflict without force.
    """
    applied = _strip_nulls(applied)
    base = live if live is not None else {"metadata": {}}
    entries = read_managers(base)
    mine = next((e for e in entries if e["manager"] == manager and e["operation"] == APPLY
                 and not e.get("subresource")), None)
    applied_set = fs.field_set(applied)
    result = merge_content(base, applied)
    conflicts = _conflicts(entries, mine, base, result, applied_set)
    if conflicts and not force:
        raise conflict_error(conflicts)
    for e, p in conflicts:
        e["set"].discard(p)

    previous = mine["set"] if mine else set()
    # Whole keyed items first (their fields go with them), then single fields;
    # an item's key fields stay as long as the item does.
    dropped = previous - applied_set
    for p in sorted(dropped, key=lambda p: (p[-1] != ".", -len(p))):
        if _is_key_field(p) or _others_own(entries, mine, p):
            continue
        fs.remove(result, p)
    mine = _entry(entries, manager, APPLY, api_version, now)
    mine["set"] = applied_set
    write_managers(result, entries)
    return result


def record_update(old, new, manager, api_version, now):
    """Give `manager` (operation Update) the fields that differ from `old` to `new`."""
    entries = read_managers(old) if old else []
    new_set = fs.field_set(new)
    old_set = fs.field_set(old) if old else set()
    changed = {p for p in new_set
               if p not in old_set or (p[-1] != "." and fs.get(old, p) != fs.get(new, p))}
    if changed:
        mine = _entry(entries, manager, UPDATE, api_version, now)
        for e in entries:
            if e is not mine:
                e["set"] -= changed
        mine["set"] |= changed
    write_managers(new, entries)
    return new


def strategic_merge(live, patch):
    """A strategic merge patch, as far as the fake supports it: a JSON merge
    patch in which keyed lists (containers, env, ports, ...) merge by key."""
    out = copy.deepcopy(live)

    def merge(dst, src, path):
        for k, v in src.items():
            fpath = path + ("f:" + k,)
            if v is None:
                dst.pop(k, None)
            elif isinstance(v, dict) and isinstance(dst.get(k), dict):
                merge(dst[k], v, fpath)
            elif isinstance(v, list) and isinstance(dst.get(k), list) and fs.merge_keys(path, k):
                dst[k] = _merge_list(dst[k], _strip_nulls(v), fs.merge_keys(path, k), fpath)
            else:
                dst[k] = _strip_nulls(copy.deepcopy(v))
    merge(out, patch, ())
    return out


def json_merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = json_merge_patch(out.get(k), v)
    return out


def canonical(v):
    return json.dumps(v, sort_keys=True)
