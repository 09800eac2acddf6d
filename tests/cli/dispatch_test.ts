import assert from "node:assert/strict";
import { capture } from "../fixtures/cli_io.ts";
import { commandForProgramName, EXIT_USAGE, runCli } from "../../src/cli/dispatch.ts";
import { MIDGE_VERSION } from "../../src/version.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function runMain(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("main.ts passwd with no arguments prints the usage on stdout and exits 1, as mosquitto_passwd does", async () => {
  const r = await runMain("passwd");
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "");
  assert.match(
    r.stdout,
    /^Usage: mosquitto_passwd \[-H sha512 \| -H sha512-pbkdf2\] \[-c \| -D\] passwordfile username$/m,
  );
  assert.match(r.stdout, /^ {7}mosquitto_passwd -U passwordfile$/m);
});

Deno.test("runCli: options without a command mean the broker, as mosquitto -c does", async () => {
  const c = capture();
  assert.equal(await runCli(["-c", "/nonexistent/x.conf"], c.io), 3); // Mosquitto's status
  assert.match(c.err[0], /^\/nonexistent\/x\.conf: cannot read: /);
  assert.equal(c.err[1], "/nonexistent/x.conf: 1 problem; not starting.");
  const b = capture();
  assert.equal(await runCli(["broker", "-p", "70000"], b.io), 3);
  assert.match(b.err[0], /-p: invalid port '70000', must be 1-65535/);
});

Deno.test("runCli: an unknown command exits 2 and points at help", async () => {
  const c = capture();
  assert.equal(await runCli(["publish"], c.io), EXIT_USAGE);
  assert.deepStrictEqual(c.err, [
    "midge: unknown command 'publish'. Run 'midge help' for the list of commands.",
  ]);
});

Deno.test("runCli: help lists every command and version prints the version", async () => {
  const c = capture();
  assert.equal(await runCli(["--help"], c.io), 0);
  for (const name of ["broker", "pub", "sub", "rr", "passwd"]) {
    assert.match(c.out.join("\n"), new RegExp(`^  ${name} `, "m"));
  }
  const v = capture();
  assert.equal(await runCli(["--version"], v.io), 0);
  assert.deepStrictEqual(v.out, [`midge ${MIDGE_VERSION}`]);
});

Deno.test("commandForProgramName: Mosquitto's tool names, with or without a directory", () => {
  assert.equal(commandForProgramName("/usr/local/bin/mosquitto_pub"), "pub");
  assert.equal(commandForProgramName("mosquitto_sub"), "sub");
  assert.equal(commandForProgramName("C:/bin/mosquitto_rr.exe"), "rr");
  assert.equal(commandForProgramName("/opt/midge/mosquitto_passwd"), "passwd");
  assert.equal(commandForProgramName("/usr/bin/deno"), undefined);
  assert.equal(commandForProgramName("/work/main/main.ts"), undefined);
});

Deno.test("main.ts through a link named mosquitto_rr acts as midge rr", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const link = `${dir}/mosquitto_rr`;
    await Deno.symlink(MAIN, link);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", link, "--help"],
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.match(text, /^Usage: mosquitto_rr /m);
    assert.doesNotMatch(text, /Usage: midge \[broker\]/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
