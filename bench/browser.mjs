// Time to first contentful paint and to hydration of a page in headless Chromium (Debian's, via
// the end-to-end tests' Playwright), as a signed-in person: a fresh browser context per load, so
// every load fetches the page, the JS and the wasm as a first visit does.
//
// usage: node bench/browser.mjs BASE_URL PATH SESSION_COOKIE [RUNS] [paint-only]
// Prints one JSON line: {"path", "fcp_ms", "hydrated_ms", "runs", "wasm"} with the medians and the
// wasm files the page asked for before it was hydrated (the main module and the files of the page's lazy island, if it has one);
// with `paint-only` (a page that does not hydrate, as the baseline) only the paint is awaited.
import { createRequire } from "node:module";

const require = createRequire(new URL("../end2end/package.json", import.meta.url));
const { chromium } = require("@playwright/test");

const [baseURL, path, cookie, runsArg, mode] = process.argv.slice(2);
const paintOnly = mode === "paint-only";
if (!baseURL || !path || !cookie) {
  console.error("usage: node bench/browser.mjs BASE_URL PATH SESSION_COOKIE [RUNS]");
  process.exit(2);
}
const runs = Number(runsArg ?? 5);
const [cookieName, ...rest] = cookie.split("=");
const cookieValue = rest.join("=");

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const fcps = [];
  const hydrations = [];
  // Every wasm file any load asked for before it was hydrated. Taken from the requests as they
  // start: the Resource Timing list holds only finished fetches, and a chunk whose bytes were still
  // arriving as the mark was read went uncounted (one run reported 265 KiB instead of 470).
  const wasm = new Set();
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    await context.addCookies([{ name: cookieName, value: cookieValue, url: baseURL }]);
    const page = await context.newPage();
    const requested = [];
    page.on("request", (request) => {
      const file = new URL(request.url()).pathname;
      if (file.endsWith(".wasm")) requested.push(file);
    });
    // The app marks <html data-hydrated="true"> once hydration has finished; the moment is
    // taken in the page itself, so Playwright's polling adds nothing to it.
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.documentElement?.dataset.hydrated === "true") {
          window.__hydratedAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
    });
    const response = await page.goto(baseURL + path, { waitUntil: "commit" });
    if (!response || response.status() !== 200) {
      throw new Error(`${path} answered ${response ? response.status() : "nothing"}`);
    }
    if (!paintOnly) {
      await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 30_000 });
      hydrations.push(await page.evaluate(() => window.__hydratedAt));
      for (const file of requested) wasm.add(file);
    }
    const fcp = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const seen = () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime;
          if (seen() !== undefined) return resolve(seen());
          new PerformanceObserver(() => seen() !== undefined && resolve(seen())).observe({ type: "paint", buffered: true });
          setTimeout(() => resolve(null), 10_000);
        }),
    );
    if (fcp === null) throw new Error(`${path}: no first-contentful-paint within 10 s`);
    fcps.push(fcp);
    await context.close();
  }
  const ms = (v) => Math.round(v * 10) / 10;
  console.log(JSON.stringify({ path, fcp_ms: ms(median(fcps)), hydrated_ms: paintOnly ? null : ms(median(hydrations)), runs, wasm: [...wasm] }));
} finally {
  await browser.close();
}
