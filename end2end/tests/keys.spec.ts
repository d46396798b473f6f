import { expect, Page } from "@playwright/test";
import { hydrated, signInAs, test } from "./helpers";
import { nginxURL } from "../settings";

async function switchTo(page: Page, name: string, next: string) {
  await page.context().clearCookies();
  await signInAs(page, name, next);
  await hydrated(page);
}

test("a key created in the UI is shown once, calls through nginx, and stops when revoked", async ({ page, request }) => {
  // Pet Store's policy grants read:pets to employees at once.
  await switchTo(page, "Sam Taylor", "/apis/pet-store/request");
  const form = page.getByTestId("request-form");
  await form.getByLabel("read:pets").check();
  await form.getByLabel("Justification").fill("The storefront's inventory sync reads pets nightly.");
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(page.getByTestId("request-state")).toHaveText("Approved");

  await page.goto("/keys");
  await hydrated(page);
  const create = page.getByTestId("new-key-pet-store");
  await create.getByLabel("Name (the app using it)").fill("inventory-sync");
  await create.getByRole("button", { name: "Create key" }).click();
  const shown = page.getByTestId("new-key").getByLabel("The new key");
  await expect(shown).toHaveValue(/^ghk_production_[0-9A-Za-z]{46}$/);
  const key = await shown.inputValue();
  const copy = page.getByTestId("new-key").getByRole("button", { name: "Copy" });
  await copy.click();
  await expect(page.getByTestId("new-key").getByRole("button", { name: "Copied" })).toBeVisible();
  await expect(page.getByTestId("new-key").locator(".curl")).toContainText(key);
  // Shown once: after a reload only its public prefix is left.
  await page.reload();
  await hydrated(page);
  await expect(page.locator("body")).not.toContainText(key);
  await expect(page.getByTestId("keys")).toContainText(key.slice(0, 23));

  // Through nginx: the key passes; an operation needing write:pets is refused; no key, 401.
  const pet = await request.get(`${nginxURL}/pet/7`, { headers: { Authorization: `Bearer ${key}` } });
  expect(pet.status()).toBe(200);
  expect(await pet.text()).toContain("Rex");
  const write = await request.get(`${nginxURL}/pet/findByStatus?status=sold`, { headers: { "X-Api-Key": key } });
  expect(write.status()).toBe(403);
  expect((await request.get(`${nginxURL}/pet/7`)).status()).toBe(401);
  expect((await request.get(`${nginxURL}/pet/7?api_key=${key}`)).status()).toBe(401);

  // Revoked in the UI: the next call through nginx fails within a second.
  const row = page.getByTestId("keys").locator("tr", { hasText: "inventory-sync" });
  await row.getByLabel("Reason").fill("Rotating to a new app");
  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row.getByTestId("key-state")).toContainText("Revoked");
  const revokedAt = Date.now();
  let status = 0;
  while (Date.now() - revokedAt < 1000) {
    status = (await request.get(`${nginxURL}/pet/7`, { headers: { Authorization: `Bearer ${key}` } })).status();
    if (status === 401) break;
  }
  expect(status).toBe(401);
});
