#!/usr/bin/env python3
"""Write the seed inputs of the fuzz corpora (tests/fuzz/corpus/<target>/).

Seeds are a handful of small valid and invalid inputs that give libFuzzer a
start in the right shape; `make fuzz` adds what it finds beyond them. The
msgpack bytes are spelled out by hand so malformed ones are exactly as meant.
Sealed packets use libsodium through ctypes (no Python binding needed) and
the fixed keys of fuzz_open.c: key i is bytes i*32 .. i*32+31.

Run from anywhere: python3 tests/fuzz/make_seeds.py
"""
import ctypes
import ctypes.util
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def fixstr(s):
    b = s.encode()
    assert len(b) < 32
    return bytes([0xA0 | len(b)]) + b


def mp_seeds():
    swim_like = (bytes([0x84]) + fixstr("t") + b"\x01" + fixstr("inc") + b"\xce" +
                 struct.pack(">I", 7) + fixstr("name") + fixstr("site-a") +
                 fixstr("labels") + bytes([0x81]) + fixstr("region") + fixstr("eu-west"))
    every_int = (bytes([0x9A, 0x00, 0x7F, 0xFF, 0xE0]) + b"\xcc\xff" + b"\xcd\x01\x00" +
                 b"\xce\x00\x01\x00\x00" + b"\xcf" + b"\xff" * 8 + b"\xd0\x80" +
                 b"\xd3\x80" + b"\x00" * 7)
    raws = (bytes([0x94]) + b"\xd9\x03abc" + b"\xda\x00\x02hi" + b"\xc4\x02\x00\x01" +
            b"\xc5\x00\x01\xff")
    misc = (bytes([0x97, 0xC0, 0xC2, 0xC3]) + b"\xca\x3f\x80\x00\x00" + b"\xcb" + b"\x00" * 8 +
            b"\xd4\x01\x02" + b"\xc7\x02\x05ab")
    nested = bytes([0x91, 0x91, 0x81, 0xA1, 0x6B, 0x90])
    return {
        "valid-swim-like": swim_like,
        "valid-every-int": every_int,
        "valid-str-bin": raws,
        "valid-misc": misc,
        "valid-nested": nested,
        "valid-map16": b"\xde\x00\x01\xa1k\xdc\x00\x02\x01\x02",
        "bad-array32-huge": b"\xdd\xff\xff\xff\xff",
        "bad-bin32-huge": b"\xc6\xff\xff\xff\xff\x01\x02\x03",
        "bad-str-truncated": b"\xa5ab",
        "bad-never-used": b"\x92\x01\xc1",
        "bad-deep": b"\x91" * 20 + b"\x00",
        "bad-map-odd": b"\x82\x01\x02\x03",
    }


class Sodium:
    def __init__(self):
        name = ctypes.util.find_library("sodium") or "libsodium.so.23"
        self.lib = ctypes.CDLL(name)
        if self.lib.sodium_init() < 0:
            raise RuntimeError("sodium_init failed")

    def seal(self, key, nonce, plain, version=1):
        ad = bytes([version])
        out = ctypes.create_string_buffer(len(plain) + 16)
        outlen = ctypes.c_ulonglong(0)
        rc = self.lib.crypto_aead_xchacha20poly1305_ietf_encrypt(
            out, ctypes.byref(outlen), plain, ctypes.c_ulonglong(len(plain)), ad,
            ctypes.c_ulonglong(1), None, nonce, key)
        assert rc == 0
        return ad + nonce + out.raw[:outlen.value]


def key(i):
    return bytes((i * 32 + j) & 0xFF for j in range(32))


def open_seeds():
    na = Sodium()
    body = mp_seeds()["valid-swim-like"]
    nonce = bytes(range(100, 124))
    primary = na.seal(key(0), nonce, body)
    tampered = bytearray(primary)
    tampered[-1] ^= 1
    return {
        "valid-primary": primary,
        "valid-secondary": na.seal(key(1), bytes(range(24)), b"\x93\x01\x02\x03"),
        "valid-empty": na.seal(key(0), bytes(24), b""),
        "plain-v0": b"\x00" + body,
        "bad-unknown-key": na.seal(key(5), nonce, body),
        "bad-tag": bytes(tampered),
        "bad-version-2": b"\x02" + primary[1:],
        "bad-truncated": primary[:40],
        "bad-empty": b"",
    }


def selector_seeds():
    texts = {
        "valid-equals": "env=prod",
        "valid-double-equals": "env==prod",
        "valid-not-equals": "env!=prod",
        "valid-in": "tier in (web, db,cache)",
        "valid-notin": "tier notin (a,b)",
        "valid-exists": "gpu",
        "valid-not-exists": "!gpu",
        "valid-mixed": "shoal.io/region in (eu,us), env != dev, !legacy, gpu, a==",
        "valid-empty-values": "a=,b in (,x),c notin ( , )",
        "valid-keywords": "in=notin,notin in (in)",
        "valid-whitespace": " \t a \r\n = \n b ",
        "valid-empty": "",
        "bad-empty-set": "a in ()",
        "bad-unclosed": "a in (x,y",
        "bad-trailing-comma": "a=b,",
        "bad-gt": "a>1",
        "bad-key": "Bad_Prefix.io/x=y",
        "bad-long-value": "k=" + "v" * 64,
    }
    return {k: v.encode() for k, v in texts.items()}


def intent_seeds():
    """Envelopes [body, sig]; the fuzz target accepts any signature, so the
    signatures here are zero bytes and the seeds stay readable."""
    import msgpack

    signer = bytes(range(32))
    sig = bytes(64)

    def spec(d):
        return msgpack.packb(d, use_bin_type=True)

    def body(kind, name, sp, target=None, op="put", hlc=(1735689600000 << 16), **extra):
        b = {"v": 1, "kind": kind, "name": name, "op": op,
             "target": target, "spec": sp, "spec_type": "application/vnd.shoal.spec+msgpack",
             "strategy": b"\x80", "hlc": hlc, "replaces": 0, "signer": signer}
        b.update(extra)
        return msgpack.packb(b, use_bin_type=True)

    def env(b, s=sig):
        return msgpack.packb([b, s], use_bin_type=True)

    pub = "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY="
    sel = {"selector": "region in (jp-north,jp-south)"}
    app = body("App", "kuard", spec({"manifests": "apiVersion: v1\nkind: ConfigMap\n"}), sel)
    return {
        "valid-app": env(app),
        "valid-app-force": env(body("App", "kuard", spec({"manifests": "a: b\n"}), sel,
                                    force=True)),
        "valid-delete": env(body("App", "kuard", b"", None, op="delete")),
        "valid-egress": env(body("EgressPolicy", "egress", spec({"allow": ["10.0.0.0/8"],
                                                                  "default": "deny"}),
                                 {"virtual_site": "jpn-all-sites"})),
        "valid-upgrade": env(body("Upgrade", "v2", spec({"version": "2.0.0"}), sel)),
        "valid-vsite": env(body("VirtualSite", "jpn-all-sites",
                                spec({"selector": "country=jp"}))),
        "valid-grant": env(body("KeyGrant", "ops", spec({"pub": pub, "scope": "env=dev",
                                                         "expires": "2030-01-01T00:00:00Z"}))),
        "valid-revoke": env(body("KeyRevoke", "ops-out", spec({"pub": pub}))),
        "valid-alert": env(body("AlertRule", "mem-high", spec({"expr": "mem > 90",
                                                               "for": "5m",
                                                               "severity": "critical",
                                                               "webhook": "http://h:9/x"}),
                                 sel)),
        "bad-alert-expr": env(body("AlertRule", "down", spec({"expr": "up == 0"}), sel)),
        "bad-unknown-kind": env(body("Secret", "x", spec({}), sel)),
        "bad-schema": env(body("App", "kuard", spec({"image": "x"}), sel)),
        "bad-short-sig": msgpack.packb([app, bytes(10)], use_bin_type=True),
        "bad-truncated": env(app)[:60],
        "bad-not-array": msgpack.packb({"body": app}, use_bin_type=True),
    }


def binh(b):
    assert len(b) < 256
    return bytes([0xC4, len(b)]) + b


def replica_seeds():
    key, digest = binh(b"app/kuard"), binh(bytes(range(32)))
    ver, size = b"\xcf" + struct.pack(">Q", 7), b"\xce" + struct.pack(">I", 20000)
    body = binh(b"body")
    return {
        "valid-announce": bytes([0x95, 0x01]) + key + ver + digest + size,
        "valid-pull": bytes([0x92, 0x1E, 0x91, 0x92]) + key + digest,
        "valid-items": bytes([0x92, 0x1F, 0x91, 0x94]) + key + ver + digest + body,
        "valid-items-empty": bytes([0x92, 0x1F, 0x90]),
        "valid-ae-hello": bytes([0x93, 0x20, 0x02]) + binh(bytes(16)),
        "valid-ae-list": bytes([0x93, 0x21, 0x02, 0x91, 0x94]) + key + ver + digest + size,
        "bad-announce-digest-31": bytes([0x95, 0x01]) + key + ver + binh(bytes(31)) + size,
        "bad-pull-empty": bytes([0x92, 0x1E, 0x90]),
        "bad-ae-hello-buckets-3": bytes([0x93, 0x20, 0x03]) + binh(bytes(24)),
        "bad-items-count": bytes([0x92, 0x1F, 0xDD, 0xFF, 0xFF, 0xFF, 0xFF]),
    }


def health_seeds():
    """Health envelopes signed by the fuzz target's site key (seed: 32 bytes
    of 0x01), plus bodies alone (the target decodes input both ways)."""
    import msgpack
    na = Sodium()
    pk = ctypes.create_string_buffer(32)
    sk = ctypes.create_string_buffer(64)
    assert na.lib.crypto_sign_seed_keypair(pk, sk, bytes([1] * 32)) == 0

    def sign(body):
        sig = ctypes.create_string_buffer(64)
        na.lib.crypto_sign_detached(sig, None, body, ctypes.c_ulonglong(len(body)), sk)
        return msgpack.packb([body, sig.raw], use_bin_type=True)

    ver = 1735689600000 << 16
    typical = [1, "jp-robot-0042", ver, "shoal 0.4.0",
               {"region": "jp-north", "sys.shoal.io/arch": "amd64"}, 864000, 3,
               [230, 510, 420], [60, 9999, 60, 60, 12000, 45000, 2],
               [[1, "shop-frontend", ver - 7000, 4], [2, "default-deny", ver - 8000, 5]],
               [14, 0, 0, 0, 1, 0, 0, 0], 2, [bytes(range(8)), True, 0],
               {"egress/default-deny#3": 12}, ["memory-high"], [97, 98, 90, 100, 100],
               {"geo.shoal.io/lat": "35.6762", "note": "T\u014dky\u014d bay 7"}]
    bad_state = list(typical)
    bad_state[9] = [[1, "shop", ver, 7]]
    bad_v = list(typical)
    bad_v[0] = 2
    body = msgpack.packb(typical, use_bin_type=True)
    return {
        "valid-typical": sign(body),
        "valid-body-only": body,
        "valid-empty-lists": sign(msgpack.packb(
            [1, "a", 1, "", {}, 0, 0, [0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [],
             [0] * 8, 0, [bytes(8), False, 0], {}, [], [0, 0, 0, 0, 0], {}], use_bin_type=True)),
        "bad-observer-state": sign(msgpack.packb(bad_state, use_bin_type=True)),
        "bad-format-2": sign(msgpack.packb(bad_v, use_bin_type=True)),
        "bad-sig-short": msgpack.packb([body, bytes(63)], use_bin_type=True),
        "bad-intents-count": bytes([0xDC, 0xFF, 0xFF]),
    }


def alert_expr_seeds():
    good = ["mem > 90", "cpu>=80.5%", "count(mem > 90) >= 1", "fraction(mem > 75) > 0.5",
            "fraction( disk >= 90 ) >= 50%", "pods.crash-loop != 0", "rtt_p99_ms <= 250.125",
            "score < 40", "count(pods.waiting-image > 0) == 3"]
    bad = ["", "mem", "mem >", "mem > 90 and", "up == 0", "count(mem > 90)",
           "fraction(mem > 90) > 2", "count(mem > 90) > 1.5", "score > 40%", "mem > 1.2345",
           "mem >> 9", "sum(mem > 1) > 1", "mem > 99999999999999", "count((mem > 1)) > 1"]
    seeds = {f"valid-{i}": t.encode() for i, t in enumerate(good)}
    seeds.update({f"bad-{i}": t.encode() for i, t in enumerate(bad)})
    return seeds


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{d}: {len(seeds)} seeds")


if __name__ == "__main__":
    write("mp", mp_seeds())
    write("open", open_seeds())
    write("selector", selector_seeds())
    write("intent", intent_seeds())
    write("replica", replica_seeds())
    write("health", health_seeds())
    write("alert_expr", alert_expr_seeds())
