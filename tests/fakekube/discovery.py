"""Which kinds the fake serves, and the discovery documents that say so.

A KindInfo ties group/version/kind to the REST resource (plural) and scope,
which is exactly what a client learns from discovery and needs to build paths.
The Registry holds the built-in kinds chosen with --serve plus the kinds of
CustomResourceDefinitions once they are Established; discovery documents are
computed from it on each request, so a kind appears the moment it is served
and disappears when its CRD goes.

Departures from the real server: only the legacy (unaggregated) discovery
format is answered, whatever the Accept header asks for; an unknown group or
version gets a NotFound Status where the real server answers plain text.
"""
import threading

from apierrors import no_such_resource

READ_VERBS = ["get", "list", "watch"]
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class KindInfo:
    def __init__(self, group, version, kind, plural, namespaced, short_names=(),
                 status_subresource=True, crd=None):
        self.group = group            # "" for the core group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.status_subresource = status_subresource  # main endpoint ignores .status
        self.crd = crd                # name of the defining CRD, None for built-ins

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self):
        return self.kind + "List"

    @property
    def resource_key(self):
        """Identity in the store: a resource is the same across its versions."""
        return (self.group, self.plural)

    def prefix(self):
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def object_path(self, namespace, name):
        if self.namespaced:
            return f"{self.prefix()}/namespaces/{namespace}/{self.plural}/{name}"
        return f"{self.prefix()}/{self.plural}/{name}"


def _k(group, kind, plural, namespaced, short=(), status=True, version="v1"):
    return KindInfo(group, version, kind, plural, namespaced, short, status)


# The built-in kinds the fake knows; --serve picks a subset by kind name.
BUILTIN = [
    _k("", "Namespace", "namespaces", False, ["ns"]),
    _k("", "ConfigMap", "configmaps", True, ["cm"], status=False),
    _k("", "Secret", "secrets", True, status=False),
    _k("", "Service", "services", True, ["svc"]),
    _k("", "ServiceAccount", "serviceaccounts", True, ["sa"], status=False),
    _k("", "Pod", "pods", True, ["po"]),
    _k("apps", "Deployment", "deployments", True, ["deploy"]),
    _k("apps", "StatefulSet", "statefulsets", True, ["sts"]),
    _k("apps", "DaemonSet", "daemonsets", True, ["ds"]),
    _k("batch", "Job", "jobs", True),
    _k("batch", "CronJob", "cronjobs", True, ["cj"]),
    _k("networking.k8s.io", "Ingress", "ingresses", True, ["ing"]),
    _k("rbac.authorization.k8s.io", "Role", "roles", True, status=False),
    _k("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", True, status=False),
    _k("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", False, status=False),
    _k("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", False,
       status=False),
    _k("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", False,
       ["crd", "crds"]),
]

GROUP_PRIORITY = ["", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io",
                  "apiextensions.k8s.io"]


class Registry:
    """The served kinds. Thread-safe: CRDs come and go while requests run."""

    def __init__(self, serve=None):
        self._lock = threading.Lock()
        if serve is None:
            self._kinds = list(BUILTIN)
        else:
            wanted = {s.lower() for s in serve}
            unknown = wanted - {k.kind.lower() for k in BUILTIN}
            if unknown:
                raise ValueError("unknown kinds for --serve: " + ", ".join(sorted(unknown)))
            self._kinds = [k for k in BUILTIN if k.kind.lower() in wanted]

    def kinds(self):
        with self._lock:
            return list(self._kinds)

    def by_path(self, group, version, plural):
        for k in self.kinds():
            if k.group == group and k.version == version and k.plural == plural:
                return k
        return None

    def by_kind(self, group, kind):
        for k in self.kinds():
            if k.group == group and k.kind == kind:
                return k
        return None

    def serves_group_version(self, group, version):
        return any(k.group == group and k.version == version for k in self.kinds())

    def add_crd_kinds(self, crd_name, infos):
        with self._lock:
            self._kinds = [k for k in self._kinds if k.crd != crd_name] + infos

    def remove_crd_kinds(self, crd_name):
        with self._lock:
            gone = [k for k in self._kinds if k.crd == crd_name]
            self._kinds = [k for k in self._kinds if k.crd != crd_name]
        return gone

    # ---- discovery documents -------------------------------------------
    def _groups(self):
        """{group: [versions]} for non-core groups, in a stable order."""
        out = {}
        for k in self.kinds():
            if k.group:
                vs = out.setdefault(k.group, [])
                if k.version not in vs:
                    vs.append(k.version)

        def order(g):
            return (GROUP_PRIORITY.index(g) if g in GROUP_PRIORITY else len(GROUP_PRIORITY), g)
        return {g: out[g] for g in sorted(out, key=order)}

    def api_versions(self, server_address):
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": server_address}]}

    @staticmethod
    def _group_doc(group, versions):
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}

    def api_group_list(self):
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [self._group_doc(g, vs) for g, vs in self._groups().items()]}

    def api_group(self, group):
        versions = self._groups().get(group)
        if not versions:
            raise no_such_resource()
        return dict(self._group_doc(group, versions), kind="APIGroup", apiVersion="v1")

    def resource_list(self, group, version):
        kinds = [k for k in self.kinds() if k.group == group and k.version == version]
        if not kinds:
            raise no_such_resource()
        resources = []
        for k in kinds:
            entry = {"name": k.plural, "singularName": k.kind.lower(), "namespaced": k.namespaced,
                     "kind": k.kind, "verbs": ALL_VERBS}
            if k.short_names:
                entry["shortNames"] = k.short_names
            resources.append(entry)
            if k.status_subresource:
                resources.append({"name": k.plural + "/status", "singularName": "",
                                  "namespaced": k.namespaced, "kind": k.kind,
                                  "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": resources}
