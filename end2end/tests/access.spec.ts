import { expect, Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { hydrated, signInAs, test } from "./helpers";
import { maildir } from "../settings";

/** Signs out everyone in this browser, then signs in as `name`. */
async function switchTo(page: Page, name: string, next: string) {
  await page.context().clearCookies();
  await signInAs(page, name, next);
  await hydrated(page);
}

/** Fills and sends the request form on an API's page. */
async function requestAccess(
  page: Page,
  api: string,
  scope: string,
  justification: string,
  days?: string,
  expectApprover?: string,
) {
  await page.goto(`/apis/${api}`);
  await hydrated(page);
  await page.getByTestId("request-access").click();
  await expect(page).toHaveURL(new RegExp(`/apis/${api}/request$`));
  const form = page.getByTestId("request-form");
  await form.getByLabel(scope).check();
  await form.getByLabel("Justification").fill(justification);
  if (days) await form.getByLabel("Duration (days)").fill(days);
  // The preview names the approvers for exactly this choice before anything is sent.
  if (expectApprover) await expect(page.getByTestId("approval-preview")).toContainText(expectApprover);
  await form.getByRole("button", { name: "Send request" }).click();
  await expect(page).toHaveURL(/\/requests\/\d+$/);
  return Number(page.url().split("/").pop());
}

/** Opens a request from the approvals inbox and decides it. */
async function decideFromInbox(page: Page, id: number, decision: "Approve" | "Reject", comment = "") {
  await page.goto("/approvals");
  await hydrated(page);
  const item = page.getByTestId("inbox-item").filter({ has: page.locator(`a[href="/requests/${id}"]`) });
  await item.getByRole("link", { name: "Review and decide" }).click();
  await expect(page).toHaveURL(new RegExp(`/requests/${id}$`));
  await hydrated(page);
  const panel = page.getByTestId("decide");
  if (comment) await panel.getByLabel(/Comment/).fill(comment);
  await panel.getByRole("button", { name: decision, exact: true }).click();
}

/** Waits for an email to `to` whose subject contains `subject`; returns its raw text. */
async function waitForMail(to: string, subject: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (const sub of ["new", "cur"]) {
      const dir = path.join(maildir, sub);
      if (!fs.existsSync(dir)) continue;
      for (const file of fs.readdirSync(dir)) {
        const text = fs.readFileSync(path.join(dir, file), "utf8");
        if (text.includes(to) && text.includes(subject)) return text;
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no email to ${to} with "${subject}" arrived`);
}

test("an employee's high-risk request: manager approves, then an API owner, and the grant shows", async ({ page }) => {
  await switchTo(page, "Sam Taylor", "/");
  // files.write is high risk: the preview turns from the manager alone to manager then owners.
  const id = await requestAccess(
    page,
    "files",
    "files.write",
    "Upload the quarterly finance reports from the batch job.",
    "10",
    "owners of Data",
  );
  await expect(page.getByTestId("request-state")).toHaveText("Pending");
  await expect(page.getByTestId("stages")).toContainText("Morgan Lee");
  await expect(page.getByTestId("stages")).toContainText("owners of Data");

  // Morgan, the manager, sees the count in the header and approves the first stage.
  await switchTo(page, "Morgan Lee", "/");
  await expect(page.getByTestId("approvals-count")).toHaveText("1");
  await decideFromInbox(page, id, "Approve");
  await expect(page.locator(".stage-approved")).toContainText("by Morgan Lee");
  // The header follows the decision without a reload: nothing waits for Morgan any more.
  await expect(page.getByTestId("approvals-count")).toHaveCount(0);

  // Priya owns the Data team, which owns Files: the second stage is hers.
  await switchTo(page, "Priya Shah", "/");
  await decideFromInbox(page, id, "Approve");
  await expect(page.getByTestId("request-state")).toHaveText("Approved");

  await switchTo(page, "Sam Taylor", `/requests/${id}`);
  await expect(page.getByTestId("timeline")).toContainText("Priya Shah approved stage 2");
  await page.getByTestId("grant-link").click();
  await expect(page).toHaveURL(/\/access$/);
  const row = page.getByTestId("grants").locator("tr", { hasText: "files.write" });
  await expect(row).toContainText("production");
  await expect(row).toContainText("Active");
  // The bell counts what Sam has not read yet: a stage approved, then the request.
  await expect(page.getByTestId("unread-count")).toHaveText("2");
});

test("a contractor's request: the sponsor approves, an owner rejects with a comment, the contractor sees why and gets the email", async ({ page }) => {
  await switchTo(page, "Dana Fox", "/");
  const id = await requestAccess(
    page,
    "patent-data",
    "datasets.read",
    "Analyse patent filings for the client's market study.",
    undefined,
    "Sam Taylor",
  );
  await expect(page.getByTestId("request-facts")).toContainText("Sam Taylor");
  await expect(page.getByTestId("request-facts")).toContainText("30 days");

  await switchTo(page, "Sam Taylor", "/");
  await decideFromInbox(page, id, "Approve");

  await switchTo(page, "Priya Shah", "/");
  await decideFromInbox(page, id, "Reject", "Contractors get the sandbox copy, not production.");
  await expect(page.getByTestId("request-state")).toHaveText("Rejected");

  await switchTo(page, "Dana Fox", "/notifications");
  await expect(page.getByTestId("notifications")).toContainText("Rejected: your request for Patent Data");
  await page.getByRole("link", { name: /Rejected: your request/ }).click();
  await expect(page).toHaveURL(new RegExp(`/requests/${id}$`));
  await expect(page.getByTestId("request-state")).toHaveText("Rejected");
  await expect(page.getByTestId("stages")).toContainText("Contractors get the sandbox copy, not production.");

  // The email went out through the real SMTP server, with a link straight to the request.
  const mail = await waitForMail("dana.fox@northwind.example", "Rejected: your request for Patent Data");
  expect(mail).toContain(`/requests/${id}`);
  expect(mail).toContain("Contractors get the sandbox copy");
});

test("an owner sees who holds access to their API and a bad policy is refused with its problems", async ({ page }) => {
  await switchTo(page, "Priya Shah", "/apis/files");
  await page.getByRole("link", { name: "Access", exact: true }).click();
  await expect(page).toHaveURL(/\/apis\/files\/access$/);
  await expect(page.getByTestId("grants")).toContainText("Sam Taylor");
  // Opened directly (not through the app's navigation), the editor and its preview still work.
  await page.goto("/apis/files/policy");
  await hydrated(page);
  const form = page.getByTestId("policy-form");
  await form.locator("textarea").fill('{"rules": [{"requester": "any", "approve": "automatic", "max_days": 900}]}');
  await form.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByTestId("policy-problems")).toContainText("over the admins' limit");
  await expect(page.getByTestId("policy-problems")).toContainText("automatic approval for contractors");
  const preview = page.getByTestId("policy-preview");
  await preview.getByLabel("Person's email").fill("riley.chen@example.com");
  await preview.getByLabel("Scopes (comma-separated)").fill("files.share");
  await preview.getByRole("button", { name: "Preview" }).click();
  await expect(preview).toContainText("Priya Shah");
  await expect(preview).toContainText("owners of Data");
});

test("a manager approves two low-risk requests at once from the inbox", async ({ page }) => {
  const ids: number[] = [];
  for (const who of ["Casey Novak", "Riley Chen"]) {
    await switchTo(page, who, "/");
    ids.push(await requestAccess(page, "patent-data", "datasets.read", "Monthly patent statistics for the finance dashboard."));
  }
  await switchTo(page, "Priya Shah", "/approvals");
  for (const id of ids) {
    await page.getByRole("checkbox", { name: `Select request #${id}` }).check();
  }
  await page.getByRole("button", { name: "Approve the selected low-risk requests" }).click();
  const result = page.getByTestId("bulk-result");
  for (const id of ids) await expect(result).toContainText(`#${id}: Approved.`);
  for (const id of ids) await expect(page.locator(`a[href="/requests/${id}"]`)).toHaveCount(0);
  await switchTo(page, "Riley Chen", `/requests/${ids[1]}`);
  await expect(page.getByTestId("request-state")).toHaveText("Approved");
});

test("opened directly, the request form's preview follows the chosen scopes", async ({ page }) => {
  await switchTo(page, "Jordan Kim", "/apis/files/request");
  const preview = page.getByTestId("approval-preview");
  await expect(preview).toContainText("Up to 365 days");
  await page.getByTestId("request-form").getByLabel("files.share").check();
  await expect(preview).toContainText("owners of Data");
  await expect(preview).toContainText("Up to 180 days");
});

test("a team owner sets the team's webhook and sees its signing secret", async ({ page }) => {
  await switchTo(page, "Priya Shah", "/teams");
  const hook = page.locator("[data-team=data]").getByTestId("team-webhook");
  await hook.getByLabel("Webhook URL").fill("https://hooks.example.com/services/data");
  await hook.getByRole("button", { name: "Save webhook" }).click();
  await expect(hook.getByLabel("Signing secret")).toHaveValue(/^whsec_[0-9a-f]{64}$/);
  await page.reload();
  await expect(hook.getByLabel("Webhook URL")).toHaveValue("https://hooks.example.com/services/data");
});
