import assert from "node:assert/strict";
import { accepts, freePort } from "../fixtures/net.ts";
import { openNotifySocket } from "./notify_socket.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Start `midge -p PORT` with `NOTIFY_SOCKET`; check READY=1, then STOPPING=1 at SIGTERM. */
async function readyThenStopping(socketName: (dir: string) => string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "midge-notify-test-" });
  const notify = openNotifySocket(socketName(dir));
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "-p", String(port)],
    env: { NO_COLOR: "1", NOTIFY_SOCKET: notify.name },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    assert.equal(await notify.next(30_000), "READY=1");
    assert.ok(await accepts(port), "the listener is open when READY=1 is sent");
    child.kill("SIGTERM");
    assert.equal(await notify.next(10_000), "STOPPING=1");
    assert.equal((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await child.status;
    notify.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("under systemd (NOTIFY_SOCKET) the broker sends READY=1 once its listeners are open and STOPPING=1 at SIGTERM", async () => {
  await readyThenStopping((dir) => `${dir}/notify`);
});

Deno.test("NOTIFY_SOCKET naming an abstract socket (@name) is notified too", async () => {
  await readyThenStopping((dir) => `@midge-test-${dir.slice(dir.lastIndexOf("/") + 1)}`);
});
