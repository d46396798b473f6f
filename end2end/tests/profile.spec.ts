import { expect } from "@playwright/test";
import { hydrated, signInAs, test } from "./helpers";

// The server is shared by every spec: this journey signs in as a person no other one uses, so the
// session count it sees is its own.

test("a contractor sees their sponsor and sessions, and signing out everywhere ends the other browser's session too", async ({ browser }) => {
  const laptop = await browser.newPage();
  const phoneContext = await browser.newContext();
  const phone = await phoneContext.newPage();
  await signInAs(phone, "Eli Brooks");
  await signInAs(laptop, "Eli Brooks");
  await hydrated(laptop);

  await laptop.getByTestId("signed-in-as").click();
  await expect(laptop).toHaveURL(/\/me$/);
  await expect(laptop.getByTestId("sponsor")).toHaveText("Riley Chen");
  await expect(laptop.getByTestId("contract-end")).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
  await expect(laptop.getByTestId("sessions").locator("tbody tr")).toHaveCount(2);
  await expect(laptop.getByText("This browser")).toHaveCount(1);

  await laptop.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(laptop).toHaveURL(/\/sign-in$/);
  await phone.goto("/");
  await expect(phone).toHaveURL(/\/sign-in\?next=%2F$/);
  await phoneContext.close();
});
