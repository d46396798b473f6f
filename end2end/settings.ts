// Where the end-to-end servers listen, shared by the Playwright configuration and the tests.
export const port = Number(process.env.GATEHOUSE_E2E_PORT ?? 3300);
export const oidcPort = Number(process.env.GATEHOUSE_E2E_OIDC_PORT ?? 3310);
export const baseURL = `http://127.0.0.1:${port}`;

// The identity provider (npm oidc-provider, end2end/oidc/provider.mjs) and Gatehouse's client.
export const oidc = {
  issuer: `http://127.0.0.1:${oidcPort}`,
  clientId: "gatehouse-e2e",
  clientSecret: "e2e-client-secret-0123456789abcdef0123",
  name: "Acme SSO",
};

// The SMTP server the end-to-end Gatehouse sends mail to (Python's aiosmtpd), and the Maildir
// where it files what arrives, for the tests to read.
export const smtpPort = Number(process.env.GATEHOUSE_E2E_SMTP_PORT ?? 3325);
export const maildir = `${__dirname}/.data/maildir-${smtpPort}`;

// nginx in front of a tiny upstream, checking every call's key with Gatehouse (auth_request).
export const nginxPort = Number(process.env.GATEHOUSE_E2E_NGINX_PORT ?? 3340);
export const upstreamPort = Number(process.env.GATEHOUSE_E2E_UPSTREAM_PORT ?? 3341);
export const nginxURL = `http://127.0.0.1:${nginxPort}`;
