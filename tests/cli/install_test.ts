import assert from "node:assert/strict";
import { freePort } from "../fixtures/net.ts";
import { startTaskFlags } from "../../scripts/release/run_flags.ts";
import { readmeShellBlock, REPO, withThisDeno } from "./readme_commands.ts";

const text = new TextDecoder();

/** Run `command` with `args` and its environment; resolves to status and output. */
async function run(command: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(command, { args, env, cwd: REPO, stdin: "null" }).output();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Lines of `stream` until one matches `wanted` (at most 200 lines, 30 s); the lines read. */
async function readUntil(stream: ReadableStream<Uint8Array>, wanted: RegExp): Promise<string> {
  let seen = "";
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = setTimeout(() => reader.cancel(), 30_000);
  try {
    for (let i = 0; i < 200 && !wanted.test(seen); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
  } finally {
    clearTimeout(deadline);
    await reader.cancel();
  }
  return seen;
}

Deno.test("the README's deno install makes midge and mosquitto_* commands that run the broker and the tools", async () => {
  const root = await Deno.makeTempDir({ prefix: "midge-install-" });
  try {
    const env = withThisDeno({ DENO_INSTALL_ROOT: root });
    const install = await run("sh", ["-e", "-c", await readmeShellBlock("deno install -g")], env);
    assert.equal(install.code, 0, install.stderr);
    const bin = `${root}/bin`;

    const help = await run(`${bin}/midge`, ["--help"], env);
    assert.match(help.stdout, /^Usage: midge \[broker\] \[options\]$/m);
    const pub = await run(`${bin}/midge`, ["pub", "--help"], env);
    assert.match(pub.stdout, /^Usage: mosquitto_pub /m);
    for (const tool of ["pub", "sub", "rr"]) {
      const named = await run(`${bin}/mosquitto_${tool}`, ["--help"], env);
      assert.match(named.stdout, new RegExp(`^Usage: mosquitto_${tool} `, "m"), tool);
    }
    const passwd = await run(`${bin}/mosquitto_passwd`, [], env);
    assert.match(passwd.stdout, /^Usage: mosquitto_passwd /m);

    // The broker with a TOML file (the npm TOML reader) and persistence (Deno KV, unstable).
    const port = freePort();
    await Deno.writeTextFile(
      `${root}/midge.toml`,
      `[persistence]\npersistence = true\npersistence_location = "${root}/"\n\n` +
        `[security]\nallow_anonymous = true\n\n[[listener]]\nport = ${port}\n` +
        `bind_address = "127.0.0.1"\n`,
    );
    const broker = new Deno.Command(`${bin}/midge`, {
      args: ["-c", `${root}/midge.toml`],
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log = await readUntil(broker.stderr, /midge version \S+ running|rror/);
    // The installed command runs with the V8 flags of `deno task start`.
    const cmdline = await Deno.readTextFile(`/proc/${broker.pid}/cmdline`).catch(() => "");
    broker.kill("SIGTERM");
    await broker.status;
    assert.match(log, /Opening the persistence database /);
    assert.match(log, /midge version \S+ running/);
    const v8 = (await startTaskFlags()).find((flag) => flag.startsWith("--v8-flags="));
    assert.ok(v8 !== undefined && cmdline.includes(v8), `${v8} in ${cmdline}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
