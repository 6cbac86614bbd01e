#!/usr/bin/env python3
"""A recording proxy in front of DynamoDB Local and moto's Secrets Manager.

    aws-recorder.py PORT DYNAMODB_URL SECRETS_URL LOG_FILE

Every request the SDK sends is forwarded unchanged (DynamoDB calls to
DYNAMODB_URL, the rest to SECRETS_URL) and appended to LOG_FILE as one JSON
line: the caller's access key id (the tests give each function its own: the
name of its policy in template.yaml), the operation (`X-Amz-Target`) and the
request body. The emulators ignore IAM; the test that reads this log holds
each call against the policy the function would have in AWS.
"""

import http.client
import http.server
import json
import re
import sys
import threading
import urllib.parse

PORT, DDB, SECRETS, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
log_lock = threading.Lock()
log_file = open(LOG, "a", encoding="utf-8")
local = threading.local()


def upstream(base):
    """One keep-alive connection per thread and upstream."""
    conns = getattr(local, "conns", None)
    if conns is None:
        conns = local.conns = {}
    if base not in conns:
        u = urllib.parse.urlsplit(base)
        conns[base] = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    return conns[base]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        auth = self.headers.get("Authorization", "")
        who = CREDENTIAL.search(auth)
        if target:
            try:
                parsed = json.loads(body) if body else {}
            except ValueError:
                parsed = None
            line = json.dumps({"who": who.group(1) if who else "", "target": target, "body": parsed})
            with log_lock:
                log_file.write(line + "\n")
                log_file.flush()
        base = DDB if target.startswith("DynamoDB_") else SECRETS
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        for attempt in range(2):
            conn = upstream(base)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, OSError):
                # A kept-alive upstream connection that closed: reconnect once.
                conn.close()
                local.conns.pop(base, None)
                if attempt:
                    self.send_error(502)
                    return
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


Server(("127.0.0.1", PORT), Handler).serve_forever()
