/**
 * The status page's Bridges table in headless chromium, against a real HTTP listener (under its
 * Content-Security-Policy) whose broker reports bridges: hidden while there are none, a row per
 * bridge with its state, address and figures, following a link that goes down, and hidden again
 * once the bridges are gone.
 *
 * Under `CI` a missing chromium fails this test; otherwise it is ignored, saying why.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { BridgeFigures } from "../../src/broker/stats.ts";
import { interopTest } from "../interop/helpers.ts";
import { fakeBridge } from "../sys/helpers.ts";
import { CHROMIUM, withBrowser, withLiveBroker } from "./status_page_fixture.ts";

interopTest({
  name:
    "status page in chromium: the Bridges table shows each bridge up or down, and hides without bridges",
  needs: [CHROMIUM],
  fn: () =>
    withLiveBroker(({ broker, url }) =>
      withBrowser(async (browser) => {
        let bridges: BridgeFigures[] = [];
        broker.broker.bridgeStats = () => bridges;
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on("pageerror", (error) => problems.push(error.message));
        page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
        await page.goto(url);
        await page.locator("#status[data-state=live]").waitFor({ timeout: 5000 });
        assert.equal(await page.locator("#bridges-card").isVisible(), false);

        bridges = [
          fakeBridge({ name: "edge", address: "10.0.0.7:1883", connectedSince: Date.now() }),
        ];
        const row = page.locator('#bridges tr[data-bridge="edge"]');
        await row.locator(".badge.on").waitFor({ timeout: 5000 });
        assert.equal(await page.locator("#bridges-card").isVisible(), true);
        const cells = await row.locator("th, td").allTextContents();
        assert.equal(cells[0], "edge");
        assert.equal(cells[1], "up");
        assert.equal(cells[2], "10.0.0.7:1883");
        assert.notEqual(cells[3], "\u2013");
        assert.deepEqual(cells.slice(4), ["3", "1", "5", "12"]);

        bridges = [fakeBridge({ name: "edge", up: false, connectedSince: 0 })];
        await row.locator(".badge.off").waitFor({ timeout: 5000 });
        assert.equal((await row.locator("td").allTextContents())[2], "\u2013");

        bridges = [];
        await page.locator("#bridges-card").waitFor({ state: "hidden", timeout: 5000 });
        assert.deepEqual(problems, []);
      })
    ),
});
