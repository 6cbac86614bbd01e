#!/usr/bin/env python3
"""The multi-region drill (docs/multi-region.md): two "Regions", each a
DynamoDB Local and an issuer process (the real `token-issuer` binary behind a
minimal Lambda Runtime API), replay what users see when one item is written
in both at once.

Two layouts are played, each scenario in both:

- MREC, eventually consistent global tables: each Region writes its own
  DynamoDB Local; the replicator in front of each copies every write to the
  other after a random delay (so writes arrive late and out of order), and a
  write to an item that the other Region changed later is dropped (last
  writer wins, by the time each write was made), as DynamoDB's MREC does.
- Chosen (MRSC): both Regions' issuers write one DynamoDB Local, which is what
  strong consistency guarantees for conditions and reads: every write is
  decided against the latest version. A Region cut off from the others
  refuses writes and strongly consistent reads; AWS does not document the
  exact error, so the drill answers them with a server error. MRSC's added
  latency and its ReplicatedWriteConflictException are not reproduced.

Run it with scripts/drill.sh, which starts the DynamoDB Locals and builds the
binaries. Standard library only.
"""

import base64
import collections
import hashlib
import html
import json
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DDB = {"A": os.environ["DRILL_DDB_A"], "B": os.environ["DRILL_DDB_B"]}
ISSUER_BIN = os.environ["DRILL_ISSUER_BIN"]
ADMIN_BIN = os.environ["DRILL_ADMIN_BIN"]
USERS, TOKENS = "drill-users", "drill-tokens"
KEYS = {USERS: "username", TOKENS: "pk"}
ISSUER = "https://id.example.com"
REDIRECT = "https://app.example.com/callback"
PASSWORD = "drill horse battery staple"
# Replication delay bounds (seconds): "typically within a second or less".
LAG = (0.2, 0.9)
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
AUTH = "AWS4-HMAC-SHA256 Credential=drill/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"


def ddb(endpoint, op, body):
    """One DynamoDB call, unsigned (DynamoDB Local does not check)."""
    req = urllib.request.Request(
        endpoint,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810." + op,
            "Authorization": AUTH,
        },
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def written_keys(op, body):
    """(table, key) of every item a write names."""
    out = []
    if op in ("PutItem",):
        t = body["TableName"]
        out.append((t, {KEYS[t]: body["Item"][KEYS[t]]}))
    elif op in ("UpdateItem", "DeleteItem"):
        out.append((body["TableName"], body["Key"]))
    elif op == "BatchWriteItem":
        for t, reqs in body["RequestItems"].items():
            for r in reqs:
                if "PutRequest" in r:
                    out.append((t, {KEYS[t]: r["PutRequest"]["Item"][KEYS[t]]}))
                else:
                    out.append((t, r["DeleteRequest"]["Key"]))
    elif op == "TransactWriteItems":
        for item in body["TransactItems"]:
            kind, spec = next(iter(item.items()))
            t = spec["TableName"]
            if kind == "Put":
                out.append((t, {KEYS[t]: spec["Item"][KEYS[t]]}))
            elif kind in ("Update", "Delete"):
                out.append((t, spec["Key"]))
    return out


def key_id(table, key):
    return table + "|" + json.dumps(key, sort_keys=True)


class Replicator:
    """The two Regions' storage: a proxy per Region in front of its DynamoDB
    Local, and (MREC) the replication between them."""

    def __init__(self, layout):
        self.layout = layout
        self.lock = threading.Lock()
        # Per Region: item -> the time of the write it holds (last writer wins).
        self.version = {"A": {}, "B": {}}
        self.queue = []  # (due, ts, origin, target, table, key, image)
        self.link_up = True
        self.cut_off = set()  # Regions refusing writes (MRSC cut off)
        self.stats = {"replicated": 0, "dropped": 0}
        # The issuers' calls by kind, for what a flow costs across Regions.
        self.calls = collections.Counter()
        self.lock_calls = threading.Lock()
        self.proxies = {r: self._proxy(r) for r in ("A", "B")}
        threading.Thread(target=self._deliver, daemon=True).start()

    def storage(self, region):
        """Where a Region's writes go: its own instance (MREC), or one (MRSC)."""
        return DDB[region] if self.layout == "MREC" else DDB["A"]

    def endpoint(self, region):
        return "http://127.0.0.1:%d" % self.proxies[region].server_address[1]

    def _proxy(self, region):
        rep = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                op = self.headers.get("X-Amz-Target", "").split(".")[-1]
                strong = b'"ConsistentRead":true' in body.replace(b" ", b"")
                with rep.lock_calls:
                    rep.calls[op if op in WRITES else ("strong read" if strong else "read")] += 1
                if region in rep.cut_off and (op in WRITES or strong):
                    self._answer(500, {"Content-Type": "application/x-amz-json-1.0"},
                                 json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                                             "message": "Region cut off (drill)"}).encode())
                    return
                fwd = urllib.request.Request(rep.storage(region), data=body, method="POST")
                for k in ("Content-Type", "X-Amz-Target", "Authorization", "X-Amz-Date"):
                    if self.headers.get(k):
                        fwd.add_header(k, self.headers[k])
                # A write and the read of what it left are one step, so the
                # image copied is the one this write made.
                with rep.lock if op in WRITES else _nolock:
                    try:
                        with urllib.request.urlopen(fwd, timeout=10) as r:
                            status, headers, data = r.status, dict(r.headers), r.read()
                    except urllib.error.HTTPError as e:
                        status, headers, data = e.code, dict(e.headers), e.read()
                    if status == 200 and op in WRITES and rep.layout == "MREC":
                        rep._written(region, json.loads(body))
                self._answer(status, headers, data)

            def _answer(self, status, headers, data):
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() in ("content-type", "x-amz-crc32", "x-amzn-requestid"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def _written(self, region, body):
        """Under the lock: note the local write and queue its copy."""
        op = None
        ts = time.time()
        other = "B" if region == "A" else "A"
        for table, key in written_keys(self._op_of(body), body):
            got = ddb(DDB[region], "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True})
            image = got.get("Item")
            self.version[region][key_id(table, key)] = ts
            due = ts + random.uniform(*LAG)
            self.queue.append((due, ts, region, other, table, key, image))
        return op

    @staticmethod
    def _op_of(body):
        if "TransactItems" in body:
            return "TransactWriteItems"
        if "RequestItems" in body:
            return "BatchWriteItem"
        if "Item" in body:
            return "PutItem"
        if "UpdateExpression" in body:
            return "UpdateItem"
        return "DeleteItem"

    def _deliver(self):
        while True:
            time.sleep(0.02)
            with self.lock:
                if not self.link_up:
                    continue
                now = time.time()
                due = [q for q in self.queue if q[0] <= now]
                self.queue = [q for q in self.queue if q[0] > now]
                for _, ts, origin, target, table, key, image in due:
                    kid = key_id(table, key)
                    if self.version[target].get(kid, 0) > ts:
                        self.stats["dropped"] += 1  # the target's later write wins
                        continue
                    if image is None:
                        ddb(DDB[target], "DeleteItem", {"TableName": table, "Key": key})
                    else:
                        ddb(DDB[target], "PutItem", {"TableName": table, "Item": image})
                    self.version[target][kid] = ts
                    self.stats["replicated"] += 1

    def settle(self):
        """Wait until every copy in flight has landed."""
        while True:
            with self.lock:
                if not self.queue:
                    return
            time.sleep(0.05)

    def close(self):
        for p in self.proxies.values():
            p.shutdown()


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


_nolock = _NoLock()


class Issuer:
    """One Region's function: the real binary, fed API Gateway events through
    a minimal Lambda Runtime API, one at a time, as Lambda does."""

    def __init__(self, region, ddb_endpoint, extra_env):
        self.region = region
        self.events = []
        self.cv = threading.Condition()
        self.results = {}
        self.next_id = 0
        runtime = self._runtime()
        env = dict(os.environ)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % runtime.server_address[1],
            "AWS_LAMBDA_FUNCTION_NAME": "drill-" + region,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
            "AWS_ACCESS_KEY_ID": "drill",
            "AWS_SECRET_ACCESS_KEY": "drill",
            "AWS_REGION": "us-east-1",
            "USERS_TABLE": USERS,
            "TOKENS_TABLE": TOKENS,
            "AUDIENCE": "drill",
            "ISSUER": ISSUER,
            "RUST_LOG": "error",
        })
        env.update(extra_env)
        self.proc = subprocess.Popen([ISSUER_BIN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.runtime = runtime

    def _runtime(self):
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with me.cv:
                    while not me.events:
                        me.cv.wait()
                    rid, event = me.events.pop(0)
                data = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:drill-" + me.region)
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = self.path.split("/")
                if "invocation" in parts:
                    rid = parts[parts.index("invocation") + 1]
                    ok = parts[-1] == "response"
                    with me.cv:
                        me.results[rid] = json.loads(body) if ok else {"statusCode": 502, "body": body.decode()}
                        me.cv.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def call(self, method, path, body="", headers=None, query="", source="198.51.100.7"):
        """An HTTP API (payload 2.0) event; the answer as (status, headers, body)."""
        h = {"host": "id.example.com", "x-forwarded-proto": "https", "user-agent": "drill"}
        h.update(headers or {})
        event = {
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": h,
            "requestContext": {
                "accountId": "123456789012", "apiId": "drill", "domainName": "id.example.com",
                "domainPrefix": "id", "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                               "sourceIp": source, "userAgent": "drill"},
                "requestId": secrets.token_hex(8), "routeKey": "$default", "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": int(time.time() * 1000),
            },
            "body": body, "isBase64Encoded": False,
        }
        with self.cv:
            self.next_id += 1
            rid = "%s-%d" % (self.region, self.next_id)
            self.events.append((rid, event))
            self.cv.notify_all()
            deadline = time.time() + 30
            while rid not in self.results:
                if not self.cv.wait(timeout=max(0.0, deadline - time.time())):
                    raise RuntimeError("Region %s: no answer" % self.region)
            r = self.results.pop(rid)
        hdrs = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
        text = r.get("body") or ""
        if r.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        return r.get("statusCode"), hdrs, text

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.runtime.shutdown()


def admin(endpoint, *args, stdin=None):
    env = dict(os.environ, AWS_ENDPOINT_URL_DYNAMODB=endpoint, USERS_TABLE=USERS, TOKENS_TABLE=TOKENS,
               AWS_ACCESS_KEY_ID="drill", AWS_SECRET_ACCESS_KEY="drill", AWS_REGION="us-east-1")
    out = subprocess.run([ADMIN_BIN, *args], env=env, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("token-admin %s: %s" % (" ".join(args), out.stderr))
    return out.stdout


# ---- what a client does ----

def v2_login(issuer, user, password=PASSWORD):
    status, _, text = issuer.call("POST", "/api/v2/auth/token",
                                  json.dumps({"username": user, "password": password}),
                                  {"content-type": "application/json"})
    return status, (json.loads(text)["content"][0]["refreshToken"] if status == 200 else None)


def v2_refresh(issuer, token):
    status, _, text = issuer.call("POST", "/api/v2/auth/token/refresh", json.dumps({"refreshToken": token}),
                                  {"content-type": "application/json"})
    return status, (json.loads(text)["content"][0]["refreshToken"] if status == 200 else None)


def code_for(issuer, client):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = urllib.parse.urlencode({"response_type": "code", "client_id": client, "redirect_uri": REDIRECT,
                                "scope": "openid", "state": "s", "code_challenge": challenge,
                                "code_challenge_method": "S256"})
    status, _, page = issuer.call("GET", "/oauth2/authorize", query=q)
    assert status == 200, (status, page[:300])
    # The password form's fields: the first of each name (the passkey form follows).
    fields = {}
    password_form = page.split('id="passkey-form"')[0]
    for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', password_form):
        fields.setdefault(m.group(1), html.unescape(m.group(2)))
    fields.update({"username": "drill-code", "password": PASSWORD})
    status, headers, text = issuer.call("POST", "/oauth2/authorize", urllib.parse.urlencode(fields),
                                        {"content-type": "application/x-www-form-urlencoded"})
    location = headers.get("location", "")
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query).get("code", [None])[0]
    assert code, (status, re.findall(r"<p[^>]*>([^<]*)</p>", text), sorted(fields))
    return code, verifier


def redeem(issuer, client, secret, code, verifier):
    basic = base64.b64encode(("%s:%s" % (client, secret)).encode()).decode()
    status, _, text = issuer.call("POST", "/oauth2/token", urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}),
        {"content-type": "application/x-www-form-urlencoded", "authorization": "Basic " + basic})
    return status, json.loads(text).get("error")


def at_once(*calls):
    """Runs the calls at the same moment, one thread each; their results."""
    results = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i, f):
        start.wait()
        results[i] = f()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def seen(status):
    return {200: "200 new tokens", 401: "401 refused", 400: "400 refused", 429: "429 locked",
            500: "500 internal error (the v2 dialect's answer to a storage fault), nothing issued",
            503: "503 storage unavailable"}.get(status, str(status))


# ---- the scenarios ----

def refresh_in_both(rep, a, b, out):
    _, r1 = v2_login(a, "drill-refresh")
    rep.settle()
    (sa, ra), (sb, rb) = at_once(lambda: v2_refresh(a, r1), lambda: v2_refresh(b, r1))
    out("the same refresh token presented in A and B at once: A %s, B %s" % (seen(sa), seen(sb)))
    rep.settle()
    later = []
    if ra:
        later.append("client in A refreshes again: %s" % seen(v2_refresh(a, ra)[0]))
    if rb:
        later.append("client in B refreshes again: %s" % seen(v2_refresh(b, rb)[0]))
    out("after replication: " + "; ".join(later))
    return sa, sb


def code_in_both(rep, a, b, secret, out):
    code, verifier = code_for(a, "drill-web")
    rep.settle()
    (sa, ea), (sb, eb) = at_once(lambda: redeem(a, "drill-web", secret, code, verifier),
                                 lambda: redeem(b, "drill-web", secret, code, verifier))
    out("one authorization code redeemed in A and B at once: A %s, B %s"
        % ("200 tokens" if sa == 200 else "%s %s" % (sa, ea), "200 tokens" if sb == 200 else "%s %s" % (sb, eb)))
    rep.settle()
    return [sa, sb].count(200)


def lockout_split(rep, a, b, out, attempts=15):
    checks = {"A": 0, "B": 0}
    locked = {"A": 0, "B": 0}

    def attack(region, issuer):
        for _ in range(attempts):
            s, _ = v2_login(issuer, "drill-lock", "wrong " + secrets.token_hex(4))
            if s == 401:
                checks[region] += 1
            elif s == 429:
                locked[region] += 1

    at_once(lambda: attack("A", a), lambda: attack("B", b))
    rep.settle()
    total = checks["A"] + checks["B"]
    out("%d wrong passwords from one address, half in each Region (limit 10 per username and address): "
        "%d checked (A %d, B %d), %d refused as locked" % (2 * attempts, total, checks["A"], checks["B"],
                                                          locked["A"] + locked["B"]))
    return total


def cut_off_mid_rotation(rep, a, b, out):
    _, r1 = v2_login(a, "drill-cut")
    rep.settle()
    if rep.layout == "MREC":
        rep.link_up = False  # A's copies stop leaving it
    else:
        rep.cut_off.add("A")  # A reaches neither other Region
    s2, r2 = v2_refresh(a, r1)
    out("A cut off; the client's rotation in A: %s" % seen(s2))
    # The client fails over to B (DNS), with the newest token it holds.
    s3, r3 = v2_refresh(b, r2 or r1)
    out("the client fails over to B with its %s token: %s" % ("new" if r2 else "old", seen(s3)))
    s4 = None
    if s3 != 200 and r2:
        s4, r3 = v2_refresh(b, r1)
        out("it tries the token before it in B: %s" % seen(s4))
    rep.link_up = True
    rep.cut_off.clear()
    rep.settle()
    time.sleep(0.3)
    if r3:
        s5, r5 = v2_refresh(b, r3)
        out("A back; the client refreshes in B again: %s" % seen(s5))
        r3 = r5
    if r2:
        out("the token A issued as it was cut off, presented in A (a lost answer, or a thief): %s"
            % seen(v2_refresh(a, r2)[0]))
        if r3:
            out("... and the client's next refresh: %s" % seen(v2_refresh(b, r3)[0]))
    return s2, s3, s4


def main():
    key_file = os.environ["SIGNING_KEY_FILE"]
    factor_file = os.environ["FACTOR_KEY_FILE"]
    extra = {"SIGNING_KEY_FILE": key_file, "FACTOR_KEY_FILE": factor_file}
    summary = {}
    for layout in ("MREC", "MRSC"):
        print("\n== %s ==" % ("MREC: eventually consistent global tables, last writer wins" if layout == "MREC"
                              else "the chosen design (MRSC): one strongly consistent store"))
        rep = Replicator(layout)
        # Fresh tables in both instances for each layout.
        for region in ("A", "B"):
            for table in (USERS, TOKENS):
                try:
                    ddb(DDB[region], "DeleteTable", {"TableName": table})
                except urllib.error.HTTPError:
                    pass
            admin(DDB[region], "tables", "create")
        # Users and a client, written in A; MREC copies them to B.
        for user in ("drill-refresh", "drill-code", "drill-lock", "drill-cut"):
            admin(rep.endpoint("A"), "user", "create", "--username", user, "--password-stdin", stdin=PASSWORD)
        created = admin(rep.endpoint("A"), "client", "create", "--client-id", "drill-web", "--grant-types",
                        "authorization_code,refresh_token", "--redirect-uri", REDIRECT, "--scopes", "openid")
        secret = re.search(r"^client_secret\t(\S+)", created, re.M).group(1)
        rep.settle()
        a = Issuer("A", rep.endpoint("A"), extra)
        b = Issuer("B", rep.endpoint("B"), extra)
        try:
            def out(line):
                print("  " + line)

            if layout == "MRSC":
                print("- what a flow makes that waits on another Region under MRSC")
                costs = {}
                for flow, run in [("log in", lambda: v2_login(a, "drill-refresh")),
                                  ("refresh", lambda: v2_refresh(a, v2_login(a, "drill-refresh")[1]))]:
                    run()  # warm: the first call of a process sets up more
                    rep.calls.clear()
                    if flow == "refresh":
                        token = v2_login(a, "drill-refresh")[1]
                        rep.calls.clear()
                        v2_refresh(a, token)
                    else:
                        run()
                    writes = sum(n for k, n in rep.calls.items() if k in WRITES)
                    costs[flow] = {"writes": writes, "strong_reads": rep.calls["strong read"],
                                   "other_reads": rep.calls["read"]}
                    out("a v2 %s: %d writes and %d strongly consistent reads (each adds the round trip "
                        "to the nearest other Region), %d other reads" % (
                            flow, writes, rep.calls["strong read"], rep.calls["read"]))
                summary["MRSC costs"] = costs
            print("- a refresh rotated in both Regions at once")
            r = refresh_in_both(rep, a, b, out)
            print("- a code redeemed in both")
            c = code_in_both(rep, a, b, secret, out)
            print("- lockout counts split across Regions")
            lk = lockout_split(rep, a, b, out)
            print("- a Region cut off mid-rotation")
            cut = cut_off_mid_rotation(rep, a, b, out)
            print("  (replicator: %d copies applied, %d dropped by last writer wins)"
                  % (rep.stats["replicated"], rep.stats["dropped"]))
            summary[layout] = {"refresh_both_succeeded": r == (200, 200), "code_grants": c,
                               "lockout_checks": lk, "cut_off": cut}
        finally:
            a.close()
            b.close()
            rep.close()
    print("\n== summary ==")
    print(json.dumps(summary, indent=1))
    # What the chosen design promises, whatever the timing: at most one
    # rotation and one grant, the limit's checks, and a cut-off Region that
    # issues nothing while the other serves the client's token.
    chosen = summary["MRSC"]
    broken = [what for what, holds in [
        ("one refresh token rotated twice", not chosen["refresh_both_succeeded"]),
        ("one code redeemed twice", chosen["code_grants"] <= 1),
        ("more checks than the lockout limit", chosen["lockout_checks"] <= 10),
        ("a cut-off Region issued tokens", chosen["cut_off"][0] != 200),
        ("the other Region refused the client's token", chosen["cut_off"][1] == 200),
    ] if not holds]
    if broken:
        sys.exit("drill: the chosen design did not hold: " + "; ".join(broken))
    print("drill: the chosen design held")


if __name__ == "__main__":
    main()
