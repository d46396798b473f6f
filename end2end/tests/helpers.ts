import { expect, Page } from "@playwright/test";

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
