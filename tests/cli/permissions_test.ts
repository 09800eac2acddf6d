import assert from "node:assert/strict";
import { refusedPermissionLine } from "../../src/cli/permissions.ts";
import { rootWarning } from "../../src/cli/root_warning.ts";
import { accepts, freePort } from "../fixtures/net.ts";
import { commandWords, readmeShellBlock, REPO } from "./readme_commands.ts";
import { openNotifySocket } from "./notify_socket.ts";

/** The places the README's command names, and where a test puts them. */
const PLACES = ["/etc/midge", "/var/lib/midge", "/var/log/midge", "/run/midge", "/tmp"];
/** systemd's notification socket, which a test replaces with its own. */
const NOTIFY = "/run/systemd/notify";

/** A broker's files under `dir`, as the README lays them out, with a typical configuration. */
async function typicalBroker(dir: string, port: number, httpPort: number): Promise<void> {
  for (const place of PLACES) await Deno.mkdir(`${dir}${place}`, { recursive: true });
  await Deno.writeTextFile(`${dir}/etc/midge/passwd`, ""); // users come from here
  await Deno.writeTextFile(
    `${dir}/etc/midge/midge.toml`,
    `pid_file = "${dir}/run/midge/midge.pid"\n\n` +
      `[log]\nlog_dest = ["stderr", "file ${dir}/var/log/midge/midge.log"]\n\n` +
      `[persistence]\npersistence = true\npersistence_location = "${dir}/var/lib/midge/"\n\n` +
      `[security]\npassword_file = "${dir}/etc/midge/passwd"\nallow_anonymous = true\n\n` +
      `[[listener]]\nport = ${port}\nbind_address = "127.0.0.1"\n\n` +
      `[[listener]]\nport = ${httpPort}\nbind_address = "127.0.0.1"\nprotocol = "http"\n`,
  );
}

/** The README's narrow command, its places moved under `dir` (`/tmp` too, through TMPDIR). */
async function narrowCommand(dir: string, notifySocket: string): Promise<string[]> {
  const words = commandWords(await readmeShellBlock("deno run --allow-net"));
  assert.equal(words[0], "deno");
  const place = new RegExp(`(?<=[=,]|^)(${[...PLACES, NOTIFY].join("|")})(?=[,/]|$)`, "g");
  const moved = (path: string) => path === NOTIFY ? notifySocket : `${dir}${path}`;
  return words.slice(1).map((word) =>
    word === "main.ts" ? `${REPO}main.ts` : word.replace(place, moved)
  );
}

/** Run `deno ARGS` in the background, with `NOTIFY_SOCKET` and `TMPDIR` set. */
function start(args: string[], dir: string, notifySocket: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", NOTIFY_SOCKET: notifySocket, TMPDIR: `${dir}/tmp` },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

Deno.test("the README's narrow permissions run a broker with persistence, an HTTP listener, a log file, a pid file and systemd's notification", async () => {
  const dir = await Deno.makeTempDir({ prefix: "midge-permissions-" });
  const notify = openNotifySocket(`${dir}/notify`);
  const port = freePort();
  await typicalBroker(dir, port, freePort());
  const child = start(await narrowCommand(dir, notify.name), dir, notify.name);
  const stderr = new Response(child.stderr).text();
  try {
    assert.equal(await notify.next(30_000), "READY=1");
    assert.ok(await accepts(port));
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0, await stderr);
    const log = await stderr;
    assert.doesNotMatch(log, /Error|NotCapable/);
    if (Deno.uid() === 0) assert.match(log, /Warning: Running as root: .*User=/);
    assert.match(await Deno.readTextFile(`${dir}/var/log/midge/midge.log`), /running/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await child.status;
    await stderr;
    notify.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a permission left out stops the start with one line naming the flag to add and exit status 1, not a stack", async () => {
  const dir = await Deno.makeTempDir({ prefix: "midge-permissions-" });
  const notify = openNotifySocket(`${dir}/notify`);
  await typicalBroker(dir, freePort(), freePort());
  const full = await narrowCommand(dir, notify.name);
  try {
    for (const left of ["--allow-sys=uid", "--allow-env=NOTIFY_SOCKET"]) {
      const child = start(full.filter((word) => word !== left), dir, notify.name);
      const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
      assert.equal(status.code, 1, left);
      const errors = stderr.split("\n").filter((line) => !/^\d+: /.test(line) && line !== "");
      assert.equal(errors.length, 1, stderr); // the broker's log lines aside, one line
      assert.match(errors[0], /^Error: Midge needs \w+ access to "\w+": add /);
      assert.ok(errors[0].includes(`add ${left} to the deno run flags`), errors[0]);
    }
  } finally {
    notify.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refusedPermissionLine reads Deno's refusal; other errors are not its business", () => {
  const refusal = new Deno.errors.NotCapable(
    'Requires net access to "0.0.0.0:1883", run again with the --allow-net flag',
  );
  assert.match(
    refusedPermissionLine(refusal)!,
    /^Error: Midge needs net access to "0\.0\.0\.0:1883": add --allow-net=0\.0\.0\.0:1883 /,
  );
  assert.equal(refusedPermissionLine(new Error("Requires net access")), undefined);
});

Deno.test("running as root without `user root` gets a warning naming User=; with it, or as another user, none", () => {
  assert.match(
    rootWarning(undefined, { isRoot: true })!,
    /^Running as root: .*User= in the systemd unit/,
  );
  assert.equal(rootWarning("root", { isRoot: true }), undefined);
  assert.equal(rootWarning(undefined, { isRoot: false }), undefined);
});
