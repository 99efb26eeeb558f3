"""Intent envelopes built in Python, independently of shoalctl's C code.

The format is docs/intents.md: a msgpack body map signed with Ed25519, the
binary envelope [body, sig], and the API's JSON form {"body", "sig"} in
base64. Building envelopes here (python3-nacl, python3-msgpack) lets tests
break exactly one thing at a time - a signature bit, a field, the spec - and
checks that the node reads the format as documented, not as shoalctl writes it.
"""
import base64
import hashlib
import os

import msgpack
import nacl.signing

SPEC_TYPE = "application/vnd.shoal.spec+msgpack"
SPEC_MAX = 1 << 20
BODY_MAX = SPEC_MAX + (64 << 10) + 4096
HORIZON_MS = 7 * 24 * 3600 * 1000
SKEW_MS = 5 * 60 * 1000
MANIFEST = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kuard\n"
            "spec:\n  replicas: 1\n")


def hlc(ms, counter=0):
    return (ms << 16) | counter


class Key:
    """An Ed25519 key; from a shoalctl .key file (base64 seed) or fresh."""

    def __init__(self, seed=None):
        self.sk = nacl.signing.SigningKey(seed or os.urandom(32))
        self.pk = bytes(self.sk.verify_key)

    @classmethod
    def from_file(cls, path):
        with open(path) as f:
            return cls(base64.b64decode(f.read().strip()))

    @property
    def pub_b64(self):
        return base64.b64encode(self.pk).decode()

    def write_pub(self, path):
        with open(path, "w") as f:
            f.write(self.pub_b64 + "\n")


def body(kind, name, spec, version, signer, target=None, op="put", replaces=0,
         strategy=b"\x80", force=None, **extra):
    """The body map as bytes. `spec` may be a dict (packed) or raw bytes."""
    b = {"v": 1, "kind": kind, "name": name, "op": op, "target": target,
         "spec": spec if isinstance(spec, bytes) else msgpack.packb(spec, use_bin_type=True),
         "spec_type": SPEC_TYPE, "strategy": strategy, "hlc": version, "replaces": replaces,
         "signer": signer.pk}
    if force is not None:
        b["force"] = force
    b.update(extra)
    return msgpack.packb(b, use_bin_type=True)


def sign(body_bytes, key):
    return key.sk.sign(body_bytes).signature


def envelope_json(body_bytes, sig):
    return {"body": base64.b64encode(body_bytes).decode(), "sig": base64.b64encode(sig).decode()}


def signed(key, *args, **kw):
    """JSON envelope of body(*args, signer=key, **kw) signed by key; and its id."""
    b = body(*args, signer=key, **kw)
    return envelope_json(b, sign(b, key)), hashlib.sha256(b).hexdigest()


def app(key, name, version, manifests=MANIFEST, replaces=0, **kw):
    return signed(key, "App", name, {"manifests": manifests}, version,
                  target={"selector": "region=jp"}, replaces=replaces, **kw)


def grant(root, name, operator, scope, expires_ms, version, replaces=0):
    return signed(root, "KeyGrant", name, {"pub": operator.pub_b64, "scope": scope,
                                           "expires": expires_ms}, version, replaces=replaces)


def revoke(root, name, operator, version, replaces=0):
    return signed(root, "KeyRevoke", name, {"pub": operator.pub_b64}, version,
                  replaces=replaces)
