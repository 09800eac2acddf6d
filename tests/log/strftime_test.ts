/**
 * strftime against the system's `date +FORMAT` (GNU date, C strftime) for fixed instants in
 * several zones. A process's zone is fixed when it starts, so each zone runs in a child Deno.
 */

import assert from "node:assert/strict";
import { strftime } from "../../src/log/strftime.ts";

/** Conversions compared one by one, then all at once. */
const FORMATS = [
  "%Y",
  "%C",
  "%y",
  "%m",
  "%d",
  "%e",
  "%j",
  "%H",
  "%k",
  "%I",
  "%l",
  "%M",
  "%S",
  "%p",
  "%a",
  "%A",
  "%u",
  "%w",
  "%b",
  "%h",
  "%B",
  "%z",
  "%s",
  "%F",
  "%T",
  "%D",
  "%R",
  "%c",
  "%x",
  "%X",
  "a%nb%tc",
  "100%%",
  "%Y-%m-%dT%H:%M:%S",
  "%b %e %H:%M:%S",
];

/** Instants: 2023-11-14 (winter in the north), 2023-07-22 (summer), a morning, 1970. */
const EPOCHS = [1_700_000_000, 1_690_000_000, 1_700_010_000, 5];

const SEPARATOR = "\x1f";
const STRFTIME_URL = new URL("../../src/log/strftime.ts", import.meta.url).href;

/** `date -d @epoch +format` in `tz`, for each format. */
async function dateOutput(tz: string, epoch: number, formats: string[]): Promise<string[]> {
  const out = await new Deno.Command("date", {
    args: ["-d", `@${epoch}`, `+${formats.join(SEPARATOR)}`],
    env: { TZ: tz, LC_ALL: "C" },
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).replace(/\n$/, "").split(SEPARATOR);
}

/** strftime in a child Deno whose zone is `tz`: results by epoch, then by format. */
async function childStrftime(tz: string, formats: string[]): Promise<string[][]> {
  const code = `import { strftime } from ${JSON.stringify(STRFTIME_URL)};
    const formats = ${JSON.stringify(formats)};
    console.log(JSON.stringify(${JSON.stringify(EPOCHS)}.map((e) =>
      formats.map((f) => strftime(f, new Date(e * 1000))))));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    env: { TZ: tz, NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Compare every format and epoch in `tz` with date(1). */
async function compareWithDate(tz: string, formats: string[]): Promise<void> {
  const ours = await childStrftime(tz, formats);
  for (const [i, epoch] of EPOCHS.entries()) {
    const theirs = await dateOutput(tz, epoch, formats);
    for (const [j, format] of formats.entries()) {
      assert.equal(ours[i][j], theirs[j], `${tz} @${epoch} ${JSON.stringify(format)}`);
    }
  }
}

Deno.test("strftime matches date(1) in UTC, %Z included", async () => {
  await compareWithDate("UTC", [...FORMATS, "%Z", "%H:%M %Z (%z)"]);
});

Deno.test("strftime matches date(1) in America/New_York, both sides of DST, %Z included", async () => {
  await compareWithDate("America/New_York", [...FORMATS, "%Z"]);
});

Deno.test("strftime matches date(1) at a half-hour offset (Asia/Kolkata)", async () => {
  await compareWithDate("Asia/Kolkata", FORMATS);
});

Deno.test("strftime %Z falls back to an offset name where the runtime has no abbreviation", async () => {
  const [[zone]] = await childStrftime("Asia/Kolkata", ["%Z"]);
  assert.equal(zone, "GMT+5:30"); // glibc says "IST"; %z is exact either way
});

Deno.test("strftime keeps unknown conversions and a trailing % as written", () => {
  const date = new Date(1_700_000_000_000);
  assert.equal(strftime("%Q %E%", date), "%Q %E%");
  assert.equal(strftime("%%Y %s", date), "%Y 1700000000");
  assert.equal(strftime("", date), "");
  assert.equal(strftime("plain text", date), "plain text");
  assert.equal(strftime("%Q%s", date), "%Q1700000000");
});
