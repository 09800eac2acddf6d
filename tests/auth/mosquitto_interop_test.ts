/**
 * Password files across Mosquitto and Midge: files written now by Debian's mosquitto_passwd
 * (default and `-H sha512`) are read by PasswordFile; files written by `midge passwd` let
 * mosquitto_pub into the Mosquitto 2.0.11 broker with the right password and not with a wrong
 * one. These fail under `CI` when a Mosquitto program is missing.
 */

import assert from "node:assert/strict";
import { PasswordFile } from "../../src/auth/password_file.ts";
import { runPasswd } from "../../src/tools/passwd.ts";
import { capture } from "../fixtures/cli_io.ts";
import { interopTest } from "../interop/helpers.ts";
import {
  MOSQUITTO_BROKER,
  MOSQUITTO_PASSWD,
  MOSQUITTO_PUB,
  runCommand,
  startMosquitto,
} from "./mosquitto_tools.ts";

const encoder = new TextEncoder();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "midge_passwd_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function mosquittoPasswd(args: string[]): Promise<void> {
  const r = await runCommand("mosquitto_passwd", args);
  assert.equal(r.code, 0, `mosquitto_passwd ${args.join(" ")}: ${r.stderr}`);
}

interopTest({
  name: "PasswordFile reads files that mosquitto_passwd writes, -H sha512 and the default",
  needs: [MOSQUITTO_PASSWD],
  async fn() {
    await withDir(async (dir) => {
      const pw = `${dir}/pw`;
      await mosquittoPasswd(["-c", "-b", pw, "alice", "secret"]);
      await mosquittoPasswd(["-H", "sha512", "-b", pw, "bob", "p@ss wörd"]);
      await mosquittoPasswd(["-H", "sha512-pbkdf2", "-b", pw, "carol", ""]);
      await mosquittoPasswd(["-I", "5", "-b", pw, "dave", "x"]);
      const text = await Deno.readTextFile(pw);
      assert.match(text, /^alice:\$7\$101\$[^$]{16}\$[^$]{88}\nbob:\$6\$[^$]{16}\$[^$]{88}\n/);
      const file = await PasswordFile.load(pw);
      assert.deepStrictEqual(file.problems, []);
      for (
        const [user, password] of [["alice", "secret"], ["bob", "p@ss wörd"], ["carol", ""], [
          "dave",
          "x",
        ]]
      ) {
        assert.equal(await file.verify(user, encoder.encode(password)), "ok", user);
        assert.equal(await file.verify(user, encoder.encode(password + "?")), "bad password", user);
      }
      assert.equal(await file.verify("erin", encoder.encode("secret")), "unknown user");
    });
  },
});

async function login(port: number, user: string, password: string) {
  return await runCommand("mosquitto_pub", [
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-u",
    user,
    "-P",
    password,
    "-t",
    "midge/test",
    "-m",
    "hello",
  ], { timeoutMs: 10_000 });
}

interopTest({
  name: "the Mosquitto 2.0.11 broker accepts files that midge passwd writes ($7$, $6$, -I, -U)",
  needs: [MOSQUITTO_BROKER, MOSQUITTO_PUB],
  async fn() {
    await withDir(async (dir) => {
      const pw = `${dir}/pw`;
      const run = async (...args: string[]) => {
        const c = capture();
        assert.equal(await runPasswd(args, c.io), 0, `${args.join(" ")}: ${c.err.join("\n")}`);
      };
      await run("-c", "-b", pw, "alice", "secret");
      await run("-H", "sha512", "-b", pw, "bob", "p@ss wörd");
      await run("-I", "1000", "-b", pw, "carol", "hunter2");
      await Deno.writeTextFile(pw, "# plain\ndave:plain pw\n", { append: true });
      const plain = `${dir}/plain`;
      await Deno.writeTextFile(plain, "erin:erins\n");
      await run("-U", plain);
      await Deno.writeTextFile(pw, await Deno.readTextFile(plain), { append: true });
      const broker = await startMosquitto(dir, pw);
      let log = "";
      try {
        for (
          const [user, password] of [["alice", "secret"], ["bob", "p@ss wörd"], [
            "carol",
            "hunter2",
          ], ["erin", "erins"]]
        ) {
          const ok = await login(broker.port, user, password);
          assert.equal(ok.code, 0, `${user}: ${ok.stderr}`);
          const wrong = await login(broker.port, user, password + "x");
          assert.equal(wrong.code, 5, `${user} with a wrong password: ${wrong.stderr}`);
          assert.match(wrong.stderr, /not authori[sz]ed/);
        }
        // dave's line holds a plain-text password: Mosquitto leaves it out, as PasswordFile does.
        assert.equal((await login(broker.port, "dave", "plain pw")).code, 5);
        assert.equal((await login(broker.port, "nobody", "secret")).code, 5);
      } finally {
        log = await broker.stop();
      }
      assert.match(log, /Invalid password hash type for user dave, removing entry/);
      const file = await PasswordFile.load(pw);
      assert.deepStrictEqual(file.problems.map((p) => `${p.origin.line}: ${p.message}`), [
        "5: Invalid password hash type for user dave, removing entry.",
      ]);
    });
  },
});
