import { expect } from "@playwright/test";
import { hydrated, signInAs, test } from "./helpers";

test("an employee signs in, filters the catalog without a reload and opens an API", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in\?next=%2F$/);
  await page.getByRole("button", { name: "Sign in as Sam Taylor" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("signed-in-as")).toHaveText("Sam Taylor");
  await hydrated(page);

  const cards = page.getByTestId("api-card");
  await expect(cards).toHaveCount(8);

  // A marker on window survives only if the page is never reloaded.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByTestId("filter-text").fill("pet");
  await expect(page).toHaveURL(/\/\?q=pet$/);
  await expect(cards).toHaveCount(3);
  await page.getByTestId("filter-team").selectOption("commerce");
  await expect(page).toHaveURL(/\/\?q=pet&team=commerce$/);
  await expect(cards).toHaveCount(2);
  await page.getByTestId("filter-lifecycle").selectOption("experimental");
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toContainText("Pet Search");
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  await page.getByTestId("filter-lifecycle").selectOption("");
  await page.getByRole("link", { name: "Pet Store", exact: true }).click();
  await expect(page).toHaveURL(/\/apis\/pet-store$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Pet Store");
  await expect(page.getByTestId("owner-team")).toHaveText("Commerce");
  await expect(page.getByTestId("scopes")).toContainText("write:pets");
  await expect(page.getByTestId("environments")).toContainText("https://pets.api.example.com/v3");
});

test("a filtered catalog address is rendered with its filter applied, and back restores the previous filter", async ({ page }) => {
  await signInAs(page, "Morgan Lee", "/?lifecycle=deprecated");
  await hydrated(page);
  const cards = page.getByTestId("api-card");
  await expect(cards).toHaveCount(2);
  await expect(page.getByTestId("filter-lifecycle")).toHaveValue("deprecated");

  await page.getByTestId("filter-tag").selectOption("legacy");
  await expect(cards).toHaveCount(1);
  await page.getByRole("link", { name: "Rides" }).click();
  await expect(page).toHaveURL(/\/apis\/rides$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/\?lifecycle=deprecated&tag=legacy$/);
  await expect(cards).toHaveCount(1);
});

test("a filter that matches nothing says so and offers to clear it", async ({ page }) => {
  await signInAs(page, "Riley Chen");
  await hydrated(page);
  await page.getByTestId("filter-text").fill("no-such-api-anywhere");
  await expect(page.getByRole("heading", { name: "No API matches" })).toBeVisible();
  await page.getByRole("link", { name: "Clear the filter" }).click();
  await expect(page.getByTestId("api-card")).toHaveCount(8);
});

test("a contractor sees only the APIs open to everyone", async ({ page }) => {
  await signInAs(page, "Dana Fox");
  await hydrated(page);
  await expect(page.getByTestId("api-card")).toHaveCount(4);
  await expect(page.getByText("Files", { exact: true })).toHaveCount(0);
  await page.goto("/apis/files");
  await expect(page.getByRole("alert")).toContainText("The API 'files' was not found.");
});

test("signing out ends the session", async ({ page }) => {
  await signInAs(page, "Jordan Kim");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/apis/pet-store");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fapis%2Fpet-store$/);
});

test("guides: from an API's overview through its guides and a table-of-contents link", async ({ page }) => {
  await signInAs(page, "Alex Rivera", "/apis/identity");
  await hydrated(page);
  await page.getByRole("link", { name: "Guides" }).click();
  await expect(page).toHaveURL(/\/apis\/identity\/guides\/discord-oauth2$/);
  const nav = page.getByTestId("guide-nav");
  await expect(nav.getByRole("link")).toHaveCount(2);
  await expect(page.getByTestId("guide").locator("h1, h2").first()).toBeVisible();
  await nav.getByRole("link").nth(1).click();
  await expect(page).toHaveURL(/\/apis\/identity\/guides\/redoc-readme$/);
  await expect(nav.getByRole("link").nth(1)).toHaveAttribute("aria-current", "page");
  const first = page.getByTestId("toc").getByRole("link").first();
  const target = await first.getAttribute("href");
  await first.click();
  await expect(page).toHaveURL(new RegExp(`${target}$`));
  await expect(page.locator(`[id="${target!.slice(1)}"]`)).toBeInViewport();
});

test("reference: move through operations with the navigation, and a deep link lands on its operation", async ({ page }) => {
  await signInAs(page, "Sam Taylor", "/apis/pet-store");
  await hydrated(page);
  await page.getByRole("link", { name: "Reference" }).click();
  await expect(page).toHaveURL(/\/apis\/pet-store\/reference$/);
  const nav = page.getByTestId("reference-nav");
  await nav.getByRole("link", { name: "GET /pet/findByStatus" }).click();
  await expect(page).toHaveURL(/\/apis\/pet-store\/reference#op-findpetsbystatus$/);
  await expect(page.locator("#op-findpetsbystatus")).toBeInViewport();

  await page.goto("/apis/pet-store/reference#op-addpet");
  await expect(page.locator("#op-addpet")).toBeInViewport();
  await expect(page.locator("#op-addpet")).toContainText("/pet");

  // Another tag is a page of its own: the navigation goes there and marks it.
  await hydrated(page);
  await nav.getByRole("link", { name: "POST /store/order" }).click();
  await expect(page).toHaveURL(/\/apis\/pet-store\/reference\?section=tag-store#op-placeorder$/);
  await expect(page.locator("#op-placeorder")).toBeInViewport();
  await expect(page.locator("#op-addpet")).toHaveCount(0);
  await expect(nav.locator("a[aria-current=location]")).toHaveText("store");

  // A link from before the parts (an old bookmark) is taken to the part that has it.
  await page.goto("/apis/pet-store/reference#op-placeorder");
  await expect(page).toHaveURL(/\/apis\/pet-store\/reference\?section=tag-store#op-placeorder$/);
  await expect(page.locator("#op-placeorder")).toBeInViewport();
});

test("a reference opened again is the page kept for the session, and it hydrates under its own nonce", async ({ page }) => {
  await signInAs(page, "Sam Taylor", "/apis/pet-store/reference");
  await hydrated(page);
  // Kept until anything a page shows changes; the server's job passes may write meanwhile
  // (every 30 s), so a reload that finds a change is rendered anew and the next one is kept.
  let source: string | undefined;
  for (let i = 0; i < 3 && source !== "kept"; i++) {
    source = (await page.reload())?.headers()["x-gatehouse-page"];
    expect(["kept", "rendered"]).toContain(source);
  }
  expect(source).toBe("kept");
  // The kept page's scripts run under this answer's nonce (a refused one fails the journey).
  await hydrated(page);
  await page.getByTestId("reference-nav").getByRole("link", { name: "POST /store/order" }).click();
  await expect(page).toHaveURL(/\/apis\/pet-store\/reference\?section=tag-store#op-placeorder$/);
  await expect(page.locator("#op-placeorder")).toBeInViewport();
});

test("changelog: each version with its release notes", async ({ page }) => {
  await signInAs(page, "Sam Taylor", "/apis/pet-store");
  await hydrated(page);
  await page.getByRole("link", { name: "Changelog" }).click();
  await expect(page).toHaveURL(/\/apis\/pet-store\/changelog$/);
  await expect(page.getByTestId("changelog")).toContainText("1.0.27");
  await expect(page.getByTestId("changelog").locator("code", { hasText: "findByTags" })).toBeVisible();
});

test("a page fetches only the code of its own islands: none of the pages' on an API page", async ({ page }) => {
  const wasm: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith(".wasm")) wasm.push(path);
  });
  await signInAs(page, "Sam Taylor", "/apis/pet-store");
  await hydrated(page);
  expect(wasm).toContain("/pkg/gatehouse.wasm");
  // An API page is rendered on the server; its few interactive parts are in the main module.
  expect(wasm.filter((path) => path !== "/pkg/gatehouse.wasm")).toEqual([]);

  const island = (name: string) => (path: string) => new RegExp(`/split_+${name}_loader_\\d+\\.wasm$`).test(path);
  await page.getByRole("link", { name: "Keys", exact: true }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("My keys");
  await hydrated(page);
  expect(wasm.some(island("keys_area"))).toBe(true);
  expect(wasm.some(island("catalog"))).toBe(false);
  expect(wasm.some(island("access_area"))).toBe(false);
});

test("a page is marked hydrated only once its islands' code has arrived and run", async ({ page }) => {
  await signInAs(page, "Sam Taylor");
  // The catalog's island is held back for a second and a half on the next load.
  let released = 0;
  await page.route(/\/pkg\/split_+catalog_loader_\d+\.wasm$/, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    released = Date.now();
    await route.continue();
  });
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.documentElement?.dataset.hydrated === "true") {
        (window as any).__hydratedAt = Date.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });
  await page.goto("/");
  await hydrated(page);
  const marked: number = await page.evaluate(() => (window as any).__hydratedAt);
  expect(released, "the island's code had arrived when the page was marked hydrated").toBeGreaterThan(0);
  expect(marked).toBeGreaterThanOrEqual(released);
  // And the island is interactive then: the filter narrows the list without a reload.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByTestId("filter-text").fill("pet");
  await expect(page).toHaveURL(/\/\?q=pet$/);
  await expect(page.getByTestId("api-card")).toHaveCount(3);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test("an address nothing lives at answers 404 with a page that is marked hydrated and works", async ({ page }) => {
  await signInAs(page, "Sam Taylor");
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await hydrated(page);
  // The header's islands are live: `/` puts the cursor in the search box.
  await page.keyboard.press("/");
  await expect(page.locator("#site-search")).toBeFocused();
  await page.getByRole("link", { name: "Back to the catalog" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("api-card").first()).toBeVisible();
});

test("every page names its islands' code for the browser to preload, under the page's own nonce", async ({ page }) => {
  await signInAs(page, "Sam Taylor");
  // Rendered anew each time (a hard reload), a dozen times a page: the preloads were once left
  // out of about half of all renders.
  for (const [path, island] of [
    ["/", "catalog"],
    ["/apis/pet-store/reference", null],
    ["/keys", "keys_area"],
    ["/requests", "access_area"],
  ] as const) {
    for (let i = 0; i < 12; i++) {
      const response = await page.request.get(path, { headers: { "Cache-Control": "no-cache" } });
      expect(response.status()).toBe(200);
      const html = await response.text();
      const nonce = /<script type="module" nonce="([^"]+)"/.exec(html)?.[1];
      expect(nonce, `${path}: the hydration script's nonce`).toBeTruthy();
      const links = [...html.matchAll(/<link [^>]*href="\/pkg\/([^"]+\.wasm)"[^>]*>/g)];
      const names = links.map((link) => link[1]);
      expect(names, `${path}, render ${i + 1}: preloads`).toContain("gatehouse.wasm");
      const islandFiles = names.filter((name) => name !== "gatehouse.wasm");
      if (island === null) {
        expect(islandFiles, `${path}: no island's code`).toEqual([]);
      } else {
        expect(
          names.some((name) => new RegExp(`^split_+${island}_loader_\\d+\\.wasm$`).test(name)),
          `${path}, render ${i + 1}: the ${island} island's code is preloaded (${names.join(", ")})`,
        ).toBe(true);
      }
      for (const [link] of links) expect(link).toContain(`crossorigin="${nonce}"`);
    }
  }
});

test("the version selector shows an earlier version's reference", async ({ page }) => {
  await signInAs(page, "Sam Taylor", "/apis/patent-data/reference");
  await hydrated(page);
  const nav = page.getByTestId("reference-nav");
  await expect(nav).toContainText("GET /{dataset}/{version}/fields");
  await expect(nav).not.toContainText("download");
  await page.getByTestId("version-select").getByRole("combobox").selectOption("1.0.0");
  await expect(page).toHaveURL(/\/apis\/patent-data\/reference\?version=1\.0\.0$/);
  await expect(nav).toContainText("GET /{dataset}/{version}/download");
  await expect(nav).not.toContainText("/fields");
});
