#!/usr/bin/env python3
"""A registry proxy for failure tests: forwards GET/HEAD to --upstream and misbehaves on
request. Every request is logged to --log as one line: method, path, Range, whether an
Authorization header came, and the status sent.

  --corrupt-blobs        flip one byte in every blob body (same length)
  --truncate-blobs       send the full Content-Length but close after half the body
  --fail N --status S    answer the first N blob/manifest requests with S (Retry-After 1)
  --big-manifest         answer manifest GETs with a 5 MiB body
  --redirect-blobs       307 blob GETs to http://localhost:<port>/redirected/... (another
                         host name for this proxy), which fetches with --upstream-creds
  --throttle BPS         send blob bodies at about BPS bytes per second
  --open-ping            answer GET /v2/ with 200 itself (a registry whose API root needs no
                         auth while its repositories do)
  --insufficient-scope N --challenge HDR
                         answer the first N blob GETs with 401 and WWW-Authenticate: HDR
                         (a Bearer challenge with error="insufficient_scope")
  --cut-upload N         read the whole body of the first N blob uploads (PATCH, or PUT with
                         a body), forward half of it upstream and close both connections
  --lie-head FILE        answer blob HEADs the registry answers 404 with 200, the size
                         FILE gives for the digest ("sha256:<hex> <size>" lines) and a
                         matching Docker-Content-Digest (a lying cache)
  --refuse-uploads S     answer every blob upload request (POST/PUT/PATCH) with status S
  --refuse-manifests S   answer every manifest PUT with status S
  --cut-at F             cut the first full blob body over 1 MiB after the fraction F of it
                         (send that much, then close the connection); once
POST, PUT and PATCH are forwarded with their bodies; --fail applies to them as well.
The log line also carries tok=<first 8 hex of sha256(Authorization)> (or tok=-), so tests can
tell whether a retried request came with a new token, and conn=<client port>, so tests can
count the connections a client opened.
"""
import argparse
import base64
import hashlib
import http.client
import http.server
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--corrupt-blobs", action="store_true")
    ap.add_argument("--truncate-blobs", action="store_true")
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--status", type=int, default=429)
    ap.add_argument("--big-manifest", action="store_true")
    ap.add_argument("--redirect-blobs", action="store_true")
    ap.add_argument("--upstream-creds", default="")
    ap.add_argument("--throttle", type=int, default=0)
    ap.add_argument("--insufficient-scope", type=int, default=0)
    ap.add_argument("--challenge", default="")
    ap.add_argument("--open-ping", action="store_true")
    ap.add_argument("--cut-upload", type=int, default=0)
    ap.add_argument("--lie-head", default="")
    ap.add_argument("--refuse-uploads", type=int, default=0)
    ap.add_argument("--refuse-manifests", type=int, default=0)
    ap.add_argument("--cut-at", type=float, default=0)
    args = ap.parse_args()
    lock = threading.Lock()
    state = {"failed": 0, "refused": 0, "cut": 0, "cut_body": 0}
    lie_sizes = {}
    if args.lie_head:
        with open(args.lie_head) as f:
            for line in f:
                if line.strip():
                    d, n = line.split()
                    lie_sizes[d] = n

    def log(line):
        with lock, open(args.log, "a") as f:
            f.write(line + "\n")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def note(self, status):
            auth = self.headers.get("Authorization")
            tok = hashlib.sha256(auth.encode()).hexdigest()[:8] if auth else "-"
            log(f"{self.command} {self.path} range={self.headers.get('Range', '-')} "
                f"auth={'yes' if auth else 'no'} status={status} tok={tok} conn={self.client_address[1]}")

        def simple(self, status, body=b"", headers=None):
            self.note(status)
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_POST(self):
            self.do_GET()

        def do_PUT(self):
            self.do_GET()

        def do_PATCH(self):
            self.do_GET()

        def do_GET(self):
            path = self.path
            body = None
            if self.command in ("POST", "PUT", "PATCH"):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            is_blob = "/blobs/" in path
            is_manifest = "/manifests/" in path
            # Uploads keep the client's Host: the registry builds its absolute upload
            # Locations from it, and the following PATCH/PUT must come through here too.
            keep_host = self.command in ("POST", "PUT", "PATCH")
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() != "connection" and (keep_host or k.lower() != "host")}
            if path.startswith("/redirected/"):
                path = path[len("/redirected"):]
                headers.pop("Authorization", None)
                if args.upstream_creds:
                    headers["Authorization"] = "Basic " + base64.b64encode(args.upstream_creds.encode()).decode()
            elif args.redirect_blobs and is_blob and self.command == "GET":
                self.simple(307, headers={"Location": f"http://localhost:{args.port}/redirected{path}"})
                return
            if args.open_ping and path == "/v2/":
                self.simple(200, b"{}", {"Content-Type": "application/json",
                                         "Docker-Distribution-API-Version": "registry/2.0"})
                return
            if is_blob and self.command == "GET" and state["refused"] < args.insufficient_scope:
                with lock:
                    state["refused"] += 1
                self.simple(401, b'{"errors":[{"code":"DENIED","message":"insufficient scope"}]}',
                            {"WWW-Authenticate": args.challenge, "Content-Type": "application/json"})
                return
            if (is_blob or is_manifest) and state["failed"] < args.fail:
                with lock:
                    state["failed"] += 1
                self.simple(args.status, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
                            {"Retry-After": "1", "Content-Type": "application/json"})
                return
            refusal = 0
            if args.refuse_uploads and "/blobs/uploads/" in path and self.command in ("POST", "PUT", "PATCH"):
                refusal = args.refuse_uploads
            if args.refuse_manifests and is_manifest and self.command == "PUT":
                refusal = args.refuse_manifests
            if refusal:
                code = {413: "SIZE_INVALID", 415: "MANIFEST_INVALID", 403: "DENIED"}.get(refusal, "UNSUPPORTED")
                self.simple(refusal, ('{"errors":[{"code":"%s"}]}' % code).encode(),
                            {"Content-Type": "application/json"})
                return
            if (is_blob and body and len(body) > 1024 and self.command in ("PUT", "PATCH")
                    and state["cut"] < args.cut_upload):
                with lock:
                    state["cut"] += 1
                self.note("cut")
                try:
                    conn = http.client.HTTPConnection(args.upstream, timeout=30)
                    conn.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
                    for k, v in headers.items():
                        conn.putheader(k, v)
                    conn.endheaders()
                    conn.send(body[: len(body) // 2])
                    time.sleep(0.2)
                    conn.sock.shutdown(2)
                    conn.close()
                except OSError:
                    pass
                self.close_connection = True
                return
            if is_blob and self.command == "HEAD" and lie_sizes:
                digest = path.rsplit("/", 1)[-1]
                try:
                    conn = http.client.HTTPConnection(args.upstream, timeout=30)
                    conn.request("HEAD", path, headers=headers)
                    real = conn.getresponse()
                    real.read()
                except OSError:
                    real = None
                if real is not None and real.status == 404 and digest in lie_sizes:
                    self.note("200-lie")
                    self.send_response(200)
                    self.send_header("Content-Length", lie_sizes[digest])
                    self.send_header("Docker-Content-Digest", digest)
                    self.end_headers()
                    return
            try:
                conn = http.client.HTTPConnection(args.upstream, timeout=30)
                conn.request(self.command, path, body=body, headers=headers)
                resp = conn.getresponse()
            except OSError:
                self.simple(502, b"upstream down")
                return
            body_len = resp.getheader("Content-Length")
            if args.big_manifest and is_manifest and self.command == "GET" and resp.status == 200:
                resp.read()
                big = b'{"schemaVersion":2,"pad":"' + b"x" * (5 << 20) + b'"}'
                self.simple(200, big, {"Content-Type": resp.getheader("Content-Type")})
                return
            self.note(resp.status)
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("connection", "transfer-encoding"):
                    self.send_header(k, v)
            if body_len is None:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command == "HEAD":
                return
            total = int(body_len) if body_len else None
            sent = 0
            flipped = False
            cut_at = None
            if (args.cut_at and is_blob and resp.status == 200 and total and total > (1 << 20)):
                with lock:
                    if state["cut_body"] == 0:
                        state["cut_body"] = 1
                        cut_at = int(total * args.cut_at)
            try:
                while True:
                    chunk = resp.read(16384)
                    if not chunk:
                        break
                    if is_blob and args.corrupt_blobs and not flipped and resp.status < 300:
                        chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                        flipped = True
                    if is_blob and args.truncate_blobs and total and resp.status < 300 and sent + len(chunk) > total // 2:
                        self.wfile.write(chunk[: total // 2 - sent])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    if cut_at is not None and sent + len(chunk) > cut_at:
                        self.wfile.write(chunk[: cut_at - sent])
                        self.wfile.flush()
                        log(f"CUT {path} at={cut_at} conn={self.client_address[1]}")
                        self.close_connection = True
                        return
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    if is_blob and args.throttle:
                        time.sleep(len(chunk) / args.throttle)
            except OSError:
                self.close_connection = True
                return
            if total is not None and sent < total:
                # The upstream died mid-body: cut the connection so the client sees it.
                self.close_connection = True

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
