import assert from "node:assert/strict";
import { capture } from "../fixtures/cli_io.ts";
import { join } from "node:path";
import { runConvert } from "../../src/tools/convert.ts";
import { runCli } from "../../src/cli/dispatch.ts";
import { convertMosquitto, mosquittoToToml, tomlString } from "../../src/config/convert.ts";
import { ConfigError, formatProblem } from "../../src/config/errors.ts";
import { parseMosquittoConf, readMosquittoConf } from "../../src/config/mosquitto_conf.ts";
import type { Config } from "../../src/config/options.ts";
import type { RawConfig } from "../../src/config/raw.ts";
import { parseTomlConfig } from "../../src/config/toml.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { mosquittoExample } from "./mosquitto_helpers.ts";

const FIXTURES = new URL("./fixtures/mosquitto/", import.meta.url).pathname;
const FACTS = { userName: "u", isRoot: false };
const EXAMPLE = mosquittoExample();

/** A Config without what depends on the file it came from: file, notices and origins. */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== "file" && k !== "notices" && k !== "origin")
      .map(([k, v]) => [k, comparable(v)]),
  );
}

/** The validated Config, or the messages of the problems (without file, line and key). */
function outcome(raw: RawConfig): { config: unknown } | { problems: string[] } {
  let config: Config;
  try {
    config = validateConfig(raw, FACTS);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { problems: error.problems.map((p) => p.message) };
  }
  return { config: comparable(config) };
}

/** Convert, parse the TOML back and check both validate to the same outcome. */
function assertSameOutcome(raw: RawConfig, name: string): string {
  const toml = mosquittoToToml(raw);
  const back = parseTomlConfig(toml, `${name}.toml`);
  assert.deepEqual(outcome(back), outcome(raw), `${name}:\n${toml}`);
  return toml;
}

const SAME_CONFIG = [
  "debian.conf",
  "comments.conf",
  "default_port.conf",
  "default_options.conf",
  "listeners.conf",
  "per_listener_true.conf",
  "per_listener_false.conf",
  "include_multi.conf",
  "bridge.conf",
];

for (const name of SAME_CONFIG) {
  Deno.test(`mosquittoToToml: ${name} as TOML validates to the same configuration`, async () => {
    const raw = await readMosquittoConf(join(FIXTURES, name));
    assertSameOutcome(raw, name);
  });
}

Deno.test("mosquittoToToml: the fixtures that validate differ from the defaults", async () => {
  // Guards the test above: a conversion that wrote nothing would pass it for a default file.
  for (const name of SAME_CONFIG.filter((n) => n !== "bridge.conf")) {
    const raw = await readMosquittoConf(join(FIXTURES, name));
    const empty = parseTomlConfig("", "empty.toml");
    assert.notDeepEqual(outcome(raw), outcome(empty), name);
  }
});

Deno.test("mosquittoToToml: the Mosquitto example file converts to comments only", {
  ignore: EXAMPLE === undefined,
}, async () => {
  const raw = parseMosquittoConf({ file: EXAMPLE!.file, text: await EXAMPLE!.text });
  const toml = assertSameOutcome(raw, "example");
  assert.ok(toml.split("\n").every((l) => l === "" || l.startsWith("#")), toml);
});

Deno.test("mosquittoToToml: a header, and each key with its doc line and origin above it", async () => {
  const file = join(FIXTURES, "debian.conf");
  const toml = mosquittoToToml(await readMosquittoConf(file));
  const lines = toml.split("\n");
  assert.match(lines[0], new RegExp(`^# .*converted from ${file}`));
  const at = lines.indexOf('pid_file = "/run/mosquitto/mosquitto.pid"');
  assert.deepEqual(lines.slice(at - 2, at), [
    "# Write the process id to this file at start, remove it at exit.",
    `# from ${file}:6`,
  ]);
  const persistence = lines.indexOf("persistence = true");
  assert.ok(persistence > lines.indexOf("[persistence]"));
  assert.equal(lines[persistence - 1], `# from ${file}:8`);
  // Top-level keys come before the first table.
  assert.ok(at < lines.findIndex((l) => l.startsWith("[")));
  assert.ok(lines.includes("port = 1883"));
  assert.ok(toml.endsWith("\n"));
});

Deno.test("mosquittoToToml: values typed by the schema; repeated options as arrays", () => {
  const raw = parseMosquittoConf({
    file: "m.conf",
    text: "retain_available false\nmax_inflight_messages 0010\nauto_id_prefix 10\n" +
      "persistent_client_expiration 14d\nlog_type error\nlog_type warning\n" +
      "listener 1883\nmax_connections -1\nciphers_tls1.3 TLS_AES_128_GCM_SHA256\n",
  });
  const lines = mosquittoToToml(raw).split("\n");
  for (
    const line of [
      "retain_available = false",
      "max_inflight_messages = 10",
      'auto_id_prefix = "10"',
      'persistent_client_expiration = "14d"',
      'log_type = ["error", "warning"]',
      "port = 1883",
      "max_connections = -1",
      '"ciphers_tls1.3" = "TLS_AES_128_GCM_SHA256"',
    ]
  ) {
    assert.ok(lines.includes(line), line);
  }
  assert.ok(lines.includes("# from m.conf:5, 6"));
});

Deno.test("mosquittoToToml: a repeated single-value option keeps the last value and notes the others", () => {
  const raw = parseMosquittoConf({ file: "m.conf", text: "max_keepalive 10\nmax_keepalive 20\n" });
  const lines = mosquittoToToml(raw).split("\n");
  const at = lines.indexOf("max_keepalive = 20");
  assert.deepEqual(lines.slice(at - 2, at), [
    "# from m.conf:2",
    "# also set at m.conf:1 to 10; the last one wins",
  ]);
});

Deno.test("tomlString escapes what TOML requires and round-trips through the parser", () => {
  assert.equal(tomlString('a "b" \\c\td\u0001'), '"a \\"b\\" \\\\c\\td\\u0001"');
  const nasty = 'C:\\path with "quotes"\tand\u007fdel é';
  const raw = parseMosquittoConf({ file: "m.conf", text: `pid_file ${nasty}\n` });
  const back = parseTomlConfig(mosquittoToToml(raw), "m.toml");
  assert.deepEqual(back.general.entries.get("pid_file")?.map((e) => e.value), [nasty]);
});

Deno.test("mosquittoToToml: unknown options and bad values are kept as UNKNOWN comments", async () => {
  const file = join(FIXTURES, "unknown.conf");
  const { toml, unconverted } = convertMosquitto(await readMosquittoConf(file));
  const lines = toml.split("\n");
  assert.ok(lines.includes(`# UNKNOWN: max_conections 10 (${file}:2)`), toml);
  assert.ok(lines.includes("# Not converted: unknown option; did you mean max_connections?"));
  assert.ok(lines.includes(`# UNKNOWN: colour blue (${file}:3)`));
  assert.deepEqual(unconverted.map(formatProblem), [
    `${file}:2: max_conections: not converted: unknown option; did you mean max_connections?`,
    `${file}:3: colour: not converted: unknown option`,
  ]);
  // The rest converts and validates.
  const config = validateConfig(parseTomlConfig(toml, "unknown.toml"), FACTS);
  assert.deepEqual(config.listeners.map((l) => l.port), [1883]);

  const bad = parseMosquittoConf({
    file: "m.conf",
    text: "max_keepalive lots\nlog_dest stdout\nlog_dest paper\ntopic x out 0\n" +
      "listener 1883\nmax_topic_alias many\n",
  });
  const converted = convertMosquitto(bad);
  const badLines = converted.toml.split("\n");
  for (
    const line of [
      "# UNKNOWN: max_keepalive lots (m.conf:1)",
      "# UNKNOWN: log_dest paper (m.conf:3)",
      'log_dest = ["stdout"]',
      "# UNKNOWN: topic x out 0 (m.conf:4)",
      "# Not converted: a bridge option outside a bridge (no connection line before it).",
      "# UNKNOWN: max_topic_alias many (m.conf:6)",
    ]
  ) {
    assert.ok(badLines.includes(line), `${line}\n${converted.toml}`);
  }
  assert.deepEqual(converted.unconverted.map((p) => p.origin.line), [1, 3, 4, 6]);
  parseTomlConfig(converted.toml, "bad.toml"); // still TOML
});

Deno.test("mosquittoToToml: per-listener security keys are written inside their listener", async () => {
  const toml = mosquittoToToml(await readMosquittoConf(join(FIXTURES, "per_listener_true.conf")));
  const lines = toml.split("\n");
  const security = lines.indexOf("[security]");
  const firstListener = lines.indexOf("[[listener]]");
  assert.ok(security >= 0 && firstListener > security);
  assert.ok(lines.indexOf("per_listener_settings = true") > security);
  const anonymous = lines.map((l, i) => [l, i] as const).filter(([l]) =>
    l.startsWith("allow_anonymous")
  );
  assert.deepEqual(anonymous.map(([l]) => l), [
    "allow_anonymous = true",
    "allow_anonymous = false",
  ]);
  assert.ok(anonymous.every(([, i]) => i > firstListener));
});

Deno.test("mosquittoToToml: the default listener and its implied port are explained", async () => {
  const toml = mosquittoToToml(await readMosquittoConf(join(FIXTURES, "default_options.conf")));
  assert.match(toml, /# The default listener: /);
  assert.match(toml, /# Mosquitto's default port: this listener had no port line\.\nport = 1883\n/);
  assert.match(toml, /\n# listener 8884 \(.*default_options\.conf:7\)\n\[\[listener\]\]\n/);
});

Deno.test("midge convert FILE prints the TOML and exits 0", async () => {
  const c = capture();
  const file = join(FIXTURES, "listeners.conf");
  assert.equal(await runCli(["convert", file], c.io), 0);
  assert.deepEqual(c.err, []);
  assert.equal(c.out.length, 1);
  const config = validateConfig(parseTomlConfig(c.out[0], "out.toml"), FACTS);
  assert.deepEqual(config.listeners.map((l) => l.port), [1883, 1884, 1885]);
});

Deno.test("midge convert names each unconverted line on stderr and exits 1", async () => {
  const c = capture();
  const file = join(FIXTURES, "unknown.conf");
  assert.equal(await runConvert([file], c.io), 1);
  assert.match(c.out[0], /# UNKNOWN: colour blue/);
  assert.deepEqual(c.err, [
    `${file}:2: max_conections: not converted: unknown option; did you mean max_connections?`,
    `${file}:3: colour: not converted: unknown option`,
    `midge convert: 2 lines of ${file} could not be converted; they are kept as "# UNKNOWN:" ` +
    "comments and the TOML is incomplete.",
  ]);
});

Deno.test("midge convert: structural problems go to stderr, one per line, exit 1", async () => {
  const c = capture();
  const file = join(FIXTURES, "include_missing.conf");
  assert.equal(await runConvert([file], c.io), 1);
  assert.deepEqual(c.out, []);
  assert.equal(c.err.length, 1);
  assert.match(c.err[0], new RegExp(`^${file}:2: include_dir: cannot read directory `));
  const missing = capture();
  assert.equal(await runConvert(["/no/such/file.conf"], missing.io), 1);
  assert.deepEqual(missing.err, ["/no/such/file.conf: cannot read: No such file or directory"]);
});

Deno.test("midge convert: usage errors exit 1 with the usage line; --help exits 0", async () => {
  for (
    const args of [[], ["a.conf", "b.conf"], ["-x", "a.conf"], ["midge.toml"]]
  ) {
    const c = capture();
    assert.equal(await runConvert(args, c.io), 1, args.join(" "));
    assert.equal(c.err.length, 2, args.join(" "));
    assert.equal(c.err[1], "Usage: midge convert FILE");
  }
  const h = capture();
  assert.equal(await runConvert(["--help"], h.io), 0);
  assert.match(h.out[0], /^Usage: midge convert FILE/);
  const help = capture();
  assert.equal(await runCli(["help"], help.io), 0);
  assert.match(help.out.join("\n"), /^ {2}convert /m);
});
