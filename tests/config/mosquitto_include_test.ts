import assert from "node:assert/strict";
import { join } from "node:path";
import {
  compareIncludeNames,
  isDefaultListener,
  readMosquittoConf,
} from "../../src/config/mosquitto_conf.ts";
import { validateConfig } from "../../src/config/validate.ts";
import {
  FACTS,
  fixture,
  FIXTURES,
  origins,
  parse,
  ports,
  problemsOfAsync,
  values,
} from "./mosquitto_helpers.ts";

Deno.test("compareIncludeNames: Mosquitto's order, upper case before lower case of a letter", () => {
  const names = ["b.conf", "A.conf", "01.conf", "a.conf", "B.conf", "00.conf"];
  assert.deepEqual(names.sort(compareIncludeNames), [
    "00.conf",
    "01.conf",
    "A.conf",
    "a.conf",
    "B.conf",
    "b.conf",
  ]);
  // Character by character, as mosquitto 2.0.11 loads them.
  const more = ["_x", "z0", "Z1", "b", "B", "a_", "ab", "aB", "aa", "a", "Ab", "A", "9", "10"];
  const sorted = more.map((n) => `${n}.conf`).sort(compareIncludeNames);
  assert.deepEqual(sorted.map((n) => n.slice(0, -5)), [
    "10",
    "9",
    "A",
    "Ab",
    "a",
    "aa",
    "aB",
    "ab",
    "a_",
    "B",
    "b",
    "Z1",
    "z0",
    "_x",
  ]);
});

// In a temporary directory: A.conf and a.conf cannot both live in a repository checked out on
// a case-insensitive file system.
Deno.test("include_dir loads *.conf files in Mosquitto's order, where the line is", async () => {
  const dir = await Deno.makeTempDir({ prefix: "midge_include_" });
  try {
    await Deno.mkdir(join(dir, "conf.d"));
    const names = ["b.conf", "A.conf", "01.conf", "a.conf", "B.conf", "00.conf"];
    for (const [i, name] of names.entries()) {
      await Deno.writeTextFile(join(dir, "conf.d", name), `# ${name}\nlistener ${2000 + i}\n`);
    }
    await Deno.writeTextFile(join(dir, "conf.d", "README"), "listener 1\n");
    await Deno.writeTextFile(join(dir, "conf.d", "old.conf~"), "listener 2\n");
    await Deno.writeTextFile(join(dir, "conf.d", ".conf"), "listener 3\n");
    const main = join(dir, "main.conf");
    await Deno.writeTextFile(main, "listener 1883\ninclude_dir conf.d\nlistener 1999\n");
    const raw = await readMosquittoConf(main);
    const where = raw.listeners.map((l) =>
      `${l.origin.file.slice(dir.length + 1)}:${l.origin.line}`
    );
    assert.deepEqual(where, [
      "main.conf:1",
      "conf.d/00.conf:2",
      "conf.d/01.conf:2",
      "conf.d/A.conf:2",
      "conf.d/a.conf:2",
      "conf.d/B.conf:2",
      "conf.d/b.conf:2",
      "main.conf:3",
    ]);
    const config = validateConfig(raw, FACTS);
    assert.deepEqual(ports(config), [1883, 2005, 2002, 2001, 2003, 2004, 2000, 1999]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("several include_dir lines: each directory completely, in the order written", async () => {
  const raw = await readMosquittoConf(fixture("include_multi.conf"));
  assert.deepEqual(raw.listeners.map((l) => l.origin.file.slice(FIXTURES.length)), [
    "include_multi.conf",
    "multi.d/one.d/B.conf",
    "multi.d/one.d/C.conf",
    "multi.d/two.d/A.conf",
    "multi.d/two.d/D.conf",
  ]);
  const config = validateConfig(raw, FACTS);
  assert.deepEqual(ports(config), [1883, 2001, 2002, 2003, 2004]);
  // After the include_dir lines the main file is still in its own listener.
  assert.deepEqual(config.listeners.map((l) => l.max_connections), [7, -1, -1, 3, -1]);
});

Deno.test("an included file starts with no listener and no bridge open, as in Mosquitto", () => {
  const raw = parse(
    "listener 1884\nconnection b\ninclude_dir d\nmax_connections 2\ntopic y in 0\n",
    { d: { "tls.conf": "socket_domain ipv4\ntopic x out 0\n" } },
  );
  assert.deepEqual(values(raw.listeners[0], "max_connections"), ["2"]);
  assert.equal(raw.listeners[0].entries.has("socket_domain"), false);
  assert.ok(isDefaultListener(raw.listeners[1]));
  assert.deepEqual(origins(raw.listeners[1], "socket_domain"), ["d/tls.conf:1"]);
  assert.deepEqual(values(raw.bridges[0], "topic"), ["y in 0"]);
  assert.deepEqual(origins(raw.general, "topic"), ["d/tls.conf:2"]);
});

Deno.test("include_dir inside an included file is refused", async () => {
  assert.deepEqual(await problemsOfAsync(() => readMosquittoConf(fixture("include_nested.conf"))), [
    `${fixture("nested.d/inner.conf")}:2: include_dir: include_dir is only allowed in the main ` +
    "configuration file",
  ]);
});

Deno.test("include_dir of a missing directory is a problem at its line", async () => {
  const problems = await problemsOfAsync(() => readMosquittoConf(fixture("include_missing.conf")));
  assert.deepEqual(problems, [
    `${fixture("include_missing.conf")}:2: include_dir: cannot read directory ` +
    `${fixture("no-such.d")}: No such file or directory`,
  ]);
});

Deno.test("include_dir refuses a directory holding the main file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "midge_include_" });
  try {
    await Deno.writeTextFile(join(dir, "main.conf"), "include_dir .\n");
    const problems = await problemsOfAsync(() => readMosquittoConf(join(dir, "main.conf")));
    assert.deepEqual(problems, [
      `${dir}/main.conf:1: include_dir: ${dir} must not contain the main configuration file`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an include_dir file that cannot be read is a problem at the include_dir line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "midge_include_" });
  try {
    await Deno.mkdir(join(dir, "conf.d", "dir.conf"), { recursive: true });
    await Deno.writeTextFile(join(dir, "main.conf"), "# main\ninclude_dir conf.d\n");
    const problems = await problemsOfAsync(() => readMosquittoConf(join(dir, "main.conf")));
    assert.equal(problems.length, 1);
    assert.match(problems[0], /main\.conf:2: include_dir: cannot read .*conf\.d\/dir\.conf: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
