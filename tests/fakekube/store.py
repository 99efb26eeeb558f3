"""Objects, the cluster-wide resourceVersion, and the event history watches read.

Like etcd behind the real API server, one counter orders every write in the
cluster: each create, update and delete takes the next resourceVersion and
appends an event (ADDED, MODIFIED, DELETED) to a history shared by all kinds.
The history keeps only the last `history` events; a watch that asks to start
before the oldest retained event has lost changes, and gets 410 Gone, which
is how the real server behaves once etcd has compacted the revision.

All reads and writes hold one lock; `cond` wakes watches when an event lands.
Objects handed out are deep copies: callers may change them freely.
"""
import collections
import copy
import threading

from apierrors import gone

# The counter starts well above zero so a client that treats resourceVersion
# as small, or as per-object, is caught.
FIRST_RESOURCE_VERSION = 1000


class Event:
    __slots__ = ("rv", "type", "key", "namespace", "obj", "prev")

    def __init__(self, rv, type_, key, namespace, obj, prev):
        self.rv = rv                # resourceVersion of this change
        self.type = type_           # ADDED, MODIFIED or DELETED
        self.key = key              # (group, plural) of the object's resource
        self.namespace = namespace  # "" for cluster-scoped objects
        self.obj = obj              # the object after the change (before, for DELETED)
        self.prev = prev            # the object before the change, None for ADDED


class Store:
    def __init__(self, history):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = FIRST_RESOURCE_VERSION
        self.objects = {}            # (group, plural) -> {(namespace, name): object}
        self.events = collections.deque()
        self.history = max(1, history)
        self.compacted = self.rv     # events at or below this resourceVersion are gone

    def _record(self, ev):
        self.events.append(ev)
        while len(self.events) > self.history:
            self.compacted = self.events.popleft().rv
        self.cond.notify_all()

    def current_rv(self):
        with self.lock:
            return self.rv

    def get(self, key, namespace, name):
        with self.lock:
            obj = self.objects.get(key, {}).get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, key, namespace=None):
        """Objects of a resource, all namespaces when `namespace` is None, by (ns, name)."""
        with self.lock:
            items = self.objects.get(key, {})
            return [copy.deepcopy(items[k]) for k in sorted(items)
                    if namespace is None or k[0] == namespace]

    def put(self, key, obj):
        """Store `obj` (metadata.name/namespace set), stamping a new resourceVersion."""
        with self.lock:
            meta = obj["metadata"]
            ident = (meta.get("namespace", ""), meta["name"])
            table = self.objects.setdefault(key, {})
            prev = table.get(ident)
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            stored = copy.deepcopy(obj)
            table[ident] = stored
            self._record(Event(self.rv, "MODIFIED" if prev else "ADDED", key, ident[0],
                               stored, prev))
            return copy.deepcopy(stored)

    def delete(self, key, namespace, name):
        """Remove an object; returns it as of its deletion, or None if absent."""
        with self.lock:
            table = self.objects.get(key, {})
            prev = table.pop((namespace, name), None)
            if prev is None:
                return None
            self.rv += 1
            final = copy.deepcopy(prev)
            final["metadata"]["resourceVersion"] = str(self.rv)
            self._record(Event(self.rv, "DELETED", key, namespace, final, prev))
            return copy.deepcopy(final)

    def compact(self):
        """Forget all history: every resourceVersion handed out so far is now too old."""
        with self.lock:
            self.events.clear()
            self.compacted = self.rv

    def events_after(self, rv):
        """Events with resourceVersion > rv; 410 Gone if some were compacted away."""
        with self.lock:
            if rv < self.compacted:
                raise gone(rv, self.compacted + 1)
            return [e for e in self.events if e.rv > rv]

    def all_objects(self):
        with self.lock:
            return [(key, copy.deepcopy(o)) for key, table in self.objects.items()
                    for o in table.values()]
