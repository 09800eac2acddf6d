/**
 * SIGHUP through `Broker.reconfigure` in a real process: listeners are matched by address and
 * port, so a file that lists them in another order changes the security of the right one, and
 * a listener added to the file is reported and opened only at a restart.
 */

import assert from "node:assert/strict";
import { ReasonCode } from "../../src/codec/mod.ts";
import { connect, waitFor } from "../integration/harness.ts";
import { accepts, freePort } from "../fixtures/net.ts";
import { ended, readOr, spawnMidge } from "../fixtures/midge_process.ts";

Deno.test("SIGHUP matches listeners by address and port: reordered, one closed to anonymous, one added", async () => {
  const dir = await Deno.makeTempDir();
  const [portA, portB, portC] = [freePort(), freePort(), freePort()];
  const file = `${dir}/mosquitto.conf`;
  const logFile = `${dir}/midge.log`;
  const listener = (port: number, anonymous: boolean) =>
    `listener ${port} 127.0.0.1\nallow_anonymous ${anonymous}\n`;
  const write = (listeners: string) =>
    Deno.writeTextFile(file, `log_dest file ${logFile}\nper_listener_settings true\n${listeners}`);
  await write(listener(portA, true) + listener(portB, true));
  const child = spawnMidge(file);
  const log = () => readOr(logFile);
  try {
    await waitFor(async () => (await log()).includes("running"), "the broker to start", 20_000);
    // B first now, A closed to anonymous clients, and C new.
    await write(listener(portB, true) + listener(portA, false) + listener(portC, true));
    child.kill("SIGHUP");
    await waitFor(async () => (await log()).includes("Not reloaded"), "the reload", 10_000);
    const text = await log();
    assert.match(
      text,
      new RegExp(
        `Reloaded listener 127\\.0\\.0\\.1 port ${portA} allow_anonymous: true -> false\\.`,
      ),
    );
    assert.doesNotMatch(text, new RegExp(`listener 127\\.0\\.0\\.1 port ${portB} allow_anonymous`));
    assert.match(
      text,
      new RegExp(
        `Not reloaded \\(restart to apply\\): listener 127\\.0\\.0\\.1 port ${portC}: added\\.`,
      ),
    );
    const onA = await connect(portA, { protocolVersion: 5, clientId: "a" });
    assert.equal(onA.connack.reasonCode, ReasonCode.NotAuthorized);
    await onA.client.close();
    const onB = await connect(portB, { protocolVersion: 5, clientId: "b" });
    assert.equal(onB.connack.reasonCode, 0);
    await onB.client.close();
    assert.equal(await accepts(portC), false);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  } finally {
    await ended(child);
    await Deno.remove(dir, { recursive: true });
  }
});
