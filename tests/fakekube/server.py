"""HTTP(S) front of the fake: authentication, outages, injected failures,
routing to discovery, objects and control endpoints, chunked watch streams.

One thread per connection (ThreadingHTTPServer), HTTP/1.1 with keep-alive,
TLS handshakes done on the connection's thread so a slow client cannot stall
accept(). ALPN offers only http/1.1: the real API server would take h2, but
the fake's job is to exercise the client's TLS and HTTP/1.1 paths.

Every request needs `Authorization: Bearer <token>` or a client certificate
signed by the fake's CA (401 otherwise), the control endpoints included. While "down", Kubernetes paths answer 503 (mode
refuse) or get their connection closed without a response (mode close), and
open watches end abruptly; the control endpoints keep working so a test can
bring the server back.
"""
import collections
import http.server
import json
import re
import socket
import ssl
import threading
import urllib.parse

from apierrors import ApiError, unauthorized, unavailable
from control import Control
from controller import Controllers
from resources import Request, ResourceApi, WatchStream

MAX_BODY = 16 << 20
PLAIN_PATHS = {"/healthz", "/livez", "/readyz"}


class Options:
    def __init__(self, **kw):
        self.history = kw.get("history", 1000)
        self.bookmark_interval = kw.get("bookmark_interval", 5.0)
        self.crd_delay = kw.get("crd_delay", 0.5)
        self.controller = kw.get("controller", False)
        self.ready_delay = kw.get("ready_delay", 1.0)
        self.token = kw["token"]
        self.verbose = kw.get("verbose", False)
        self.on_change = None


class FakeKube:
    def __init__(self, options, registry, store):
        self.options = options
        self.registry = registry
        self.store = store
        self.api = ResourceApi(store, registry, options)
        self.controllers = Controllers(self.api, options.crd_delay, options.controller,
                                       options.ready_delay)
        self.control = Control(self)
        self.down_mode = None            # None, "refuse" or "close"
        self.stopping = False
        self.server_address = ""
        self._lock = threading.Lock()
        self._failures = []              # injected failure rules
        self._requests = collections.deque(maxlen=2000)

    def state(self):
        return {"resourceVersion": self.store.current_rv(),
                "compactedResourceVersion": self.store.compacted,
                "history": self.store.history,
                "down": self.down_mode,
                "failures": self.failures(),
                "controller": self.controllers.workloads,
                "readyDelay": self.controllers.ready_delay,
                "kinds": [f"{k.api_version}/{k.kind}" for k in self.registry.kinds()]}

    # ---- injected failures ----------------------------------------------
    def add_failure(self, rule):
        with self._lock:
            self._failures.append({"method": rule.get("method"), "path": rule.get("path"),
                                   "code": rule["code"], "reason": rule.get("reason"),
                                   "message": rule.get("message"),
                                   "count": rule.get("count")})

    def clear_failures(self):
        with self._lock:
            self._failures.clear()

    def failures(self):
        with self._lock:
            return [dict(f) for f in self._failures]

    def take_failure(self, method, path):
        """The failure to answer this request with, consuming one of its count."""
        with self._lock:
            for f in self._failures:
                if f["method"] and f["method"].upper() != method:
                    continue
                if f["path"] and not re.search(f["path"], path):
                    continue
                if f["count"] is not None:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self._failures.remove(f)
                reason = f["reason"] or {409: "Conflict", 422: "Invalid", 429: "TooManyRequests",
                                         500: "InternalError", 503: "ServiceUnavailable",
                                         504: "Timeout"}.get(f["code"], "InternalError")
                return ApiError(f["code"], reason, f["message"] or "injected failure")
        return None

    # ---- request log ----------------------------------------------------
    def log_request(self, method, path, query, code):
        with self._lock:
            self._requests.append({"method": method, "path": path, "query": query,
                                   "code": code})

    def request_log(self):
        with self._lock:
            return list(self._requests)

    def clear_request_log(self):
        with self._lock:
            self._requests.clear()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakekube"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.fakekube.options.verbose:
            super().log_message(fmt, *args)

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_BODY:
                    raise ApiError(413, "RequestEntityTooLarge", "request entity too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "request entity too large")
        return self.rfile.read(length) if length else b""

    def _send_json(self, code, obj):
        data = json.dumps(obj).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", "fakekube")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_text(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream_watch(self, watch):
        fk = self.server.fakekube
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def should_stop():
            return fk.stopping or fk.down_mode is not None

        try:
            for ev in watch.events(should_stop):
                data = json.dumps(ev).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            if fk.down_mode is not None or fk.stopping:
                self.close_connection = True  # the server "died": no clean end
                return
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def _authenticated(self):
        if self.headers.get("Authorization", "") == "Bearer " + self.server.fakekube.options.token:
            return True
        # A client certificate got this far only if it verified against the CA.
        peer = getattr(self.connection, "getpeercert", None)
        return bool(peer and peer())

    def _dispatch(self):
        fk = self.server.fakekube
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        query = {k: v[-1] for k, v in
                 urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        control = path.startswith("/fakekube/")
        code = 0
        try:
            body = self._read_body()
            if not control and fk.down_mode == "close":
                self.close_connection = True
                return
            if not control and fk.down_mode == "refuse":
                raise unavailable()
            if not self._authenticated():
                raise unauthorized()
            if not control:
                failure = fk.take_failure(self.command, path)
                if failure:
                    raise failure
            if control:
                code, out = fk.control.handle(self.command, path, body)
            elif path in PLAIN_PATHS:
                code = 200
                self._send_text(200, "ok")
                return
            else:
                code, out = self._route(path, query, body)
            if isinstance(out, WatchStream):
                self._stream_watch(out)
                return
            self._send_json(code, out)
        except ApiError as e:
            code = e.code
            self._send_json(e.code, e.status())
        except (ValueError, KeyError, TypeError) as e:
            code = 500
            self._send_json(500, ApiError(500, "InternalError",
                                          f"fakekube: {type(e).__name__}: {e}").status())
        finally:
            if not control:
                fk.log_request(self.command, path, query, code)

    def _route(self, path, query, body):
        fk = self.server.fakekube
        reg = fk.registry
        if path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fakekube",
                         "platform": "linux/amd64"}
        if path == "/api":
            return 200, reg.api_versions(fk.server_address)
        if path == "/apis":
            return 200, reg.api_group_list()
        segs = [s for s in path.split("/") if s]
        if segs == ["api", "v1"]:
            return 200, reg.resource_list("", "v1")
        if len(segs) == 2 and segs[0] == "apis":
            return 200, reg.api_group(segs[1])
        if len(segs) == 3 and segs[0] == "apis":
            return 200, reg.resource_list(segs[1], segs[2])
        headers = {k.lower(): v for k, v in self.headers.items()}
        return fk.api.handle(Request(self.command, path, query, headers, body))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, fakekube, ssl_context):
        self.fakekube = fakekube
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        request.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return None
        tls.settimeout(None)
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            tls.close()

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-request is not the server's problem


def tls_context(cert, key, client_ca):
    """Server TLS; a client certificate signed by `client_ca` is optional and,
    when presented and valid, authenticates the request as a token would."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
