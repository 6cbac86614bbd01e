// openid-client, unmodified, signs a device in: discovery, the device
// authorization, the user code handed to the test (first line) which
// approves it on the device page, then the library's own polling to the
// tokens, and userinfo. Prints one JSON line more for tests/it/oidc_client.rs.
import * as client from 'openid-client';

const issuer = new URL(process.env.ISSUER);
const config = await client.discovery(issuer, process.env.CLIENT_ID, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});
const device = await client.initiateDeviceAuthorization(config, { scope: 'openid profile' });
console.log(JSON.stringify({
  userCode: device.user_code,
  verificationUri: device.verification_uri,
  interval: device.interval,
}));
const tokens = await client.pollDeviceAuthorizationGrant(config, device);
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
console.log(JSON.stringify({
  tokenType: tokens.token_type,
  idTokenSub: claims.sub,
  userinfoSub: userinfo.sub,
  hasRefreshToken: typeof tokens.refresh_token === 'string',
  deviceEndpoint: config.serverMetadata().device_authorization_endpoint,
}));
