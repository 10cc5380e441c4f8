#!/usr/bin/env python3
"""A Docker registry token server for tests (standard library + the openssl command).

Issues RS256 JWTs that docker-registry's `auth: token:` accepts: the signing certificate
travels in the x5c header and is also the registry's rootcertbundle. A user given with
--user (user:pass) gets the actions they ask for; anonymous callers get pull only; wrong
credentials get 401. Every request is logged (user, scopes) to --log.
"""
import argparse
import base64
import http.server
import json
import math
import os
import subprocess
import threading
import time
import urllib.parse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--user", default="")
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--expires", type=int, default=300,
                    help="token lifetime in seconds (the JWT's exp and expires_in)")
    ap.add_argument("--claimed-expires", type=int, default=None,
                    help="expires_in to announce instead of --expires (a server that lies)")
    ap.add_argument("--exp-skew", type=int, default=0,
                    help="subtract from the exp claim: docker-registry 2.8 accepts tokens up to "
                         "60 s past exp (clock-skew leeway), so --exp-skew 60 makes a token "
                         "really stop working after --expires")
    ap.add_argument("--field", default="token", help="token or access_token")
    ap.add_argument("--pad", type=int, default=0, help="add a field of this many bytes")
    args = ap.parse_args()

    der = subprocess.run(["openssl", "x509", "-in", args.cert, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    x5c = base64.b64encode(der).decode()
    lock = threading.Lock()

    def sign(claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.key],
                             input=signing_input.encode(), check=True, capture_output=True).stdout
        return signing_input + "." + b64url(sig)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def reply(self, code, body, extra=None):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(url.query)
            user = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                try:
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                except Exception:
                    u, p = "", ""
                if args.user and f"{u}:{p}" == args.user:
                    user = u
                else:
                    with lock, open(args.log, "a") as f:
                        f.write(f"denied user={u}\n")
                    self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
                    return
            if q.get("service", [""])[0] != args.service:
                self.reply(400, {"errors": [{"code": "BAD_SERVICE", "message": "wrong service"}]})
                return
            access = []
            for scope in q.get("scope", []):
                parts = scope.split(":")
                if len(parts) < 3:
                    continue
                typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
                if user is None:
                    actions = [a for a in actions if a == "pull"]
                access.append({"type": typ, "name": name, "actions": actions})
            now = int(time.time())
            # Rounded up: the token lives at least --expires seconds.
            exp = math.ceil(time.time() + args.expires) - args.exp_skew
            claims = {"iss": args.issuer, "sub": user or "", "aud": args.service,
                      "exp": exp, "nbf": now - 10 - args.exp_skew, "iat": now,
                      "jti": b64url(os.urandom(12)), "access": access}
            with lock, open(args.log, "a") as f:
                f.write(f"token user={user or 'anonymous'} scopes={q.get('scope', [])}\n")
            expires_in = args.expires if args.claimed_expires is None else args.claimed_expires
            body = {args.field: sign(claims), "expires_in": expires_in,
                    "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
            if args.pad:
                body["pad"] = "x" * args.pad
            self.reply(200, body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
