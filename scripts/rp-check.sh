#!/usr/bin/env bash
# Signs a user in to two off-the-shelf OpenID Connect relying parties through
# the issuer's login page, in a real browser, and logs out of both at once.
# Apache's mod_auth_openidc, given only the issuer's discovery URL, a client
# id and secret, its redirect URI (and PKCE S256, which the issuer requires of
# every client), protects a page on each of two sites (A on localhost:RP_PORT,
# B on 127.0.0.1:RP_PORT+1, so their cookies are apart). Headless Chromium
# opens A, is sent to the login page, signs in, and must land on A's
# protected page with the ID token and userinfo the module read. Then it
# opens B and must land on B's page without the login page (single sign-on).
# Then it logs out at A (the module's RP-initiated logout): the issuer ends
# the session and posts logout tokens to both modules' back channels, so B's
# own session ends too, and opening B again shows the login page. Signed in
# to both again, `token-admin user revoke-tokens` (with the function's ISSUER
# and signing key) must end the session in both modules the same way.
#
#   scripts/rp-check.sh        (as root: installs Debian's apache2,
#                               libapache2-mod-auth-openidc, chromium and
#                               chromium-driver if missing)
#
# It runs the issuer with scripts/dev.sh on PORT (9000) and an Apache for
# each relying party on RP_PORT (8081) and RP_PORT+1, and stops them when done. Not part of CI: it builds the function
# again under `cargo lambda watch`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
source "$here/env.sh"

port="${PORT:-9000}"
rp_port="${RP_PORT:-8081}"
issuer="http://127.0.0.1:$port"
work="$(mktemp -d)"
password="rp-check-$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')"

"$here/tools.sh" browser
if ! [ -f /usr/lib/apache2/modules/mod_auth_openidc.so ]; then
  [ "$(id -u)" -eq 0 ] || { echo "rp-check: needs apache2 and libapache2-mod-auth-openidc (run as root to install them)" >&2; exit 1; }
  echo "rp-check: installing apache2 and libapache2-mod-auth-openidc (Debian)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2 libapache2-mod-auth-openidc >/dev/null
fi

dev_pid=""
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    # What each side said, before it is gone.
    for log in "$work/a/error.log" "$work/b/error.log" "$work/dev.log"; do
      [ -f "$log" ] && { echo "rp-check: the end of $log:" >&2; tail -n 30 "$log" >&2; }
    done
  fi
  for rp in a b; do
    [ -f "$work/$rp/httpd.pid" ] && kill "$(cat "$work/$rp/httpd.pid")" 2>/dev/null || true
  done
  # dev.sh's trap stops DynamoDB Local; its watcher is in the same group.
  [ -n "$dev_pid" ] && kill -- "-$dev_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "rp-check: starting the issuer (scripts/dev.sh) on $issuer" >&2
set -m
DEMO_PASSWORD="$password" PORT="$port" bash "$here/dev.sh" >"$work/dev.log" 2>&1 &
dev_pid=$!
set +m
# The watcher builds the function on its first request: allow for a build.
for _ in $(seq 1 600); do
  curl -s -m 60 -o /dev/null "$issuer/.well-known/openid-configuration" && break
  kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.log" >&2; exit 1; }
  sleep 1
done
curl -sf -m 60 -o /dev/null "$issuer/.well-known/openid-configuration" || { echo "rp-check: the issuer did not start" >&2; tail -n 40 "$work/dev.log" >&2; exit 1; }

rp_b_port=$((rp_port + 1))
site_a="http://localhost:$rp_port"
site_b="http://127.0.0.1:$rp_b_port"
tag="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
client="rp-check-a-$tag"
client_b="rp-check-b-$tag"
redirect="$site_a/protected/redirect_uri"
redirect_b="$site_b/protected/redirect_uri"
# token-admin with the function's own settings.
set -a
# shellcheck disable=SC1091
source .local/dev.env
set +a
# register NAME CLIENT_ID SITE REDIRECT: the client's secret. Each hears of log
# outs at its module's back channel, and may be sent back to its own page.
register() {
  cargo run --quiet --bin token-admin -- client create --client-id "$2" \
    --name "$1" --grant-types authorization_code,refresh_token \
    --redirect-uri "$4" --scopes "openid profile email" \
    --post-logout-redirect-uri "$3/loggedout.html" \
    --backchannel-logout-uri "$4?logout=backchannel" 2>/dev/null |
    awk -F'\t' '/^client_secret/ {print $2}'
}
secret="$(register "mod_auth_openidc" "$client" "$site_a" "$redirect")"
secret_b="$(register "mod_auth_openidc B" "$client_b" "$site_b" "$redirect_b")"
[ -n "$secret" ] && [ -n "$secret_b" ] || { echo "rp-check: could not register the clients" >&2; exit 1; }

mkdir -p "$work/www/protected"
echo '<!doctype html><title>Protected</title><h1>Protected page</h1>' >"$work/www/protected/index.html"
echo '<!doctype html><title>Logged out</title><h1>Logged out</h1>' >"$work/www/loggedout.html"
mods=/usr/lib/apache2/modules
# relying_party NAME PORT SERVER_NAME CLIENT_ID SECRET REDIRECT: one Apache of
# its own per relying party, as two apps on two servers are: a shared server
# would share one session cache, where both modules' sessions carry the
# same sid and a logout token finds only one of them.
relying_party() {
  mkdir -p "$work/$1"
  cat >"$work/$1/httpd.conf" <<CONF
ServerRoot "$work/$1"
ServerName $3
Listen 127.0.0.1:$2
PidFile "$work/$1/httpd.pid"
ErrorLog "$work/$1/error.log"
LogLevel warn auth_openidc:info
User www-data
Group www-data
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule auth_openidc_module $mods/mod_auth_openidc.so
LoadModule dir_module $mods/mod_dir.so
LoadModule mime_module $mods/mod_mime.so
DirectoryIndex index.html
TypesConfig /etc/mime.types
DocumentRoot "$work/www"
<Directory "$work/www">
  Require all granted
</Directory>
OIDCCryptoPassphrase $(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
# The relying party's whole configuration: discovery, client, redirect URI.
OIDCProviderMetadataURL $issuer/.well-known/openid-configuration
OIDCClientID $4
OIDCClientSecret $5
OIDCRedirectURI $6
OIDCPKCEMethod S256
OIDCScope "openid profile email"
OIDCInfoHook userinfo id_token
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
CONF
  chmod -R a+rX "$work"
  apache2 -f "$work/$1/httpd.conf" -k start
}
relying_party a "$rp_port" localhost "$client" "$secret" "$redirect"
relying_party b "$rp_b_port" 127.0.0.1 "$client_b" "$secret_b" "$redirect_b"
sleep 1

echo "rp-check: Chromium opens $site_a/protected/" >&2
python3 - "$site_a" "$password" "$issuer" "$client" "$site_b" <<'PY'
import json, subprocess, sys, tempfile, time, urllib.parse, urllib.request, socket

site_a, password, issuer, client, site_b = sys.argv[1:6]
s = socket.socket(); s.bind(("127.0.0.1", 0)); wd_port = s.getsockname()[1]; s.close()
driver = subprocess.Popen(["/usr/bin/chromedriver", f"--port={wd_port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{wd_port}"
E = "element-6066-11e4-a52e-4f735466cecf"

def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["value"]

try:
    for _ in range(100):
        try:
            call("GET", "/status"); break
        except OSError:
            time.sleep(0.1)
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--user-data-dir=" + tempfile.mkdtemp()]
    sid = call("POST", "/session", {"capabilities": {"alwaysMatch": {
        "browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}})["sessionId"]
    S = f"/session/{sid}"
    find = lambda css: call("POST", S + "/element", {"using": "css selector", "value": css})[E]
    text = lambda css: call("GET", S + "/element/" + find(css) + "/text")
    def wait_for(prefix):
        for _ in range(100):
            if call("GET", S + "/url").startswith(prefix):
                return
            time.sleep(0.1)
        raise AssertionError(f"not at {prefix}: {call('GET', S + '/url')}")

    call("POST", S + "/url", {"url": f"{site_a}/protected/"})
    at = call("GET", S + "/url")
    assert at.startswith(issuer + "/oauth2/authorize?"), at
    assert call("GET", S + "/title") == "Sign in to mod_auth_openidc"
    call("POST", S + "/element/" + find("#username") + "/value", {"text": "admin"})
    call("POST", S + "/element/" + find("#password") + "/value", {"text": password})
    call("POST", S + "/element/" + find("button[type=submit]") + "/click", {})
    wait_for(f"{site_a}/protected/")
    assert text("h1") == "Protected page", call("GET", S + "/url")
    call("POST", S + "/url", {"url": f"{site_a}/protected/redirect_uri?info=json"})
    info = json.loads(text("body"))
    idt = info["id_token"]
    assert idt["iss"] == issuer and idt["aud"] == client, idt
    assert idt["preferred_username"] == "admin" and "nonce" in idt and "auth_time" in idt, idt
    assert idt["amr"] == ["pwd"] and "sid" in idt, idt
    assert info["userinfo"]["sub"] == idt["sub"], info
    print("rp-check: signed in to mod_auth_openidc through the login page")
    print("rp-check: id_token", json.dumps(idt))
    print("rp-check: userinfo", json.dumps(info["userinfo"]))

    # Single sign-on: B's page, and never the login page on the way.
    call("POST", S + "/url", {"url": f"{site_b}/protected/"})
    at = call("GET", S + "/url")
    assert at.startswith(f"{site_b}/protected/"), f"B asked for sign-in: {at}"
    assert text("h1") == "Protected page", at
    call("POST", S + "/url", {"url": f"{site_b}/protected/redirect_uri?info=json"})
    idt_b = json.loads(text("body"))["id_token"]
    assert idt_b["sid"] == idt["sid"] and idt_b["auth_time"] == idt["auth_time"], idt_b
    print("rp-check: signed in to relying party B without the login page (one session:", idt["sid"] + ")")

    # Log out at A: the module sends the browser to the end-session endpoint
    # with its ID token; the issuer tells both modules' back channels.
    done = f"{site_a}/loggedout.html"
    call("POST", S + "/url", {"url": f"{site_a}/protected/redirect_uri?logout=" + urllib.parse.quote(done, safe="")})
    wait_for(done)
    assert text("h1") == "Logged out", call("GET", S + "/url")
    call("POST", S + "/url", {"url": f"{site_b}/protected/"})
    at = call("GET", S + "/url")
    assert at.startswith(issuer + "/oauth2/authorize?"), f"B still signed in: {at}"
    assert call("GET", S + "/title") == "Sign in to mod_auth_openidc B"
    call("POST", S + "/url", {"url": f"{site_a}/protected/"})
    at = call("GET", S + "/url")
    assert at.startswith(issuer + "/oauth2/authorize?"), f"A still signed in: {at}"
    print("rp-check: logged out at A; B's session ended through the back channel, and both ask to sign in")

    # Signed in to both again; the operator logs the user out everywhere:
    # token-admin tells both modules' back channels.
    call("POST", S + "/url", {"url": f"{site_a}/protected/"})
    call("POST", S + "/element/" + find("#username") + "/value", {"text": "admin"})
    call("POST", S + "/element/" + find("#password") + "/value", {"text": password})
    call("POST", S + "/element/" + find("button[type=submit]") + "/click", {})
    wait_for(f"{site_a}/protected/")
    call("POST", S + "/url", {"url": f"{site_b}/protected/"})
    at = call("GET", S + "/url")
    assert at.startswith(f"{site_b}/protected/"), f"B asked for sign-in: {at}"
    out = subprocess.run(["cargo", "run", "--quiet", "--bin", "token-admin", "--", "user",
                          "revoke-tokens", "--username", "admin"],
                         check=True, capture_output=True, text=True).stdout
    assert "ended 1 browser session(s): 2 app(s) told, 0 could not be" in out, out
    for site, title in [(site_a, "mod_auth_openidc"), (site_b, "mod_auth_openidc B")]:
        call("POST", S + "/url", {"url": f"{site}/protected/"})
        at = call("GET", S + "/url")
        assert at.startswith(issuer + "/oauth2/authorize?"), f"{site} still signed in: {at}"
        assert call("GET", S + "/title") == "Sign in to " + title
    print("rp-check: token-admin user revoke-tokens ended the session in both relying parties through the back channel")
    call("DELETE", S)
finally:
    driver.kill()
PY
