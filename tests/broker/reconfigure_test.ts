/**
 * `Broker.reconfigure`: a reload's options replace the running ones whole, and the owners
 * read the new value; the open listeners stay, matched to the new ones by address and port
 * (not by position), and take only their new security.
 */

import assert from "node:assert/strict";
import { ReasonCode } from "../../src/codec/mod.ts";
import type { ListenerOptions, ListenerSecurity } from "../../src/broker/options.ts";
import { ALL_LOG_TYPES, Logger } from "../../src/log/logger.ts";
import { AclFile } from "../../src/auth/acl_file.ts";
import { freePort } from "../fixtures/net.ts";
import { connect, startBroker, waitFor } from "../integration/harness.ts";
import { pub, publishAcked, receive, sub, subscribe } from "../integration/pubsub_helpers.ts";

function securities(
  ...entries: [ListenerOptions, ListenerSecurity][]
): Map<ListenerOptions, ListenerSecurity> {
  return new Map(entries);
}

Deno.test("reconfigure replaces the options whole, reports the changed keys, and CONNECT reads the new value", async () => {
  const tb = startBroker();
  try {
    const before = tb.broker.options;
    const change = tb.broker.reconfigure({ ...before, clientIdPrefixes: "lab-" });
    assert.deepEqual(change.changed, ["clientIdPrefixes"]);
    assert.deepEqual([change.added, change.removed, change.securityChanged], [[], [], []]);
    assert.notEqual(tb.broker.options, before);
    assert.equal(before.clientIdPrefixes, undefined); // the old value is left as it was
    assert.ok(Object.isFrozen(tb.broker.options));
    const refused = await connect(tb.port, { protocolVersion: 5, clientId: "other" });
    assert.equal(refused.connack.reasonCode, ReasonCode.NotAuthorized);
    await refused.client.close();
    const admitted = await connect(tb.port, { protocolVersion: 5, clientId: "lab-1" });
    assert.equal(admitted.connack.reasonCode, 0);
    await admitted.client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("after reconfigure, fan-out reads the new ACL: a subscriber that lost read access gets nothing", async () => {
  const tb = startBroker();
  try {
    const { client: reader } = await connect(tb.port, { clientId: "reader" });
    await subscribe(reader, sub("a/b", 1));
    const { client: writer } = await connect(tb.port, { clientId: "writer" });
    await publishAcked(writer, pub("a/b", "before", { qos: 1, packetId: 1 }));
    const [before] = await receive(reader, 1);
    assert.equal(before.topic, "a/b");
    tb.broker.reconfigure({
      ...tb.broker.options,
      aclFile: AclFile.parse("topic write a/b\n", "acl-reloaded"),
    });
    await publishAcked(writer, pub("a/b", "after", { qos: 1, packetId: 2 }));
    await reader.expectNothing(200);
    await reader.close();
    await writer.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("reconfigure matches listeners by address and port: reordered ones keep their own security", async () => {
  const [portA, portB] = [freePort(), freePort()];
  const a = { host: "127.0.0.1", port: portA };
  const b = { host: "127.0.0.1", port: portB };
  const tb = startBroker({ listeners: [a, b] });
  try {
    // The new configuration lists B first and closes A to anonymous clients.
    const nextA = { host: "127.0.0.1", port: portA };
    const nextB = { host: "127.0.0.1", port: portB };
    const change = tb.broker.reconfigure({
      ...tb.broker.options,
      listeners: [nextB, nextA],
      listenerSecurity: securities([nextA, { allowAnonymous: false }]),
    });
    assert.deepEqual(change.securityChanged, [a]);
    assert.deepEqual([change.added, change.removed], [[], []]);
    assert.deepEqual(tb.broker.options.listeners, [a, b]); // the open ones, same objects
    const onA = await connect(portA, { protocolVersion: 5, clientId: "x" });
    assert.equal(onA.connack.reasonCode, ReasonCode.NotAuthorized);
    await onA.client.close();
    const onB = await connect(portB, { protocolVersion: 5, clientId: "y" });
    assert.equal(onB.connack.reasonCode, 0);
    await onB.client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("reconfigure opens no added listener and closes no removed one; a removed one keeps its security", async () => {
  const [kept, gone, added] = [freePort(), freePort(), freePort()];
  const keptListener = { host: "127.0.0.1", port: kept };
  const goneListener = { host: "127.0.0.1", port: gone };
  const tb = startBroker({
    listeners: [keptListener, goneListener],
    listenerSecurity: securities([goneListener, { autoIdPrefix: "gone-" }]),
  });
  try {
    const addedListener = { host: "127.0.0.1", port: added };
    const change = tb.broker.reconfigure({
      ...tb.broker.options,
      listeners: [{ host: "127.0.0.1", port: kept }, addedListener],
      listenerSecurity: new Map(),
    });
    assert.deepEqual(change.added, [addedListener]);
    assert.deepEqual(change.removed, [goneListener]);
    assert.deepEqual(change.changed, []);
    assert.deepEqual(tb.broker.ports, [kept, gone]);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: added }));
    const onGone = await connect(gone, { protocolVersion: 5, clientId: "" });
    assert.match(String(onGone.connack.properties?.assignedClientIdentifier), /^gone-/);
    await onGone.client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("reconfigure with a new logger closes the old one; the broker logs to the new one", async () => {
  const tb = startBroker();
  const lines: string[] = [];
  const old = tb.broker.options.logger;
  let oldClosed = false;
  const close = old.close.bind(old);
  old.close = () => {
    oldClosed = true;
    return close();
  };
  try {
    const logger = new Logger({
      types: ALL_LOG_TYPES,
      timestamp: false,
      sinks: [(l) => lines.push(l)],
    });
    const change = tb.broker.reconfigure({ ...tb.broker.options, logger });
    assert.deepEqual(change.changed, ["logger"]);
    assert.ok(oldClosed);
    const { client } = await connect(tb.port, { clientId: "newlog" });
    await client.close();
    await waitFor(() => lines.some((l) => l.includes("as newlog")), "a line in the new logger");
  } finally {
    await tb.stop();
  }
});
