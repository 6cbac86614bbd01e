// A small MCP server that trusts the issuer: the official SDK's server with
// its bearer middleware, tokens checked against the issuer's JWKS, its
// issuer and this server's own resource as the audience (RFC 8707). It
// publishes its protected resource metadata (RFC 9728) and answers 401
// with WWW-Authenticate: Bearer resource_metadata=... as the MCP
// authorization specification says.
//
//   ISSUER=http://localhost:P1 PORT=P2 node server.mjs
import express from 'express';
import * as jose from 'jose';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { mcpAuthMetadataRouter, getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';

const issuer = process.env.ISSUER;
const port = Number(process.env.PORT);
const resource = new URL(`http://localhost:${port}/mcp`);
const oauthMetadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
const jwks = jose.createRemoteJWKSet(new URL(oauthMetadata.jwks_uri));

const verifier = {
  async verifyAccessToken(token) {
    try {
      const { payload } = await jose.jwtVerify(token, jwks, {
        issuer,
        audience: resource.href,
        typ: 'at+jwt',
      });
      return {
        token,
        clientId: payload.client_id,
        scopes: (payload.scope ?? '').split(' ').filter(Boolean),
        expiresAt: payload.exp,
        resource,
        extra: { sub: payload.sub, username: payload.username, aud: payload.aud },
      };
    } catch (e) {
      if (process.env.MCP_DEBUG) console.error(`server: token refused: ${e.code ?? ""} ${e.message}`);
      throw new InvalidTokenError(`token refused: ${e.code ?? e.message}`);
    }
  },
};

const app = express();
app.use(express.json());
app.use(mcpAuthMetadataRouter({
  oauthMetadata,
  resourceServerUrl: resource,
  scopesSupported: ['mcp:tools'],
  resourceName: 'token-issuer MCP check',
}));
const auth = requireBearerAuth({
  verifier,
  requiredScopes: ['mcp:tools'],
  resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resource),
});
app.post('/mcp', auth, async (req, res) => {
  const server = new McpServer({ name: 'issuer-check', version: '1.0.0' });
  server.registerTool('whoami', {
    description: 'Who the token says calls',
    inputSchema: { greeting: z.string().optional() },
  }, async (_args, extra) => ({
    content: [{ type: 'text', text: JSON.stringify({
      sub: extra.authInfo?.extra?.sub,
      username: extra.authInfo?.extra?.username,
      aud: extra.authInfo?.extra?.aud,
      client_id: extra.authInfo?.clientId,
      scopes: extra.authInfo?.scopes,
    }) }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
app.listen(port, '127.0.0.1', () => console.log(`listening ${resource.href}`));
