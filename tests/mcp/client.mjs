// The official MCP TypeScript SDK's client, unmodified, connecting to the
// MCP server with zero configuration: it is refused (401), discovers the
// issuer from the server's protected resource metadata, registers itself
// (RFC 7591), sends the user through the issuer's login and consent pages
// (driven here as a form-posting browser would), gets a token for the
// server's resource alone, and calls a tool. Then a token for another
// resource must be refused by the server. Prints one JSON line.
//
// With CLIENT_METADATA_URL set, the client's id is that URL (a client ID
// metadata document) where the issuer supports it, and it never registers.
//
//   RESOURCE=http://localhost:P/mcp USERNAME=u PASSWORD=p OTHER_TOKEN=t \
//     [CLIENT_METADATA_URL=https://…/client.json] node client.mjs
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const resource = new URL(process.env.RESOURCE);
const redirectUrl = 'http://127.0.0.1:9/callback';

class Provider {
  constructor() { this.saved = {}; this.authorizationUrl = undefined; }
  get redirectUrl() { return redirectUrl; }
  get clientMetadataUrl() { return process.env.CLIENT_METADATA_URL; }
  get clientMetadata() {
    return {
      client_name: 'MCP SDK check',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this.saved.client; }
  saveClientInformation(c) { this.saved.client = c; }
  tokens() { return this.saved.tokens; }
  saveTokens(t) { this.saved.tokens = t; }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(v) { this.saved.verifier = v; }
  codeVerifier() { return this.saved.verifier; }
}

const decode = (s) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
  .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(parseInt(n, 16)))
  .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
// The hidden fields of the page's form that has `field` (a browser posts
// one form: the login page also has the passkey form).
const hidden = (html, field) => {
  const form = html.split('<form').find((f) => f.includes(`name="${field}"`)) ?? '';
  const fields = new URLSearchParams();
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.append(m[1], decode(m[2]));
  }
  return fields;
};

// The user at the issuer's pages: the login form, then the consent page.
async function signIn(url) {
  const login = await fetch(url, { redirect: 'manual' });
  if (login.status !== 200) throw new Error(`login page: ${login.status}`);
  const form = hidden(await login.text(), 'password');
  form.set('username', process.env.USERNAME);
  form.set('password', process.env.PASSWORD);
  const action = new URL('authorize', url);
  const consent = await fetch(action, { method: 'POST', body: form, redirect: 'manual' });
  const page = await consent.text();
  if (consent.status !== 200 || !page.includes('Allow')) throw new Error(`consent page: ${consent.status} ${page.slice(page.indexOf('<main'))}`);
  const cookie = consent.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const answer = hidden(page, 'consent_token');
  answer.set('consent', 'allow');
  const back = await fetch(action, { method: 'POST', body: answer, headers: { cookie }, redirect: 'manual' });
  const location = new URL(back.headers.get('location'));
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code: ${location}`);
  return { code, consentShown: true };
}

const provider = new Provider();
const client = new Client({ name: 'mcp-sdk-check', version: '1.0.0' });
let refusedFirst = false;
try {
  await client.connect(new StreamableHTTPClientTransport(resource, { authProvider: provider }));
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
  refusedFirst = true;
}
if (!provider.authorizationUrl) throw new Error('the SDK did not start an authorization');
const authorizationUrl = provider.authorizationUrl;
const { code } = await signIn(authorizationUrl);
const transport = new StreamableHTTPClientTransport(resource, { authProvider: provider });
await transport.finishAuth(code);
await client.connect(transport);
const tools = await client.listTools();
const result = await client.callTool({ name: 'whoami', arguments: {} });
const seen = JSON.parse(result.content[0].text);

// A token of this issuer's, for another resource: refused by the server.
const other = await fetch(resource, {
  method: 'POST',
  headers: {
    authorization: `Bearer ${process.env.OTHER_TOKEN}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
});
await client.close();
console.log(JSON.stringify({
  resource: resource.href,
  refusedFirst,
  clientId: provider.saved.client?.client_id,
  authorization: {
    resource: authorizationUrl.searchParams.get('resource'),
    scope: authorizationUrl.searchParams.get('scope'),
    codeChallengeMethod: authorizationUrl.searchParams.get('code_challenge_method'),
  },
  tokenScope: provider.saved.tokens?.scope,
  tools: tools.tools.map((t) => t.name),
  seen,
  otherStatus: other.status,
  otherChallenge: other.headers.get('www-authenticate'),
}));
