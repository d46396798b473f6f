import { expect } from "@playwright/test";
import { hydrated, signInAs, test } from "./helpers";

test("search: press / on another page, search an operation and land on it in the reference", async ({ page }) => {
  await signInAs(page, "Sam Taylor", "/apis/pet-store/guides/stripe-cli-readme");
  await hydrated(page);
  const box = page.locator("#site-search");
  await expect(box).not.toBeFocused();
  await page.locator("body").press("/");
  await expect(box).toBeFocused();
  await expect(box).toHaveValue("");
  await box.fill("findByStatus");
  await box.press("Enter");
  await expect(page).toHaveURL(/\/search\?q=findByStatus$/);
  const group = page.locator(".search-group[data-api=pet-store]");
  await expect(group).toBeVisible();
  await expect(group.locator("mark").first()).toBeVisible();
  await group.getByRole("link", { name: "GET /pet/findByStatus" }).click();
  await expect(page).toHaveURL(/\/apis\/pet-store\/reference\?section=tag-pet#op-findpetsbystatus$/);
  await expect(page.locator("#op-findpetsbystatus")).toBeInViewport();
});

test("search: a contractor finds nothing of an API hidden from them", async ({ page }) => {
  await signInAs(page, "Dana Fox", "/search?q=pets");
  await expect(page.locator(".search-group[data-api=pet-store]")).toBeVisible();
  await expect(page.locator(".search-group[data-api=pet-search]")).toHaveCount(0);
});

test("an API's owner edits its summary and adds an environment in the browser", async ({ page }) => {
  await signInAs(page, "Priya Shah", "/apis/patent-data");
  await hydrated(page);
  await page.getByRole("link", { name: "Edit" }).click();
  await expect(page).toHaveURL(/\/apis\/patent-data\/edit$/);
  const form = page.getByTestId("api-edit-form");
  await form.getByLabel("Summary").fill("Search U.S. patent data sets, now with examples.");
  const envs = form.getByTestId("environments-edit");
  const count = await envs.locator(".row-inputs").count();
  // The first spare row is the one after the existing environments.
  const spare = count - 2;
  await envs.getByLabel(`Environment ${spare + 1} name`).fill("staging");
  await envs.getByLabel(`Environment ${spare + 1} base URL`).fill("https://staging.patents.example.com");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("saved")).toBeVisible();
  await page.getByRole("link", { name: "Back to the API" }).click();
  await expect(page.locator(".lead")).toHaveText("Search U.S. patent data sets, now with examples.");
  await expect(page.getByTestId("environments")).toContainText("https://staging.patents.example.com");
});

test("a team owner creates a publish token, sees it once, and can revoke it", async ({ page }) => {
  await signInAs(page, "Morgan Lee", "/teams");
  await hydrated(page);
  const tokens = page.locator("[data-team=commerce]").getByTestId("publish-tokens");
  await tokens.getByLabel("Token name").fill("GitHub Actions");
  await tokens.getByRole("button", { name: "Create token" }).click();
  const secret = tokens.getByLabel("The new token");
  await expect(secret).toHaveValue(/^ghpub_[0-9a-f]{12}_[0-9a-f]{40}$/);
  const value = await secret.inputValue();
  await expect(tokens.locator("table")).toContainText(value.slice(0, 18));
  await page.reload();
  await expect(page.locator("body")).not.toContainText(value);
  await tokens.getByRole("button", { name: "Revoke GitHub Actions" }).click();
  await expect(tokens.locator("table")).toContainText("revoked");
});
