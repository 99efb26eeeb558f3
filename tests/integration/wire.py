"""Shoal's wire format from the outside, for crafting good and bad packets.

An independent re-implementation (python3-nacl + python3-msgpack) of what
docs/protocol.md and gossip/swim_proto.h specify, so the tests check shoald
against the written format rather than against its own encoder:

    datagram  = version byte (1) | 24-byte nonce | XChaCha20-Poly1305-IETF
                ciphertext of the plaintext, version byte as associated data
    plaintext = [1, [message, ...]]
    PING    [1, seq, target, sender]        SUSPECT [6, name, inc, from]
    DEAD    [7, name, inc, from]            ALIVE   [5, body_bin, sig_bin]
    body    = [name, inc, addr_bin, port, pubkey_bin, labels_map, version]
              signed with Ed25519 by the member's site key

Also a loopback capture (AF_PACKET on "lo", root only) so a test can see
what nodes really send each other.
"""
import base64
import os
import socket
import struct
import threading
import time

import msgpack
import nacl.bindings as nb
import nacl.signing

VERSION = 1
PROTO = 1
NONCE_LEN = 24
OVERHEAD = 1 + NONCE_LEN + 16

PING, ACK, NACK, PING_REQ, ALIVE, SUSPECT, DEAD, LEAVE, KEYOP = range(1, 10)


def key_bytes(key):
    """A key given as base64 text or 32 raw bytes -> 32 raw bytes."""
    if isinstance(key, str):
        key = base64.b64decode(key)
    assert len(key) == 32
    return key


def seal(key, plaintext, version=VERSION):
    nonce = os.urandom(NONCE_LEN)
    ad = bytes([version])
    ct = nb.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key_bytes(key))
    return ad + nonce + ct


def open_sealed(key, data):
    """Plaintext, or None if `key` does not open `data`."""
    if len(data) < OVERHEAD:
        return None
    try:
        return nb.crypto_aead_xchacha20poly1305_ietf_decrypt(
            data[1 + NONCE_LEN:], data[:1], data[1:1 + NONCE_LEN], key_bytes(key))
    except Exception:  # nacl raises CryptoError; anything else is also "no"
        return None


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def datagram(*messages):
    """The plaintext of one datagram holding `messages`."""
    return pack([PROTO, list(messages)])


def ping(seq, target, sender):
    return [PING, seq, target, sender]


def suspect(name, incarnation, accuser):
    return [SUSPECT, name, incarnation, accuser]


def dead(name, incarnation, accuser):
    return [DEAD, name, incarnation, accuser]


def alive_body(name, incarnation, host, port, pubkey, labels, version):
    """Encoded ALIVE body; labels map sorted by key as the format requires."""
    addr = socket.inet_aton(host)
    return pack([name, incarnation, addr, port, pubkey, dict(sorted(labels.items())), version])


def alive(body, sig):
    return [ALIVE, body, sig]


def signed_alive(signing_key, name, incarnation, host, port, labels=None, version="0.1.0"):
    """A correctly signed ALIVE from `signing_key` (nacl SigningKey)."""
    pk = bytes(signing_key.verify_key)
    body = alive_body(name, incarnation, host, port, pk, labels or {}, version)
    return alive(body, signing_key.sign(body).signature)


def new_signing_key():
    return nacl.signing.SigningKey.generate()


def send_udp(port, payloads, host="127.0.0.1", pace=0.0):
    """Send datagrams from one socket; returns how many sendto calls succeeded."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    try:
        for p in payloads:
            try:
                s.sendto(p, (host, port))
                sent += 1
            except OSError:
                pass
            if pace:
                time.sleep(pace)
    finally:
        s.close()
    return sent


ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def can_capture():
    """True when AF_PACKET sockets can be opened (root / CAP_NET_RAW)."""
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.close()
        return True
    except (OSError, AttributeError):
        return False


class Capture:
    """UDP datagrams to a set of ports on lo, captured in a thread.

    Each packet on lo is seen twice by a packet socket (outgoing and
    incoming); only the incoming copy is kept. `packets` is a list of
    (src_port, dst_port, payload).
    """

    def __init__(self, ports, limit=200000):
        self.ports = set(ports)
        self.limit = limit
        self.packets = []
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.1)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _run(self):
        while not self._stop.is_set() and len(self.packets) < self.limit:
            try:
                frame, addr = self._sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == PACKET_OUTGOING or len(frame) < 14 + 20 + 8:
                continue
            eth_type = struct.unpack("!H", frame[12:14])[0]
            if eth_type != 0x0800:
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            if ip[9] != 17:  # UDP
                continue
            total = struct.unpack("!H", ip[2:4])[0]
            udp = ip[ihl:total]
            sport, dport, ulen = struct.unpack("!HHH", udp[:6])
            if dport in self.ports:
                self.packets.append((sport, dport, bytes(udp[8:ulen])))
