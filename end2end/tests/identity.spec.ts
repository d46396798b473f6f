import { expect } from "@playwright/test";
import { hydrated, loginAtProvider, signInAs, signInWithProvider, test } from "./helpers";
import { oidc } from "../settings";

// Company sign-in goes through a real OpenID Connect provider (npm oidc-provider) started beside
// the server; its login form accepts any login and signs in the account with that email.

test("an employee signs in through the identity provider and signs out", async ({ page }) => {
  await page.goto("/me");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fme$/);
  await page.getByRole("button", { name: `Sign in with ${oidc.name}` }).click();
  await loginAtProvider(page, "priya.shah@example.com");
  await expect(page).toHaveURL(/\/me$/);
  await expect(page.getByTestId("signed-in-as")).toHaveText("Priya Shah");
  await expect(page.getByTestId("sessions")).toContainText("Company sign-in");

  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/me");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fme$/);
});

test("cancelling at the identity provider ends on the sign-in page with the reason", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByRole("button", { name: `Sign in with ${oidc.name}` }).click();
  await page.getByRole("link", { name: "[ Cancel ]" }).click();
  await expect(page).toHaveURL(/\/sign-in\?error=denied$/);
  await expect(page.getByTestId("sign-in-error")).toContainText("cancelled at the identity provider");
  await expect(page.getByTestId("signed-in-as")).toHaveCount(0);
});

test("someone the company does not know is refused", async ({ page }) => {
  await signInWithProvider(page, "stranger@elsewhere.example");
  await expect(page).toHaveURL(/\/sign-in\?error=unknown$/);
  await expect(page.getByTestId("sign-in-error")).toContainText("not known to Gatehouse");
});

test("a contractor accepts an invitation, signs in, and is refused once the engagement has ended", async ({ browser }) => {
  const contractor = `pat.${Date.now()}@initech.example`;

  // Sam invites the contractor.
  const sam = await browser.newPage();
  await signInAs(sam, "Sam Taylor", "/invitations");
  await hydrated(sam);
  const form = sam.getByTestId("invite-form");
  await form.getByLabel("Contractor's email").fill(contractor);
  await form.getByLabel("Company").fill("Initech");
  await form.getByRole("button", { name: "Create invitation" }).click();
  const link = await sam.getByTestId("invitation-link").inputValue();
  expect(link).toMatch(/\/invitations\/[0-9a-f]{64}$/);
  await expect(sam.getByTestId("invitations").locator(`tr[data-email="${contractor}"]`)).toContainText("Pending");

  // The contractor opens the link in their own browser and signs in with their guest account.
  const context = await browser.newContext();
  const pat = await context.newPage();
  await pat.goto(link);
  await expect(pat.getByTestId("invitation")).toContainText("Sam Taylor");
  await expect(pat.getByTestId("invitation")).toContainText("Initech");
  await pat.getByRole("button", { name: `Accept and sign in with ${oidc.name}` }).click();
  await loginAtProvider(pat, contractor);
  await expect(pat.getByTestId("signed-in-as")).toHaveText(contractor);
  await expect(pat.locator(".site-user .badge")).toContainText("Contractor");
  await hydrated(pat);
  // Contractors see only what is open to them: no employees-only or hidden API, in the catalog
  // or in search.
  await expect(pat.getByTestId("api-card")).toHaveCount(4);
  await pat.goto("/?q=identity");
  await expect(pat.getByRole("heading", { name: "No API matches" })).toBeVisible();
  await pat.goto("/?q=files");
  await expect(pat.getByRole("heading", { name: "No API matches" })).toBeVisible();
  await pat.goto("/apis/identity");
  await expect(pat.getByRole("alert")).toContainText("was not found");

  // The link worked once.
  await pat.goto(link);
  await expect(pat.getByRole("alert")).toContainText("cannot be used");

  // Sam ends the engagement: the contractor's session ends and the provider cannot sign them in.
  await sam.reload();
  await hydrated(sam);
  const row = sam.getByTestId("invitations").locator(`tr[data-email="${contractor}"]`);
  await expect(row).toContainText("Accepted");
  await row.getByRole("button", { name: "End engagement" }).click();
  await expect(row).toHaveCount(1);
  await pat.goto("/");
  await expect(pat).toHaveURL(/\/sign-in\?next=%2F$/);
  const again = await browser.newContext();
  const retry = await again.newPage();
  await signInWithProvider(retry, contractor);
  await expect(retry).toHaveURL(/\/sign-in\?error=inactive$/);
  await expect(retry.getByTestId("sign-in-error")).toContainText("access to Gatehouse has ended");
  await context.close();
  await again.close();
});

test("an admin imports the org file from disk: a bad file changes nothing, a clean one is applied", async ({ page }) => {
  await signInAs(page, "Alex Rivera", "/admin/people");
  await hydrated(page);
  const form = page.getByTestId("org-import");
  const contents = form.getByLabel("Org file contents (filled from the file, or pasted)");

  // A manager nobody knows: refused whole, the problem named by line.
  await form.getByLabel("File", { exact: true }).setInputFiles({
    name: "org.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("email,name,manager_email,teams\nriley.import@example.com,Riley Import,ghost@example.com,platform\n"),
  });
  await expect(contents).toHaveValue(/riley\.import@example\.com/);
  await expect(form.getByLabel("Format")).toHaveValue("csv");
  await form.getByRole("button", { name: "Import" }).click();
  await expect(page.getByTestId("org-import-problems")).toContainText(
    "line 2: manager ghost@example.com is neither in the file nor in Gatehouse",
  );
  await expect(page.getByTestId("org-import-problems")).toContainText("nothing changed");

  // A clean JSON file: the format follows the file's name; the report says what changed, and
  // the list shows the new person with their manager.
  await form.getByLabel("File", { exact: true }).setInputFiles({
    name: "org.json",
    mimeType: "application/json",
    buffer: Buffer.from(
      JSON.stringify([
        { email: "riley.import@example.com", name: "Riley Import", manager_email: "morgan.lee@example.com", teams: ["platform"] },
      ]),
    ),
  });
  await expect(form.getByLabel("Format")).toHaveValue("json");
  await expect(contents).toHaveValue(/Riley Import/);
  await form.getByRole("button", { name: "Import" }).click();
  await expect(page.getByTestId("org-import-report")).toContainText("Imported: 1 created");
  await page.getByLabel("Search people").fill("riley.import");
  await page.getByRole("button", { name: "Search" }).click();
  const rows = page.getByTestId("people").locator("tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows).toContainText("Morgan Lee");
  await expect(rows).toContainText("Platform");
});

test("an admin finds a person and changes their manager", async ({ page }) => {
  await signInAs(page, "Alex Rivera", "/admin/people");
  await hydrated(page);
  await page.getByLabel("Search people").fill("novak");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByTestId("people").locator("tbody tr")).toHaveCount(1);
  await page.getByRole("link", { name: "Casey Novak" }).click();
  await expect(page).toHaveURL(/\/admin\/people\/\d+$/);
  await hydrated(page);
  await page.getByLabel("Manager's email (empty for none)").fill("morgan.lee@example.com");
  await page.getByRole("button", { name: "Save manager" }).click();
  await page.goto("/admin/people?q=novak");
  await expect(page.getByTestId("people")).toContainText("Morgan Lee");
});
