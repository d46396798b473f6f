// A real OpenID Connect provider for the end-to-end tests (panva's `oidc-provider`), on plain HTTP
// on loopback. Started from end2end/ as `node oidc/provider.mjs` with:
//
//   OIDC_PORT           port to listen on (127.0.0.1); the issuer is exactly http://127.0.0.1:PORT
//   OIDC_CLIENT_ID      the one confidential client
//   OIDC_CLIENT_SECRET  its secret (client_secret_basic at the token endpoint)
//   OIDC_REDIRECT_URI   its one redirect URI, e.g. http://127.0.0.1:3300/auth/oidc/callback
//   OIDC_ACCOUNTS       path to a JSON array of
//                       { sub, email, name, department?, manager_email? }
//   OIDC_JWKS           optional: path to a private JWKS ({"keys":[...]}) to sign with; without it
//                       an RS256 key is generated at start
//   OIDC_POST_LOGOUT_REDIRECT_URIS  optional: space-separated post-logout redirect URIs
//
// The login form is the library's development one (devInteractions) at /interaction/<uid>: any
// login, any non-empty password. A login that matches an account's email (case-insensitive) or sub
// signs in as that account; any other login signs in as a guest, sub "guest:<login lowercased>",
// email and name = the login as typed. Consent is granted automatically for our client (openid
// email profile), so the browser goes straight from the login form back to the redirect URI.
// For Playwright, the page (title and <h1> "Sign-in") has:
//   <input type="text" name="login" placeholder="Enter any login" required>
//   <input type="password" name="password" placeholder="and password" required>
//   <button type="submit">Sign-in</button>          -> page.getByRole('button', { name: 'Sign-in' })
//   <a href="/interaction/<uid>/abort">[ Cancel ]</a> -> page.getByRole('link', { name: '[ Cancel ]' })
// Cancel sends the browser to the redirect URI with error=access_denied (and the state).
// The provider remembers a sign-in (cookie e2e_op_session): a later authorization request from the
// same browser goes straight back with a code unless it carries prompt=login.
//
// Prints `oidc-provider listening on http://127.0.0.1:PORT` when ready; exits 0 on SIGTERM/SIGINT.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`oidc/provider.mjs: ${name} must be set`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('OIDC_PORT'));
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`oidc/provider.mjs: OIDC_PORT is not a port: ${process.env.OIDC_PORT}`);
  process.exit(2);
}
const clientId = required('OIDC_CLIENT_ID');
const clientSecret = required('OIDC_CLIENT_SECRET');
const redirectUri = required('OIDC_REDIRECT_URI');
const accountsPath = required('OIDC_ACCOUNTS');
const issuer = `http://127.0.0.1:${port}`;

// ---- accounts ---------------------------------------------------------------------------------

function loadAccounts(path) {
  let list;
  try {
    list = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    console.error(`oidc/provider.mjs: cannot read OIDC_ACCOUNTS ${path}: ${err.message}`);
    process.exit(2);
  }
  if (!Array.isArray(list)) {
    console.error(`oidc/provider.mjs: OIDC_ACCOUNTS ${path} must hold a JSON array`);
    process.exit(2);
  }
  for (const [i, a] of list.entries()) {
    if (!a || typeof a.sub !== 'string' || !a.sub || typeof a.email !== 'string' || !a.email) {
      console.error(`oidc/provider.mjs: account #${i} in ${path} needs a string "sub" and "email"`);
      process.exit(2);
    }
  }
  return list;
}

const accounts = loadAccounts(accountsPath);

function lookup(login) {
  const lower = login.toLowerCase();
  return accounts.find((a) => a.sub === login || a.email.toLowerCase() === lower);
}

// oidc-provider takes the `sub` claim from the account's accountId, and the session, grant, code and
// tokens all carry the accountId that the login step hands it, so that must already be the
// canonical sub: canonicalAccountId() turns the login typed on the form into it (see the wrap of
// interactionFinished below). Guests are remembered here (in memory, like everything else in this
// provider) so their email keeps the login's case.
const guests = new Map(); // guest sub -> login as typed

function accountFor(id) {
  const guest = guests.get(id);
  if (guest !== undefined) return { sub: id, email: guest, name: guest };
  const known = lookup(id);
  if (known) return known;
  const sub = `guest:${id.toLowerCase()}`;
  if (!guests.has(sub)) guests.set(sub, id);
  return { sub, email: guests.get(sub), name: guests.get(sub) };
}

function canonicalAccountId(login) {
  return accountFor(String(login)).sub;
}

function claimsFor(account) {
  const claims = {
    sub: account.sub,
    email: account.email,
    email_verified: true,
  };
  for (const key of ['name', 'department', 'manager_email']) {
    if (account[key] !== undefined && account[key] !== null) claims[key] = account[key];
  }
  return claims;
}

async function findAccount(_ctx, id) {
  if (typeof id !== 'string' || !id) return undefined;
  const account = accountFor(id);
  return {
    accountId: account.sub,
    async claims() {
      return claimsFor(account);
    },
  };
}

// ---- signing keys -----------------------------------------------------------------------------

function signingKeys() {
  if (process.env.OIDC_JWKS) {
    try {
      return JSON.parse(readFileSync(process.env.OIDC_JWKS, 'utf8'));
    } catch (err) {
      console.error(`oidc/provider.mjs: cannot read OIDC_JWKS ${process.env.OIDC_JWKS}: ${err.message}`);
      process.exit(2);
    }
  }
  const started = Date.now();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // Said so that a slow start shows where the time went.
  console.log(`oidc-provider: RS256 signing key generated in ${Date.now() - started} ms`);
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: `e2e-${randomUUID()}`, alg: 'RS256', use: 'sig' }] };
}

// ---- provider ---------------------------------------------------------------------------------

const postLogoutRedirectUris = (process.env.OIDC_POST_LOGOUT_REDIRECT_URIS ?? '')
  .split(/\s+/)
  .filter(Boolean);

const configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      ...(postLogoutRedirectUris.length ? { post_logout_redirect_uris: postLogoutRedirectUris } : {}),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
      application_type: 'web',
    },
  ],
  findAccount,
  jwks: signingKeys(),
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'department', 'manager_email'],
  },
  // Put the scope-granted claims in the ID token too, not only at userinfo.
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  pkce: { required: () => true }, // the library only implements S256
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256'],
  },
  features: {
    devInteractions: { enabled: true },
  },
  // Skip consent for our client: grant openid email profile the first time it is asked.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    if (ctx.oidc.client.clientId !== clientId) return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.account.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  // Cookies on 127.0.0.1 are shared by every port, so use names the app under test will not use.
  // They are not `Secure` on plain HTTP (the library only sets that when the request is HTTPS).
  cookies: {
    names: {
      session: 'e2e_op_session',
      interaction: 'e2e_op_interaction',
      resume: 'e2e_op_resume',
    },
    keys: [randomBytes(32).toString('base64url')],
  },
  clientBasedCORS: () => false,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 120,
    IdToken: 3600,
    Interaction: 3600,
    Session: 24 * 3600,
    Grant: 24 * 3600,
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;

// The library's built-in pages @import a web font from the internet; this machine has no internet,
// and the browser under test should not try. Strip it from every HTML page served.
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.response.is('html')) {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);?/g, '');
  }
});

for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error']) {
  provider.on(event, (ctx, err) => {
    const detail = [...new Set([err.error_description, err.error_detail, err.cause?.message])]
      .filter(Boolean).map((d) => ` (${d})`).join('');
    console.error(`oidc-provider ${event}: ${err.error ?? err.name}: ${err.message}${detail}`);
  });
}

// The development login form finishes the login step with the login exactly as typed; make it the
// account's sub instead (see canonicalAccountId above).
const interactionFinished = provider.interactionFinished.bind(provider);
provider.interactionFinished = (req, res, result, options) => {
  if (result?.login?.accountId) {
    result = { ...result, login: { ...result.login, accountId: canonicalAccountId(result.login.accountId) } };
  }
  return interactionFinished(req, res, result, options);
};

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
server.on('error', (err) => {
  console.error(`oidc/provider.mjs: cannot listen on 127.0.0.1:${port}: ${err.message}`);
  process.exit(1);
});

function shutdown(signal) {
  console.log(`oidc-provider stopping (${signal})`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
