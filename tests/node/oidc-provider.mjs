// A real OpenID Provider for lvo's single sign-on tests: oidc-provider (OpenID Certified), on loopback.
//
//   node tests/node/oidc-provider.mjs PORT CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI JWKS_FILE
//
// JWKS_FILE holds the private signing key (made by the test, which also signs its forged tokens with it).
// Its own login form (oidc-provider's development interactions: any password) knows two test users:
// "leserin" (group "mitarbeitende": a reader) and "redakteur" (group "lvo-redaktion": an editor); any other
// login has no groups. The client "lvo" may use the authorization code flow (with PKCE) and client credentials;
// client-credentials access tokens are JWTs for the audience "lvo". Prints "ready" when it listens.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, secret, redirectUri, postLogoutUri, jwksFile] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const GROUPS = { leserin: ['mitarbeitende'], redakteur: ['lvo-redaktion', 'mitarbeitende'] };

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'lvo',
    client_secret: secret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [postLogoutUri],
    grant_types: ['authorization_code', 'client_credentials'],
    response_types: ['code'],
  }],
  jwks: JSON.parse(readFileSync(jwksFile, 'utf8')),
  claims: { openid: ['sub'], profile: ['name', 'groups'] },
  conformIdTokenClaims: false, // the scopes' claims go into the ID token, as Keycloak does by default
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, name: id.charAt(0).toUpperCase() + id.slice(1), groups: GROUPS[id] ?? [] }),
  }),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client, oneOf) => oneOf
        ?? (ctx.oidc.params?.grant_type === 'client_credentials' ? 'urn:lvo:api' : undefined),
      getResourceServerInfo: () => ({
        scope: 'api', audience: 'lvo', accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  ttl: { IdToken: 600, Session: 3600, Interaction: 600, Grant: 3600, AuthorizationCode: 60 },
});
provider.proxy = false;
provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
