"""Validation of objects before they are stored: the 422 Invalid answers.

The checks are the ones a manifest author most often trips over, written as
the real API reports them (field path, reason, message): names, labels, the
workload selector/template contract, containers, Service ports, CRD names,
and immutable fields. Schema validation of every field is out of scope.
"""
import json
import re

from labelsel import label_key_error, label_value_error, selector_object_is_empty, \
    selector_object_matches

DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?\Z")

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
               "start with an alphabetic character, and end with an alphanumeric character")

# Kinds whose names are labels rather than subdomains.
LABEL_NAMED = {"Namespace": (DNS1123_LABEL, LABEL_MSG, 63),
               "Service": (DNS1035_LABEL, DNS1035_MSG, 63)}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}


def name_causes(kind, name):
    if not name:
        return [(REQUIRED, "metadata.name", "Required value: name or generateName is required")]
    pattern, msg, limit = LABEL_NAMED.get(kind, (DNS1123_SUBDOMAIN, SUBDOMAIN_MSG, 253))
    if len(name) > limit:
        return [(INVALID, "metadata.name",
                 f'Invalid value: "{name}": must be no more than {limit} characters')]
    if not pattern.match(name):
        return [(INVALID, "metadata.name", f'Invalid value: "{name}": {msg}')]
    return []


def _label_causes(labels, field):
    out = []
    if not isinstance(labels, dict):
        return [(INVALID, field, "Invalid value: must be a map of strings")]
    for k, v in labels.items():
        why = label_key_error(k)
        if why:
            out.append((INVALID, field, f'Invalid value: "{k}": {why}'))
        why = label_value_error(v)
        if why:
            out.append((INVALID, f"{field}", f'Invalid value: "{v}": {why}'))
    return out


def _containers_causes(pod_spec, field):
    out = []
    containers = (pod_spec or {}).get("containers")
    if not containers:
        return [(REQUIRED, f"{field}.containers", "Required value")]
    seen = set()
    for i, c in enumerate(containers):
        f = f"{field}.containers[{i}]"
        name = c.get("name") if isinstance(c, dict) else None
        if not name:
            out.append((REQUIRED, f"{f}.name", "Required value"))
        elif not DNS1123_LABEL.match(name):
            out.append((INVALID, f"{f}.name", f'Invalid value: "{name}": {LABEL_MSG}'))
        elif name in seen:
            out.append(("FieldValueDuplicate", f"{f}.name", f'Duplicate value: "{name}"'))
        seen.add(name)
        if isinstance(c, dict) and not c.get("image"):
            out.append((REQUIRED, f"{f}.image", "Required value"))
        for j, p in enumerate((c or {}).get("ports") or []):
            port = p.get("containerPort") if isinstance(p, dict) else None
            if not isinstance(port, int) or not 0 < port < 65536:
                out.append((INVALID if port is not None else REQUIRED,
                            f"{f}.ports[{j}].containerPort",
                            f"Invalid value: {port}: must be between 1 and 65535, inclusive"
                            if port is not None else "Required value"))
    return out


def _workload_causes(obj):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [(REQUIRED, "spec", "Required value")]
    out = []
    selector = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not isinstance(selector, dict) or selector_object_is_empty(selector):
        out.append((REQUIRED, "spec.selector", "Required value"))
    elif not selector_object_matches(selector, labels):
        out.append((INVALID, "spec.template.metadata.labels",
                    f"Invalid value: {_go_map(labels)}: `selector` does not match template "
                    f"`labels`"))
    out += _label_causes(labels, "spec.template.metadata.labels")
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        out.append((INVALID, "spec.replicas",
                    f"Invalid value: {replicas}: must be greater than or equal to 0"))
    out += _containers_causes((spec.get("template") or {}).get("spec"), "spec.template.spec")
    return out


def _go_map(m):
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in m.items()) + "}"


def _job_causes(obj):
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    out = _containers_causes(template.get("spec"), "spec.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        out.append((NOT_SUPPORTED if policy else REQUIRED, "spec.template.spec.restartPolicy",
                    f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"'
                    if policy else 'Required value: valid values: "OnFailure", "Never"'))
    return out


def _service_causes(obj):
    out = []
    spec = obj.get("spec") or {}
    ports = spec.get("ports") or []
    if not ports and spec.get("type", "ClusterIP") != "ExternalName" \
            and spec.get("clusterIP") != "None":
        out.append((REQUIRED, "spec.ports", "Required value"))
    for i, p in enumerate(ports):
        port = p.get("port") if isinstance(p, dict) else None
        if not isinstance(port, int) or not 0 < port < 65536:
            out.append((REQUIRED if port is None else INVALID, f"spec.ports[{i}].port",
                        "Required value" if port is None
                        else f"Invalid value: {port}: must be between 1 and 65535, inclusive"))
    return out


def _crd_causes(obj):
    out = []
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    if not group:
        out.append((REQUIRED, "spec.group", "Required value"))
    if not names.get("plural"):
        out.append((REQUIRED, "spec.names.plural", "Required value"))
    if not names.get("kind"):
        out.append((REQUIRED, "spec.names.kind", "Required value"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        out.append((NOT_SUPPORTED, "spec.scope",
                    f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", '
                    f'"Namespaced"'))
    versions = spec.get("versions") or []
    if not versions:
        out.append((REQUIRED, "spec.versions", "Required value: must have exactly one version "
                    "marked as storage version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        out.append((INVALID, "spec.versions", "Invalid value: must have exactly one version "
                    "marked as storage version"))
    expected = f'{names.get("plural")}.{group}'
    if group and names.get("plural") and obj["metadata"].get("name") != expected:
        out.append((INVALID, "metadata.name",
                    f'Invalid value: "{obj["metadata"].get("name")}": must be spec.names.plural'
                    f'+"."+spec.group'))
    return out


def object_causes(kind_info, obj):
    """Everything wrong with `obj` as a new or updated object of this kind."""
    meta = obj.get("metadata") or {}
    out = name_causes(kind_info.kind, meta.get("name", ""))
    out += _label_causes(meta.get("labels") or {}, "metadata.labels")
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict) or \
            not all(isinstance(v, str) for v in annotations.values()):
        out.append((INVALID, "metadata.annotations", "Invalid value: must be a map of strings"))
    kind = kind_info.kind
    if kind in WORKLOADS:
        out += _workload_causes(obj)
    elif kind == "Job":
        out += _job_causes(obj)
    elif kind == "Pod":
        out += _containers_causes(obj.get("spec"), "spec")
    elif kind == "Service":
        out += _service_causes(obj)
    elif kind == "CustomResourceDefinition":
        out += _crd_causes(obj)
    elif kind in ("ConfigMap", "Secret"):
        for field in ("data", "binaryData", "stringData"):
            data = obj.get(field)
            if data is not None and (not isinstance(data, dict) or
                                     not all(isinstance(v, str) for v in data.values())):
                out.append((INVALID, field, "Invalid value: must be a map of strings"))
    return out


def immutable_causes(kind_info, old, new):
    """Changes to fields that cannot change after creation."""
    out = []
    if kind_info.kind in WORKLOADS or kind_info.kind == "Job":
        if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
            out.append((INVALID, "spec.selector",
                        f"Invalid value: {json.dumps((new.get('spec') or {}).get('selector'))}: "
                        f"field is immutable"))
    if kind_info.kind == "CustomResourceDefinition":
        for f in ("group", "scope"):
            if (old.get("spec") or {}).get(f) != (new.get("spec") or {}).get(f):
                out.append((INVALID, f"spec.{f}", "Invalid value: field is immutable"))
    return out
