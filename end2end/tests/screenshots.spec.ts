import { hydrated, signInAs, test } from "./helpers";

// Refreshes the README's screenshots of the real UI: `make screenshots`.
test.skip(!process.env.GATEHOUSE_SCREENSHOTS, "only when refreshing the README's screenshots");

for (const scheme of ["light", "dark"] as const) {
  test(`catalog and API page, ${scheme}`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width: 1280, height: 820 });
    await signInAs(page, "Sam Taylor");
    await hydrated(page);
    await page.screenshot({ path: `../docs/screenshots/catalog-${scheme}.png` });
    await page.goto("/apis/pet-store");
    await hydrated(page);
    await page.screenshot({ path: `../docs/screenshots/api-page-${scheme}.png` });
  });
}

test("profile page", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 820 });
  await signInAs(page, "Dana Fox");
  await page.goto("/me");
  await hydrated(page);
  await page.screenshot({ path: "../docs/screenshots/profile.png" });
});

test("sign-in page", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 820 });
  await page.goto("/sign-in");
  await page.screenshot({ path: "../docs/screenshots/sign-in.png" });
});

test("contractor invitations", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 820 });
  await signInAs(page, "Riley Chen", "/invitations");
  await hydrated(page);
  const form = page.getByTestId("invite-form");
  await form.getByLabel("Contractor's email").fill("morgan.quinn@fabrikam.example");
  await form.getByLabel("Company").fill("Fabrikam");
  await form.getByRole("button", { name: "Create invitation" }).click();
  await page.getByTestId("invitation-link").waitFor();
  await page.screenshot({ path: "../docs/screenshots/invitations.png" });
});

test("an admin editing a person", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInAs(page, "Alex Rivera", "/admin/people?q=taylor");
  await hydrated(page);
  await page.getByRole("link", { name: "Sam Taylor" }).click();
  await page.getByTestId("person").waitFor();
  await hydrated(page);
  await page.screenshot({ path: "../docs/screenshots/admin-person.png" });
});

test("an admin importing the org file", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 1100 });
  await signInAs(page, "Alex Rivera", "/admin/people?q=novak");
  await hydrated(page);
  const form = page.getByTestId("org-import");
  await form.getByLabel("File", { exact: true }).setInputFiles({
    name: "org.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(
      "email,name,manager_email,teams\n" +
        "casey.novak@example.com,Casey Novak,morgan.lee@example.com,data\n" +
        "dana.wells@example.com,Dana Wells,casey.novak@example.com,data;platform\n" +
        "eli.brooks@example.com,Eli Brooks,casey.novak@example.com,data:owner\n",
    ),
  });
  await form.getByRole("button", { name: "Import" }).click();
  await page.getByTestId("org-import-report").waitFor();
  await page.screenshot({ path: "../docs/screenshots/org-import.png" });
});

test("a guide with its navigation and table of contents", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInAs(page, "Sam Taylor", "/apis/pet-store/guides/stripe-cli-readme");
  await hydrated(page);
  await page.screenshot({ path: "../docs/screenshots/guide.png" });
});

test("the OpenAPI reference", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInAs(page, "Sam Taylor", "/apis/pet-store/reference");
  await hydrated(page);
  await page.screenshot({ path: "../docs/screenshots/reference.png" });
});

test("search results grouped by API", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInAs(page, "Sam Taylor", "/search?q=pets");
  await hydrated(page);
  await page.screenshot({ path: "../docs/screenshots/search.png" });
});

test("the changelog with the version diff", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInAs(page, "Sam Taylor", "/apis/patent-data/changelog");
  await hydrated(page);
  await page.screenshot({ path: "../docs/screenshots/changelog-diff.png" });
});

test("editing an API as its owner", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 1000 });
  await signInAs(page, "Priya Shah", "/apis/files/edit");
  await hydrated(page);
  await page.screenshot({ path: "../docs/screenshots/api-edit.png" });
});

test("the reference on a phone", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signInAs(page, "Sam Taylor", "/apis/patent-data/reference");
  await hydrated(page);
  await page.screenshot({ path: "../docs/screenshots/reference-phone.png" });
});

test("requesting access, the approvals inbox, a request's timeline and the policy editor", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInAs(page, "Jordan Kim", "/apis/files/request");
  await hydrated(page);
  const form = page.getByTestId("request-form");
  await form.getByLabel("files.share").check();
  await form.getByLabel("Justification").fill("Share monthly reports with the auditors through expiring links.");
  await form.getByLabel("Duration (days)").fill("14");
  await page.getByTestId("approval-preview").getByText("owners of Data").waitFor();
  await page.screenshot({ path: "../docs/screenshots/request-access.png" });
  await form.getByRole("button", { name: "Send request" }).click();
  await page.waitForURL(/\/requests\/\d+$/);
  const request = page.url();

  await page.context().clearCookies();
  await signInAs(page, "Morgan Lee", "/approvals");
  await hydrated(page);
  await page.getByTestId("inbox-item").first().waitFor();
  await page.screenshot({ path: "../docs/screenshots/approvals.png" });
  await page.goto(request);
  await hydrated(page);
  await page.getByTestId("decide").getByLabel(/Comment/).fill("Fine for the audit; keep the links short-lived.");
  await page.getByTestId("decide").getByRole("button", { name: "Approve", exact: true }).click();
  await page.locator(".stage-approved").waitFor();
  await page.screenshot({ path: "../docs/screenshots/request-timeline.png", fullPage: true });

  await page.context().clearCookies();
  await signInAs(page, "Priya Shah", "/apis/files/policy");
  await hydrated(page);
  const preview = page.getByTestId("policy-preview");
  await preview.getByLabel("Person's email").fill("dana.fox@northwind.example");
  await preview.getByLabel("Scopes (comma-separated)").fill("files.read");
  await preview.getByRole("button", { name: "Preview" }).click();
  await preview.getByText("Who approves").waitFor();
  await page.screenshot({ path: "../docs/screenshots/policy.png", fullPage: true });
});

test("my keys, with a new key shown once", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInAs(page, "Jordan Kim", "/apis/pet-store/request");
  await hydrated(page);
  const form = page.getByTestId("request-form");
  await form.getByLabel("read:pets").check();
  await form.getByLabel("Justification").fill("The mobile app's catalogue screen lists pets.");
  await form.getByRole("button", { name: "Send request" }).click();
  await page.waitForURL(/\/requests\/\d+$/);
  await page.goto("/keys");
  await hydrated(page);
  const create = page.getByTestId("new-key-pet-store");
  await create.getByLabel("Name (the app using it)").fill("mobile-catalogue");
  await create.getByLabel("IP allowlist (optional CIDRs)").fill("10.20.0.0/16");
  await create.getByRole("button", { name: "Create key" }).click();
  await page.getByTestId("new-key").waitFor();
  await page.screenshot({ path: "../docs/screenshots/keys.png", fullPage: true });
});
