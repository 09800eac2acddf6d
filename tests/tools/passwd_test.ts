/**
 * `midge passwd` as `mosquitto_passwd` 2.0.11: a table of command lines run by both in two
 * temporary directories (same exit code, same stderr, same stdout but for the usage text,
 * equivalent files); the differences Midge makes on purpose, run by both too; and behaviours
 * of Midge's own (prompts, permissions, atomic replacement, a real terminal).
 */

import assert from "node:assert/strict";
import { PasswordFile } from "../../src/auth/password_file.ts";
import type { PromptInput } from "../../src/auth/password_prompt.ts";
import { runPasswd } from "../../src/tools/passwd.ts";
import { capture } from "../fixtures/cli_io.ts";
import { interopTest } from "../interop/helpers.ts";
import {
  type CommandResult,
  MOSQUITTO_PASSWD,
  PYTHON_PTY,
  runCommand,
  runOnTerminal,
} from "../auth/mosquitto_tools.ts";
import {
  filesOf,
  PARITY,
  type ParityCase,
  prepare,
  type Setup,
  structure,
} from "../auth/passwd_cases.ts";
import { MOSQUITTO_FILE } from "../auth/vectors.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "midge_passwd_" }));
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function usageLines(text: string): string[] {
  return text.split("\n").filter((l) => /^(Usage: | {7})mosquitto_passwd /.test(l));
}

async function runBoth(c: ParityCase, dirs: { mosquitto: string; midge: string }) {
  for (const dir of [dirs.mosquitto, dirs.midge]) await prepare(dir, c.setup ?? {});
  const [mosquitto, midge] = await Promise.all([
    runCommand("mosquitto_passwd", c.args, { cwd: dirs.mosquitto, input: c.input }),
    runCommand(Deno.execPath(), ["run", "-A", MAIN, "passwd", ...c.args], {
      cwd: dirs.midge,
      input: c.input,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }),
  ]);
  const normal = (r: CommandResult, dir: string): CommandResult => ({
    ...r,
    stderr: r.stderr.replaceAll(dir, "DIR"),
  });
  return { mosquitto: normal(mosquitto, dirs.mosquitto), midge: normal(midge, dirs.midge) };
}

async function assertLogins(dir: string, logins: [string, string][], what: string) {
  if (logins.length === 0) return;
  const file = await PasswordFile.load(`${dir}/pw`);
  for (const [user, password] of logins) {
    assert.equal(await file.verify(user, encoder.encode(password)), "ok", `${what}: ${user}`);
  }
}

interopTest({
  name:
    "midge passwd and mosquitto_passwd: same exit codes, messages and files for each command line",
  needs: [MOSQUITTO_PASSWD],
  async fn() {
    await withDir(async (root) => {
      const failures: string[] = [];
      // Four cases at a time: each runs two processes.
      for (let i = 0; i < PARITY.length; i += 4) {
        await Promise.all(
          PARITY.slice(i, i + 4).map(async (c, j) => {
            const dirs = { mosquitto: `${root}/m${i + j}`, midge: `${root}/d${i + j}` };
            await Deno.mkdir(dirs.mosquitto);
            await Deno.mkdir(dirs.midge);
            const { mosquitto, midge } = await runBoth(c, dirs);
            const problems: string[] = [];
            if (midge.code !== mosquitto.code) {
              problems.push(`exit ${midge.code}, mosquitto_passwd ${mosquitto.code}`);
            }
            if (midge.stderr !== mosquitto.stderr) {
              problems.push(
                `stderr ${JSON.stringify(midge.stderr)}, mosquitto_passwd ${
                  JSON.stringify(mosquitto.stderr)
                }`,
              );
            }
            const [mOut, dOut] = c.usage
              ? [usageLines(mosquitto.stdout), usageLines(midge.stdout)]
              : [[mosquitto.stdout], [midge.stdout]];
            if (c.usage && mOut.length !== 3) problems.push(`usage of mosquitto_passwd: ${mOut}`);
            if (JSON.stringify(mOut) !== JSON.stringify(dOut)) {
              problems.push(
                `stdout ${JSON.stringify(dOut)}, mosquitto_passwd ${JSON.stringify(mOut)}`,
              );
            }
            const [mFiles, dFiles] = [await filesOf(dirs.mosquitto), await filesOf(dirs.midge)];
            const shape = (files: Record<string, string>) =>
              JSON.stringify(Object.entries(files).sort().map(([n, t]) => [n, structure(t)]));
            if (shape(mFiles) !== shape(dFiles)) {
              problems.push(`files ${shape(dFiles)}, mosquitto_passwd ${shape(mFiles)}`);
            }
            for (const name of Object.keys(c.setup ?? {})) {
              const [m, d] = await Promise.all(
                [dirs.mosquitto, dirs.midge].map((dir) => Deno.lstat(`${dir}/${name}`)),
              );
              if (m.isSymlink !== d.isSymlink) problems.push(`${name}: a link in one only`);
              if (m.isFile && d.isFile && m.mode !== d.mode) {
                problems.push(
                  `${name}: mode ${d.mode?.toString(8)}, mosquitto_passwd ${m.mode?.toString(8)}`,
                );
              }
            }
            try {
              await assertLogins(dirs.mosquitto, c.logins ?? [], "mosquitto_passwd's file");
              await assertLogins(dirs.midge, c.logins ?? [], "midge's file");
            } catch (error) {
              problems.push(String(error));
            }
            if (problems.length > 0) {
              failures.push(
                `${c.name} [${c.args.join(" ").slice(0, 80)}]:\n  ${problems.join("\n  ")}`,
              );
            }
          }),
        );
      }
      assert.deepStrictEqual(failures, []);
    });
  },
});

/** A difference Midge makes on purpose: what each program does with the same command line. */
interface Difference {
  /** What differs. */
  name: string;
  /** Arguments. */
  args: string[];
  /** Files to start with. */
  setup: Setup;
  /** Check what mosquitto_passwd did, and what midge passwd did, in their directories. */
  check(dir: string, r: CommandResult, midge: boolean): Promise<void>;
}

const DIFFERENCES: Difference[] = [
  {
    name: "a new file is 0600 (mosquitto_passwd 2.0.11: 0666 less the umask)",
    args: ["-c", "-b", "pw", "u", "p"],
    setup: {},
    async check(dir, r, midge) {
      assert.equal(r.code, 0);
      const mode = (await Deno.stat(`${dir}/pw`)).mode! & 0o777;
      if (midge) assert.equal(mode, 0o600);
      else assert.equal(mode, 0o666 & ~Deno.umask());
    },
  },
  {
    name: "comment and blank lines are kept (mosquitto_passwd: corrupt, exit 1)",
    args: ["-D", "pw", "bob"],
    setup: { pw: "# users\nalice:x\n\nbob:y\n" },
    async check(dir, r, midge) {
      const text = await Deno.readTextFile(`${dir}/pw`);
      if (midge) {
        assert.equal(r.code, 0);
        assert.equal(text, "# users\nalice:x\n\n");
      } else {
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          "Error: Corrupt password file at line 1.\n" +
            "Warning: User bob not found in password file.\n",
        );
      }
    },
  },
  {
    name: "a corrupt line leaves the file alone (mosquitto_passwd: exit 0, lines from it on lost)",
    args: ["-b", "pw", "carol", "p"],
    setup: { pw: "alice:x\nbroken\nbob:y\n" },
    async check(dir, r, midge) {
      assert.equal(r.stderr, "Error: Corrupt password file at line 2.\n");
      const lines = (await Deno.readTextFile(`${dir}/pw`)).split("\n");
      if (midge) {
        assert.equal(r.code, 1);
        assert.deepStrictEqual(lines, ["alice:x", "broken", "bob:y", ""]);
      } else {
        assert.equal(r.code, 0);
        assert.equal(lines.length, 3);
        assert.equal(lines[0], "alice:x");
        assert.match(lines[1], /^carol:\$7\$/);
      }
    },
  },
  {
    name: "a last line without a newline gets one (mosquitto_passwd: the next line is glued on)",
    args: ["-b", "pw", "carol", "p"],
    setup: { pw: "bob:y" },
    async check(dir, r, midge) {
      assert.equal(r.code, 0);
      const text = await Deno.readTextFile(`${dir}/pw`);
      assert.match(text, midge ? /^bob:y\ncarol:\$7\$/ : /^bob:ycarol:\$7\$/);
    },
  },
  {
    name: "an empty username is refused (mosquitto_passwd writes ':HASH', unusable)",
    args: ["-c", "-b", "pw", "", "p"],
    setup: {},
    async check(dir, r, midge) {
      if (midge) {
        assert.equal(r.code, 1);
        assert.equal(r.stderr, "Error: Username must not be empty.\n");
        await assert.rejects(() => Deno.stat(`${dir}/pw`), Deno.errors.NotFound);
      } else {
        assert.equal(r.code, 0);
        assert.match(await Deno.readTextFile(`${dir}/pw`), /^:\$7\$/);
      }
    },
  },
  {
    name: "the file is replaced, not rewritten in place (a new inode)",
    args: ["-b", "pw", "carol", "p"],
    setup: { pw: "alice:x\n" },
    async check(dir, r, midge) {
      assert.equal(r.code, 0);
      const ino = (await Deno.stat(`${dir}/pw`)).ino;
      const before = Number(await Deno.readTextFile(`${dir}/ino`).catch(() => "0"));
      if (midge) assert.notEqual(ino, before);
      else assert.equal(ino, before);
    },
  },
];

interopTest({
  name: "midge passwd and mosquitto_passwd: the differences Midge makes on purpose",
  needs: [MOSQUITTO_PASSWD],
  async fn() {
    await withDir(async (root) => {
      for (const [i, d] of DIFFERENCES.entries()) {
        for (const midge of [false, true]) {
          const dir = `${root}/${midge ? "d" : "m"}${i}`;
          await Deno.mkdir(dir);
          await prepare(dir, d.setup);
          if (d.setup.pw !== undefined) {
            await Deno.writeTextFile(`${dir}/ino`, String((await Deno.stat(`${dir}/pw`)).ino));
          }
          const r = midge
            ? await runCommand(Deno.execPath(), ["run", "-A", MAIN, "passwd", ...d.args], {
              cwd: dir,
              env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
            })
            : await runCommand("mosquitto_passwd", d.args, { cwd: dir });
          try {
            await d.check(dir, r, midge);
          } catch (error) {
            if (error instanceof Error) {
              error.message = `${d.name}, ${
                midge ? "midge" : "mosquitto_passwd"
              }: ${error.message}`;
            }
            throw error;
          }
        }
      }
    });
  },
});

/** Standard input that is not a terminal and yields `text`. */
function pipedInput(text: string): PromptInput {
  let data: Uint8Array | undefined = encoder.encode(text);
  return {
    isTerminal: () => false,
    setRaw: () => {
      throw new Error("not a terminal");
    },
    read(buffer) {
      if (data === undefined || data.length === 0) return Promise.resolve(null);
      const n = Math.min(buffer.length, data.length);
      buffer.set(data.subarray(0, n));
      data = data.subarray(n);
      return Promise.resolve(n);
    },
  };
}

Deno.test("runPasswd: prompts on stdout, the password twice, then writes the file 0600", async () => {
  await withDir(async (dir) => {
    const c = capture();
    const code = await runPasswd(["-c", `${dir}/pw`, "alice"], c.io, {
      stdin: pipedInput("secret\nsecret\n"),
    });
    assert.equal(code, 0, c.err.join("\n"));
    assert.deepStrictEqual(c.out, ["Password: ", "Reenter password: "]);
    assert.deepStrictEqual(c.err, []);
    assert.equal((await Deno.stat(`${dir}/pw`)).mode! & 0o777, 0o600);
    const file = await PasswordFile.load(`${dir}/pw`);
    assert.equal(await file.verify("alice", encoder.encode("secret")), "ok");
  });
});

Deno.test("runPasswd: with io.write, prompts end without a newline until a line is read", async () => {
  await withDir(async (dir) => {
    let written = "";
    const c = capture();
    const io = {
      ...c.io,
      write: (data: Uint8Array) => void (written += new TextDecoder().decode(data)),
    };
    assert.equal(await runPasswd(["-c", `${dir}/pw`, "u"], io, { stdin: pipedInput("p\n") }), 1);
    assert.equal(written, "Password: \nReenter password: ");
    assert.deepStrictEqual(c.err, ["Error: Empty password."]);
    await assert.rejects(() => Deno.stat(`${dir}/pw`), Deno.errors.NotFound);
  });
});

Deno.test("runPasswd: Ctrl-C on a terminal exits 130 and leaves the file alone", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/pw`, MOSQUITTO_FILE);
    const raw: boolean[] = [];
    let sent = false;
    const terminal: PromptInput = {
      isTerminal: () => true,
      setRaw: (mode) => void raw.push(mode),
      read(buffer) {
        if (sent) return Promise.resolve(null);
        sent = true;
        buffer.set(encoder.encode("ab\x03"));
        return Promise.resolve(3);
      },
    };
    const c = capture();
    assert.equal(await runPasswd([`${dir}/pw`, "alice"], c.io, { stdin: terminal }), 130);
    assert.deepStrictEqual(raw, [true, false]);
    assert.equal(await Deno.readTextFile(`${dir}/pw`), MOSQUITTO_FILE);
  });
});

Deno.test("runPasswd: an existing file keeps its mode, a link stays a link, no temporary file stays", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/pw`, MOSQUITTO_FILE);
    await Deno.chmod(`${dir}/pw`, 0o640);
    await Deno.symlink("pw", `${dir}/link`);
    const c = capture();
    assert.equal(await runPasswd(["-b", `${dir}/link`, "dave", "pw"], c.io), 0, c.err.join());
    assert.equal(await runPasswd(["-D", `${dir}/link`, "bob"], c.io), 0, c.err.join());
    assert.ok((await Deno.lstat(`${dir}/link`)).isSymlink);
    assert.equal((await Deno.stat(`${dir}/pw`)).mode! & 0o777, 0o640);
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepStrictEqual(names.sort(), ["link", "pw"]);
    const file = await PasswordFile.load(`${dir}/pw`);
    assert.equal(await file.verify("dave", encoder.encode("pw")), "ok");
    assert.equal(await file.verify("bob", encoder.encode("p@ss wörd")), "unknown user");
    assert.equal(await file.verify("alice", encoder.encode("secret")), "ok");
  });
});

Deno.test("runPasswd: the usage names the program it runs as", async () => {
  const c = capture();
  assert.equal(await runPasswd([], c.io, { program: "midge passwd" }), 1);
  assert.match(c.out.join("\n"), /^Usage: midge passwd \[-H sha512/m);
  assert.deepStrictEqual(c.err, []);
});

interopTest({
  name: "midge passwd on a terminal: nothing echoed, Backspace works, the prompts end their lines",
  needs: [PYTHON_PTY],
  async fn() {
    await withDir(async (dir) => {
      const { out, code } = await runOnTerminal(
        [Deno.execPath(), "run", "-A", MAIN, "passwd", "-c", `${dir}/pw`, "alice"],
        ["se\x7fecret\r", "secret\r"],
      );
      assert.equal(code, 0, out);
      assert.equal(out, "Password: \r\nReenter password: \r\n");
      const file = await PasswordFile.load(`${dir}/pw`);
      assert.equal(await file.verify("alice", encoder.encode("secret")), "ok");
    });
  },
});
