// openid-client, unmodified, against the issuer: discovery, the code flow
// with PKCE and DPoP (a public client, its key made here), a refresh with
// the same key, userinfo with the bound token, and a refresh with another
// key, which must fail. Prints one JSON line for tests/it/oidc_client.rs.
import * as client from 'openid-client';

const issuer = new URL(process.env.ISSUER);
const clientId = process.env.CLIENT_ID;
const redirectUri = process.env.REDIRECT_URI;

const config = await client.discovery(issuer, clientId, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});
const key = await client.randomDPoPKeyPair('ES256');
const DPoP = client.getDPoPHandle(config, key);

// The authorization request, and the login page signed in as a browser would.
const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const authUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
});
const page = await (await fetch(authUrl)).text();
const form = new URLSearchParams();
const passwordForm = page.split('id="passkey-form"')[0];
for (const m of passwordForm.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
  if (!form.has(m[1])) form.set(m[1], m[2].replaceAll('&amp;', '&').replaceAll('&quot;', '"'));
}
form.set('username', process.env.USERNAME);
form.set('password', process.env.PASSWORD);
const signedIn = await fetch(new URL('/oauth2/authorize', issuer), {
  method: 'POST',
  body: form,
  redirect: 'manual',
});
const location = signedIn.headers.get('location');
if (!location) throw new Error(`no redirect after sign-in: ${signedIn.status}`);

const tokens = await client.authorizationCodeGrant(
  config,
  new URL(location),
  { pkceCodeVerifier: verifier, expectedState: state },
  undefined,
  { DPoP },
);
const claims = tokens.claims();
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
const userinfo = await client.fetchUserInfo(config, refreshed.access_token, claims.sub, { DPoP });

// Someone else's key with the refresh token: refused.
const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
let thiefError = null;
try {
  await client.refreshTokenGrant(config, refreshed.refresh_token, undefined, { DPoP: thief });
} catch (e) {
  thiefError = e.error ?? e.code ?? String(e);
}
// The owner still can.
const again = await client.refreshTokenGrant(config, refreshed.refresh_token, undefined, { DPoP });

const payload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
console.log(JSON.stringify({
  dpopAlgs: config.serverMetadata().dpop_signing_alg_values_supported,
  tokenType: tokens.token_type,
  jkt: payload(tokens.access_token).cnf?.jkt,
  idTokenSub: claims.sub,
  refreshedType: refreshed.token_type,
  refreshedJkt: payload(refreshed.access_token).cnf?.jkt,
  userinfoSub: userinfo.sub,
  userinfoName: userinfo.preferred_username,
  thiefError,
  againType: again.token_type,
  publicJwk: await crypto.subtle.exportKey('jwk', key.publicKey),
}));
