import { test as base, expect, Page } from "@playwright/test";
import { oidc } from "../settings";

/**
 * Playwright's `test`, with one more check on every journey: the browser refused nothing under
 * the page's Content-Security-Policy (Chromium reports each refusal on the console), so a script,
 * style or wasm chunk the policy blocks fails the journey that needed it.
 */
export const test = base.extend<{ policyRefusals: void }>({
  policyRefusals: [
    async ({ page, baseURL }, use) => {
      const refused: string[] = [];
      page.on("console", (message) => {
        // Only Gatehouse's pages: the identity provider's pages have a policy of their own.
        const ours = baseURL !== undefined && page.url().startsWith(baseURL);
        if (ours && /Content Security Policy/i.test(message.text())) {
          refused.push(`${page.url()}: ${message.text()}`);
        }
      });
      await use();
      expect(refused, "the browser refused something under the page's policy").toEqual([]);
    },
    { auto: true },
  ],
});

/** Waits until the page is interactive: the app marks <html data-hydrated> once hydrated. */
export async function hydrated(page: Page) {
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
}

/** Signs in through the development sign-in as the named demo person. */
export async function signInAs(page: Page, name: string, next = "/") {
  await page.goto(`/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByRole("button", { name: `Sign in as ${name}` }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(name);
}

/** Signs in through the company's identity provider (the real oidc-provider) as `login`. */
export async function signInWithProvider(page: Page, login: string, next = "/") {
  await page.goto(`/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByRole("button", { name: `Sign in with ${oidc.name}` }).click();
  await loginAtProvider(page, login);
}

/** Fills the provider's own login form; any non-empty password is accepted there. */
export async function loginAtProvider(page: Page, login: string) {
  await expect(page).toHaveURL(new RegExp(`^${oidc.issuer}/interaction/`));
  await page.getByPlaceholder("Enter any login").fill(login);
  await page.getByPlaceholder("and password").fill("any-password");
  await page.getByRole("button", { name: "Sign-in" }).click();
}
