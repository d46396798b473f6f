import { defineConfig } from "@playwright/test";

// The server under test: a fresh SQLite file with the demo data, the development sign-in on, on
// a port of its own so a running `make run` does not interfere; and a real OpenID Connect
// provider (npm oidc-provider) beside it as the company's identity provider.
import { baseURL, maildir, nginxPort, oidc, oidcPort, port, smtpPort, upstreamPort } from "./settings";

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  // Each server gets two minutes to start: one CI run saw the identity provider take more than 30 s
  // between loading its library and listening, on a machine where it usually takes under a second.
  webServer: [
    {
      command: "node oidc/provider.mjs",
      url: `${oidc.issuer}/.well-known/openid-configuration`,
      env: {
        OIDC_PORT: String(oidcPort),
        OIDC_CLIENT_ID: oidc.clientId,
        OIDC_CLIENT_SECRET: oidc.clientSecret,
        OIDC_REDIRECT_URI: `${baseURL}/auth/oidc/callback`,
        OIDC_ACCOUNTS: "oidc/accounts.json",
      },
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      // A real SMTP server on loopback: Debian's python3-aiosmtpd, filing mail into a Maildir.
      command: `rm -rf ${maildir} && mkdir -p $(dirname ${maildir}) && exec /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:${smtpPort} -c aiosmtpd.handlers.Mailbox ${maildir}`,
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `bash ./serve-for-tests.sh ${port}`,
      url: `${baseURL}/readyz`,
      env: {
        GATEHOUSE_OIDC_ISSUER: oidc.issuer,
        GATEHOUSE_OIDC_CLIENT_ID: oidc.clientId,
        GATEHOUSE_OIDC_CLIENT_SECRET: oidc.clientSecret,
        GATEHOUSE_OIDC_NAME: oidc.name,
        GATEHOUSE_OIDC_DEPARTMENT_CLAIM: "department",
        GATEHOUSE_LOCAL_PASSWORDS: "true",
        GATEHOUSE_SMTP_HOST: "127.0.0.1",
        GATEHOUSE_SMTP_PORT: String(smtpPort),
        GATEHOUSE_SMTP_TLS: "none",
        GATEHOUSE_SMTP_FROM: "Gatehouse <gatehouse@example.com>",
        GATEHOUSE_JOB_INTERVAL_SECS: "1",
      },
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      // Debian's nginx with deploy/nginx-gatehouse.conf, after Gatehouse (it reads the gateway
      // credential Gatehouse's start-up wrote).
      command: `bash ./nginx/run.sh ${nginxPort} 127.0.0.1:${port} ${upstreamPort} ${__dirname}/.data/${port}`,
      port: nginxPort,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "pipe",
      stderr: "pipe",
    },
  ],
});
