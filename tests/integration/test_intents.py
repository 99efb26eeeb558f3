"""Signed intents on one shoald: apply with shoalctl, durability across
SIGKILL, every API-level bad input refused with the right status and the
store unchanged, and the KeyGrant scope / expiry / revoke flow.

"Store unchanged" is checked by the digest GET /v1/intents reports (SHA-256
over the anti-entropy buckets) and, at the end of the bad-input test, by
killing the node and reading the digest again after it reloaded LMDB: what
is on disk is what was acknowledged, and nothing a refused request sent.
"""
import base64
import json
import os
import time
import unittest

from . import intents as I
from .mesh import Mesh, SuiteTimer, finish_suite

TIMER = SuiteTimer("test_intents")
MESH = None
NODE = None
ROOT = None
KEYS = None  # directory with root.key / root.pub written by shoalctl keygen


def setUpModule():
    global MESH, NODE, ROOT, KEYS
    TIMER.start()
    MESH = Mesh(prefix="shoal-intents-")
    try:
        KEYS = os.path.join(MESH.tmp, "keys")
        os.makedirs(KEYS)
        r = MESH.shoalctl("keygen", "--out", os.path.join(KEYS, "root"))
        assert r.returncode == 0, r.stderr
        ROOT = I.Key.from_file(os.path.join(KEYS, "root.key"))
        NODE = MESH.add("i1", extra_args=["--trust", os.path.join(KEYS, "root.pub")])
        NODE.wait_ready()
    except BaseException:
        MESH.close()
        raise


def tearDownModule():
    finish_suite(MESH.close() if MESH else [], TIMER)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


APP_YAML = """apiVersion: shoal.io/v1
kind: App
metadata: {name: %s}
spec:
  target: {virtualSite: jpn-all-sites}
  strategy: {maxUnavailable: 1}
  manifests: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: kuard
"""


class IntentTest(unittest.TestCase):
    def ctl(self, *args):
        return MESH.shoalctl("--node", NODE.api_addr, *args)

    def post(self, env):
        return NODE.api("/v1/intents", method="POST", body=env)

    def digest(self):
        st, body = NODE.api("/v1/intents")
        self.assertEqual(st, 200, body)
        return body["digest"], body["count"]

    def node_hlc(self):
        return NODE.get("/v1/hlc")["hlc"]

    def now_ms(self):
        return int(time.time() * 1000)

    def held(self, kind, name):
        st, body = NODE.api(f"/v1/intents/{kind}/{name}")
        return body if st == 200 else None

    # ---- the happy path and durability ------------------------------------
    def test_apply_get_and_survive_sigkill(self):
        f = write(os.path.join(MESH.tmp, "kuard.yaml"), APP_YAML % "kuard")
        r = self.ctl("apply", "-f", f, "--key", os.path.join(KEYS, "root.key"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("App/kuard accepted", r.stdout)
        got = self.held("App", "kuard")
        self.assertEqual(got["received_from"], "api")
        self.assertEqual(got["status"], "effective")
        self.assertEqual(got["target"], {"virtual_site": "jpn-all-sites"})
        self.assertEqual(got["strategy"], {"maxUnavailable": 1})
        self.assertIn("kind: Deployment", got["spec"]["manifests"])
        self.assertRegex(got["received_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        # committed before 202: the log has it, and LMDB survives a SIGKILL
        self.assertTrue(any(e.get("id") == got["id"] for e in NODE.events("intent_committed")))
        # a second apply replaces the version the node holds
        r = self.ctl("apply", "-f", f, "--key", os.path.join(KEYS, "root.key"), "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        second = json.loads(r.stdout)
        self.assertGreater(second["version"], got["version"])
        before = self.digest()
        NODE.kill()
        NODE.start()
        NODE.wait_ready()
        after = self.held("App", "kuard")
        self.assertEqual(after["id"], second["id"])
        self.assertEqual(after["received_from"], "api")
        self.assertEqual(self.digest(), before)
        # table and yaml output
        r = self.ctl("get", "intents")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"App\s+kuard\s+\d+\s+effective\s+site:jpn-all-sites\s+api")
        r = self.ctl("get", "intents", "-o", "yaml")
        self.assertIn('"name": "kuard"', r.stdout)

    def test_delete_is_a_tombstone(self):
        f = write(os.path.join(MESH.tmp, "gone.yaml"), APP_YAML % "gone")
        key = os.path.join(KEYS, "root.key")
        self.assertEqual(self.ctl("apply", "-f", f, "--key", key).returncode, 0)
        r = self.ctl("delete", "App", "gone", "--key", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.held("App", "gone")
        self.assertEqual((got["op"], got["status"]), ("delete", "deleted"))

    def test_signed_envelope_from_sign_is_accepted(self):
        f = write(os.path.join(MESH.tmp, "signed.yaml"), APP_YAML % "signed")
        r = self.ctl("sign", "-f", f, "--key", os.path.join(KEYS, "root.key"))
        self.assertEqual(r.returncode, 0, r.stderr)
        st, body = self.post(json.loads(r.stdout))
        self.assertEqual(st, 202, body)
        self.assertEqual(body["name"], "signed")

    def test_keygen_modes(self):
        base = os.path.join(MESH.tmp, "modes")
        self.assertEqual(MESH.shoalctl("keygen", "--out", base).returncode, 0)
        self.assertEqual(os.stat(base + ".key").st_mode & 0o777, 0o600)
        # never overwrites a key
        r = MESH.shoalctl("keygen", "--out", base)
        self.assertEqual(r.returncode, 1)

    # ---- bad input: refused, nothing stored -------------------------------
    def refused(self, env, status, code):
        before = self.digest()
        st, body = self.post(env)
        self.assertEqual((st, body.get("error")), (status, code), body)
        self.assertTrue(body.get("reason"))
        self.assertEqual(self.digest(), before, f"store changed by a refused {code}")
        return body

    def test_bad_inputs_refused_and_store_unchanged(self):
        first, _ = I.app(ROOT, "target", self.node_hlc())
        st, body = self.post(first)
        self.assertEqual(st, 202, body)
        second, _ = I.app(ROOT, "target", self.node_hlc(), replaces=body["version"])
        st, body = self.post(second)
        self.assertEqual(st, 202, body)
        held = body["version"]
        metric_before = NODE.metric("shoal_intents_rejected_total")
        digest_before = self.digest()

        now = self.now_ms()
        stranger = I.Key()
        # bad signature
        bad, _ = I.app(ROOT, "x1", self.node_hlc())
        sig = bytearray(base64.b64decode(bad["sig"]))
        sig[5] ^= 1
        bad["sig"] = base64.b64encode(bytes(sig)).decode()
        self.refused(bad, 401, "bad_signature")
        # unknown signer
        self.refused(I.app(stranger, "x2", self.node_hlc())[0], 403, "unknown_signer")
        # HLC beyond the skew bound
        self.refused(I.app(ROOT, "x3", I.hlc(now + I.SKEW_MS + 60000))[0], 422, "clock_skew")
        # an older version replayed: the very bytes accepted before, and a new
        # envelope older than the one held (force does not help)
        self.refused(first, 409, "stale")
        self.refused(I.app(ROOT, "target", held - 1, force=True)[0], 409, "stale")
        # replaces an older version than held
        self.refused(I.app(ROOT, "target", self.node_hlc(), replaces=held - 1)[0], 409,
                     "conflict")
        # older than the horizon
        self.refused(I.app(ROOT, "x4", I.hlc(now - I.HORIZON_MS - 60000))[0], 422,
                     "beyond_horizon")
        # spec over the size limit
        self.refused(I.app(ROOT, "x5", self.node_hlc(), manifests="a" * (I.SPEC_MAX + 1))[0],
                     413, "too_big")
        # a body over the fleet's body limit, refused before it is decoded
        huge = b"\x00" * (I.BODY_MAX + 1)
        self.refused(I.envelope_json(huge, bytes(64)), 413, "too_big")
        # a spec failing its schema, and manifests that are not Kubernetes YAML
        self.refused(I.signed(ROOT, "App", "x6", {"image": "nginx"}, self.node_hlc(),
                              target={"selector": "a=b"})[0], 422, "schema")
        self.refused(I.app(ROOT, "x7", self.node_hlc(), manifests="kind: [unclosed\n")[0],
                     422, "schema")
        self.refused(I.app(ROOT, "x8", self.node_hlc(), manifests="apiVersion: v1\n")[0],
                     422, "schema")
        # unknown kind
        self.refused(I.signed(ROOT, "Secret", "x9", {}, self.node_hlc())[0], 400,
                     "unknown_kind")
        # malformed msgpack body, correctly signed
        junk = b"\x8b\xa1v\x01\xa4kind"
        self.refused(I.envelope_json(junk, I.sign(junk, ROOT)), 400, "malformed")
        # malformed JSON, and JSON of the wrong shape
        before = self.digest()
        st, body = NODE.api("/v1/intents", method="POST", body="not an envelope")
        self.assertEqual((st, body["error"]), (400, "malformed"))
        st, body = NODE.api("/v1/intents", method="POST", body={"body": "!!", "sig": "AA=="})
        self.assertEqual((st, body["error"]), (400, "malformed"))
        self.assertEqual(self.digest(), before)
        # a grant signed by a non-root key
        self.refused(I.grant(stranger, "g1", I.Key(), "a=b", now + 3600000,
                             self.node_hlc())[0], 403, "not_root")

        self.assertGreaterEqual(NODE.metric("shoal_intents_rejected_total") - metric_before, 15)
        rejected = [e["reason"] for e in NODE.events("intent_rejected")]
        for reason in ("bad_signature", "unknown_signer", "clock_skew", "stale", "conflict",
                       "beyond_horizon", "too_big", "schema", "unknown_kind", "malformed",
                       "not_root"):
            self.assertIn(reason, rejected)
        # LMDB holds exactly what was acknowledged
        self.assertEqual(self.digest(), digest_before)
        NODE.kill()
        NODE.start()
        NODE.wait_ready()
        self.assertEqual(self.digest(), digest_before)

    # ---- trust: grant scope, expiry, revoke -------------------------------
    def test_grant_scope_expiry_and_revoke(self):
        op_base = os.path.join(MESH.tmp, "op")
        self.assertEqual(MESH.shoalctl("keygen", "--out", op_base).returncode, 0)
        op = I.Key.from_file(op_base + ".key")
        root_key = os.path.join(KEYS, "root.key")
        f = write(os.path.join(MESH.tmp, "ops.yaml"), APP_YAML % "ops-app")
        # before any grant: refused
        r = self.ctl("apply", "-f", f, "--key", op_base + ".key")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown_signer", r.stderr)
        # an expired grant does not cover a new intent
        now = self.now_ms()
        st, body = self.post(I.grant(ROOT, "op-old", op, "env=dev", now - 60000,
                                     self.node_hlc())[0])
        self.assertEqual(st, 202, body)
        self.refused(I.app(op, "ops-app", self.node_hlc())[0], 403, "expired_key")
        # a live grant: accepted, and the signer's scope is reported
        r = self.ctl("key", "grant", "--pub", op_base + ".pub", "--scope", "env=dev",
                     "--expires", "1h", "--key", root_key)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("apply", "-f", f, "--key", op_base + ".key")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.held("App", "ops-app")
        self.assertEqual((got["status"], got["signer_scope"]), ("effective", "env=dev"))
        # only roots grant
        self.refused(I.grant(op, "op-friend", I.Key(), "env=dev", now + 3600000,
                             self.node_hlc())[0], 403, "not_root")
        # revoke: the intent stays stored but is no longer effective
        r = self.ctl("key", "revoke", "--pub", op_base + ".pub", "--key", root_key)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.held("App", "ops-app")
        self.assertEqual(got["status"], "revoked")
        self.refused(I.app(op, "ops-app-2", self.node_hlc())[0], 403, "revoked_key")


if __name__ == "__main__":
    unittest.main()
