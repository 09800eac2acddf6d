import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "smol-toml";
import { findOption, SECTION_NAMES, SECTION_TABLES } from "../../src/config/options.ts";
import type { OptionSpec, SectionName } from "../../src/config/schema.ts";
import { parseTomlConfig } from "../../src/config/toml.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { checkDocs, END_MARKER, ROOT, START_MARKER } from "../../scripts/config_docs.ts";
import { keyOfLine } from "../../scripts/config_docs/example_toml.ts";

const FACTS = { userName: "u", isRoot: false };
const EXAMPLE = await Deno.readTextFile(join(ROOT, "conf/midge.toml"));
const README = await Deno.readTextFile(join(ROOT, "README.md"));

/** One commented-out `# key = value` line of the example file. */
interface KeyLine {
  /** The section whose (commented) header it follows. */
  section: SectionName;
  /** In a [[listener]]: a [security] option, which needs per_listener_settings = true. */
  perListener: boolean;
  key: string;
  spec: OptionSpec;
  /** The line without its leading "# ". */
  text: string;
}

/** The key lines of `text`, each with the section of the last `# [header]` line before it. */
function keyLines(text: string): KeyLine[] {
  let section: SectionName = "general";
  const lines: KeyLine[] = [];
  for (const line of text.split("\n")) {
    const header = /^# \[\[?([a-z]+)\]\]?$/.exec(line);
    if (header !== null) {
      assert.ok((SECTION_NAMES as readonly string[]).includes(header[1]), line);
      section = header[1] as SectionName;
      continue;
    }
    const key = keyOfLine(line);
    if (key === undefined) continue;
    const own = findOption(section, key);
    const spec = own ?? (section === "listener" ? findOption("security", key) : undefined);
    assert.ok(spec !== undefined, `${section}: unknown key in ${line}`);
    lines.push({
      section,
      perListener: section === "listener" && !Object.hasOwn(SECTION_TABLES.listener, key),
      key,
      spec,
      text: line.slice(2),
    });
  }
  return lines;
}

/** A TOML document of the supported key lines uncommented, each under its section's header. */
function uncommented(lines: readonly KeyLine[], prelude = ""): string {
  const out = [prelude];
  let current: SectionName = "general";
  for (const line of lines) {
    if (line.spec.support !== "supported") continue;
    if (line.section !== current) {
      current = line.section;
      out.push(current === "listener" || current === "bridge" ? `[[${current}]]` : `[${current}]`);
    }
    out.push(line.text);
  }
  return out.join("\n") + "\n";
}

function sections(config: ReturnType<typeof validateConfig>) {
  const { general, log, persistence, security, listeners, bridges, notices } = config;
  return { general, log, persistence, security, listeners, bridges, notices };
}

Deno.test("conf/midge.toml as it is gives the same configuration as an empty file", () => {
  const example = validateConfig(parseTomlConfig(EXAMPLE, "midge.toml"), FACTS);
  const empty = validateConfig(parseTomlConfig("", "empty.toml"), FACTS);
  assert.deepEqual(sections(example), sections(empty));
  assert.equal(example.listeners.length, 0);
});

Deno.test("conf/midge.toml: every supported key uncommented still validates", () => {
  const lines = keyLines(EXAMPLE);
  const global = lines.filter((l) => !l.perListener);
  const config = validateConfig(parseTomlConfig(uncommented(global), "midge.toml"), FACTS);
  assert.equal(config.listeners.length, 1);
  assert.equal(config.listeners[0].port, 1883);
  // The example listener is protocol mqtt: the WebSocket keys are accepted and said to be idle.
  assert.deepEqual(
    config.notices.map((n) => n.message.replace(/^midge.toml:\d+: /, "")),
    ["http_dir", "websockets_max_frame_size"].map((key) =>
      `listener[1].${key}: ignored: it applies to protocol websockets, and this listener has mqtt`
    ),
  );
  // The per-listener security keys, in a [[listener]], with per_listener_settings = true.
  const listener = lines.filter((l) => l.section === "listener");
  assert.ok(listener.some((l) => l.perListener));
  const perListener = uncommented(listener, "[security]\nper_listener_settings = true");
  const config2 = validateConfig(parseTomlConfig(perListener, "midge.toml"), FACTS);
  assert.equal(config2.listeners[0].security.auto_id_prefix, "auto-");
});

Deno.test("conf/midge.toml: each value shown is the default, or is marked unset or required", () => {
  for (const line of keyLines(EXAMPLE)) {
    const value = parse(line.text)[line.key] as string | number | boolean | string[];
    const parsed = line.spec.parse(value, false); // every shown value is valid, supported or not
    const unset = / # (unset by default|required)(;|$)/.test(line.text);
    if (!unset) assert.deepEqual(parsed, line.spec.default, line.text);
    else assert.notDeepEqual(parsed, line.spec.default, line.text);
  }
});

Deno.test("conf/midge.toml and the README table list every option of every section", () => {
  const start = README.indexOf(START_MARKER);
  const end = README.indexOf(END_MARKER);
  assert.ok(start >= 0 && end > start, "README markers");
  const block = README.slice(start, end);
  const lines = keyLines(EXAMPLE);
  for (const section of SECTION_NAMES) {
    for (const key of Object.keys(SECTION_TABLES[section])) {
      assert.ok(
        lines.some((l) => l.section === section && l.key === key && !l.perListener),
        `conf/midge.toml lacks ${section}.${key}`,
      );
      assert.ok(block.includes(`| \`${key}\` `), `README lacks ${key}`);
    }
  }
  for (const family of ["auth_opt_", "plugin_opt_"]) {
    assert.ok(lines.some((l) => l.key === `${family}NAME` && l.section === "security"));
    assert.ok(block.includes(`| \`${family}*\` `), `README lacks ${family}*`);
  }
  for (const directive of ["listener", "port", "bind_address", "include_dir", "connection"]) {
    assert.ok(block.includes(`| \`${directive}\` `), `README lacks ${directive}`);
  }
  for (const retired of ["retry_interval", "store_clean_interval"]) {
    assert.ok(block.includes(`| \`${retired}\` `), `README lacks ${retired}`);
  }
});

Deno.test("conf/midge.toml and the README option table are up to date (deno task docs)", async () => {
  assert.deepEqual(await checkDocs(), []);
});

Deno.test("checkDocs names a generated file that is out of date", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "conf"));
    await Deno.writeTextFile(join(root, "conf/midge.toml"), EXAMPLE.replace("= 20", "= 21"));
    await Deno.writeTextFile(join(root, "README.md"), README);
    const problems = await checkDocs(root);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^conf\/midge\.toml: out of date from line \d+/);
    assert.match(problems[0], /max_inflight_messages = 21/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
