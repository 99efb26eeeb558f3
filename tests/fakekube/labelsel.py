"""Label and field selectors, in the syntax the API accepts on LIST, WATCH and
DELETE collection, and LabelSelector objects (matchLabels/matchExpressions)
as workload specs carry them.

Text syntax: comma-separated requirements, all of which must hold:
  key=value  key==value  key!=value  key in (a,b)  key notin (a,b)  key  !key
`!=` and `notin` also match objects without the label, as in the real API.
A malformed selector is a 400 BadRequest.
"""
import re

from apierrors import bad_request

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
NAME_RE = re.compile(_NAME + r"\Z")
SUBDOMAIN_RE = re.compile(_DNS_SUBDOMAIN + r"\Z")


def label_key_error(key):
    """None if `key` is a valid qualified name ([prefix/]name), else why not."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not SUBDOMAIN_RE.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name or len(name) > 63 or not NAME_RE.match(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                "start and end with an alphanumeric character (at most 63 characters)")
    return None


def label_value_error(value):
    if value == "":
        return None
    if not isinstance(value, str) or len(value) > 63 or not NAME_RE.match(value):
        return ("a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character "
                "(at most 63 characters)")
    return None


class Requirement:
    def __init__(self, key, op, values):
        self.key, self.op, self.values = key, op, values

    def matches(self, labels):
        has = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return has
        if self.op == "!exists":
            return not has
        if self.op in ("=", "==", "in"):
            return has and value in self.values
        if self.op in ("!=", "notin"):
            return not has or value not in self.values
        if self.op in (">", "<"):
            try:
                n, bound = int(value), int(self.values[0])
            except (TypeError, ValueError):
                return False
            return n > bound if self.op == ">" else n < bound
        return False


def _split_top(text):
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise bad_request(f"unable to parse requirement: unbalanced ')' in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise bad_request(f"unable to parse requirement: unbalanced '(' in {text!r}")
    parts.append("".join(cur))
    return parts


_SET_RE = re.compile(r"\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*\Z")
_CMP_RE = re.compile(r"\s*([^\s=!<>]+)\s*(==|=|!=|>|<)\s*(\S*)\s*\Z")


def _check_key(key):
    why = label_key_error(key)
    if why:
        raise bad_request(f"unable to parse requirement: invalid label key \"{key}\": {why}")


def _check_value(value):
    why = label_value_error(value)
    if why:
        raise bad_request(f"unable to parse requirement: invalid label value: \"{value}\": {why}")


def parse_label_selector(text):
    """List of Requirements; an empty selector selects everything."""
    reqs = []
    if text is None or text.strip() == "":
        return reqs
    for part in _split_top(text):
        if part.strip() == "":
            raise bad_request(f"unable to parse requirement: found '', expected: identifier "
                              f"in {text!r}")
        m = _SET_RE.match(part)
        if m:
            key, op = m.group(1), m.group(2)
            values = [v.strip() for v in m.group(3).split(",")]
            _check_key(key)
            if values == [""]:
                raise bad_request(f"for '{op}' operator, values set can't be empty")
            for v in values:
                _check_value(v)
            reqs.append(Requirement(key, op, set(values)))
            continue
        m = _CMP_RE.match(part)
        if m:
            key, op, value = m.groups()
            _check_key(key)
            if op in (">", "<"):
                if not re.fullmatch(r"-?\d+", value):
                    raise bad_request("for 'Gt', 'Lt' operators, the value must be an integer")
            else:
                _check_value(value)
            reqs.append(Requirement(key, op, {value} if op not in (">", "<") else [value]))
            continue
        key = part.strip()
        op = "exists"
        if key.startswith("!"):
            key, op = key[1:].strip(), "!exists"
        if not key or re.search(r"[\s()=<>!]", key):
            raise bad_request(f"unable to parse requirement: {part.strip()!r} in {text!r}")
        _check_key(key)
        reqs.append(Requirement(key, op, set()))
    return reqs


def labels_match(reqs, obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


# ---- field selectors ------------------------------------------------------
FIELD_PATHS = {
    "metadata.name": lambda o: o["metadata"].get("name", ""),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
}
# The real API lets each kind add a few fields; the fake knows those Shoal may use.
KIND_FIELD_PATHS = {
    "Pod": {"status.phase": lambda o: (o.get("status") or {}).get("phase", ""),
            "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", "")},
    "Secret": {"type": lambda o: o.get("type", "")},
    "Namespace": {"status.phase": lambda o: (o.get("status") or {}).get("phase", "")},
}


def parse_field_selector(text, kind):
    """List of (getter, op, value); only =, == and != are defined for fields."""
    out = []
    if text is None or text.strip() == "":
        return out
    known = dict(FIELD_PATHS, **KIND_FIELD_PATHS.get(kind, {}))
    for part in text.split(","):
        m = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        if field not in known:
            raise bad_request(f'field label not supported: {field}')
        out.append((known[field], op, value))
    return out


def fields_match(reqs, obj):
    for getter, op, value in reqs:
        got = getter(obj)
        if (op == "!=") == (got == value):
            return False
    return True


# ---- LabelSelector objects ------------------------------------------------
def selector_object_matches(selector, labels):
    """Does a LabelSelector ({matchLabels, matchExpressions}) select `labels`?"""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists",
              "DoesNotExist": "!exists"}.get(expr.get("operator"))
        if op is None:
            return False
        if not Requirement(expr.get("key", ""), op, set(expr.get("values") or [])).matches(labels):
            return False
    return True


def selector_object_is_empty(selector):
    return not (selector.get("matchLabels") or selector.get("matchExpressions"))
