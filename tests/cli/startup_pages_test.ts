/**
 * The broker gives back the program pages only start-up read (src/cli/startup_pages.ts): which
 * mappings qualify, that the resident set shrinks and the process runs on (code and ICU data
 * come back on use), that a running broker does it and still serves clients, and that without
 * `--allow-ffi` nothing happens.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect, waitFor } from "../integration/harness.ts";
import { payloadText, pub, publishAcked, sub, subscribe } from "../integration/pubsub_helpers.ts";
import { freePort } from "../fixtures/net.ts";
import { Subprocess } from "../interop/helpers.ts";
import { cleanFileMappings, releaseStartupPages } from "../../src/cli/startup_pages.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const MODULE = new URL("../../src/cli/startup_pages.ts", import.meta.url).href;
const LINUX = Deno.build.os === "linux";

/** One smaps block: a header line and the fields the parser reads. */
function block(header: string, rssKb: number, anonymousKb: number): string {
  return `${header}\nSize:               1024 kB\nRss:                ${rssKb} kB\n` +
    `Pss:                ${rssKb} kB\nAnonymous:          ${anonymousKb} kB\nVmFlags: rd mr\n`;
}

/** Resident file-backed KiB of process `pid` ("self" for this one). */
function residentFileKb(pid: number | "self"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/RssFile:\s+(\d+) kB/.exec(status)![1]);
}

Deno.test("startup pages: only read-only, unmodified file mappings with resident pages qualify", () => {
  const smaps = [
    block("55d0a0000000-55d0a0400000 r--p 00000000 08:01 4242   /usr/bin/deno", 3000, 0),
    block("55d0a0400000-55d0a0800000 r-xp 00400000 08:01 4242   /usr/bin/deno", 900, 0),
    // Relocated then made read-only: a modified page, the file's bytes would undo it.
    block("55d0a0800000-55d0a0900000 r--p 00800000 08:01 4242   /usr/bin/deno", 400, 400),
    block("55d0a0900000-55d0a0a00000 rw-p 00900000 08:01 4242   /usr/bin/deno", 100, 0),
    block("7f0000000000-7f0000100000 r--s 00000000 08:01 77     /root/.cache/x.db", 500, 0),
    block("7f0000100000-7f0000200000 rw-p 00000000 00:00 0 ", 800, 800),
    block("7f0000200000-7f0000300000 r--p 00000000 00:00 0 ", 4, 0),
    block("7f0000300000-7f0000400000 r--p 00000000 08:01 99     /usr/lib/libc.so.6", 0, 0),
    block("7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0      [vdso]", 8, 0),
  ].join("");
  assert.deepEqual(cleanFileMappings(smaps), [
    { start: 0x55d0a0000000n, end: 0x55d0a0400000n, residentBytes: 3000 * 1024 },
    { start: 0x55d0a0400000n, end: 0x55d0a0800000n, residentBytes: 900 * 1024 },
    { start: 0x7f0000000000n, end: 0x7f0000100000n, residentBytes: 500 * 1024 },
  ]);
});

Deno.test({
  name: "startup pages: this process gives its clean file pages back and runs on",
  ignore: !LINUX,
  fn() {
    const before = residentFileKb("self");
    const released = releaseStartupPages();
    assert.ok(released !== undefined && released.mappings > 0, "pages were given back");
    assert.ok(
      residentFileKb("self") < before - released.bytes / 1024 / 2,
      `file-backed RSS went from ${before} KiB down by about ${released.bytes / 1024} KiB`,
    );
    // Code, the snapshot and ICU data come back from the page cache on use.
    assert.equal("straße".toLocaleUpperCase("de-DE"), "STRASSE");
    assert.equal(new Intl.NumberFormat("de-DE").format(1234567.5), "1.234.567,5");
    assert.match(new Date(0).toISOString(), /^1970-01-01T/);
    assert.deepEqual(JSON.parse(JSON.stringify({ a: [1, 2] })), { a: [1, 2] });
  },
});

Deno.test({
  name: "startup pages: without --allow-ffi nothing is given back and nothing fails",
  ignore: !LINUX,
  async fn() {
    const script = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(
      script,
      `const { releaseStartupPages } = await import(${JSON.stringify(MODULE)});\n` +
        "console.log(String(releaseStartupPages()));\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-read", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    await Deno.remove(script);
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(text, "undefined");
  },
});

Deno.test({
  name: "startup pages: a running broker gives them back after start-up and serves clients",
  ignore: !LINUX,
  async fn() {
    const dir = await Deno.makeTempDir();
    const port = freePort();
    const file = `${dir}/midge.conf`;
    await Deno.writeTextFile(
      file,
      `listener ${port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type all\n`,
    );
    const midge = new Subprocess(Deno.execPath(), ["run", "-A", MAIN, "-c", file]);
    try {
      await waitFor(() => midge.stderr.includes("running"), "the broker running", 20_000);
      const before = residentFileKb(midge.pid);
      await waitFor(() => midge.stderr.includes("Gave back"), "the pages given back", 10_000);
      const after = residentFileKb(midge.pid);
      assert.ok(after < before, `file-backed RSS ${before} KiB -> ${after} KiB`);
      assert.match(midge.stderr, /Gave back \d+\.\d MiB of program pages start-up read/);

      const { client: s } = await connect(port, { clientId: "s" });
      await subscribe(s, sub("pages/#", 1));
      const { client: p } = await connect(port, { clientId: "p" });
      await publishAcked(p, pub("pages/after", "still served", { qos: 1, packetId: 1 }));
      assert.equal(payloadText(await s.expect("publish")), "still served");
      await Promise.all([s.close(), p.close()]);
      const exit = await midge.kill("SIGTERM");
      assert.equal(exit.code, 0, midge.describe());
    } finally {
      await midge.kill("SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
