/**
 * Stored records: each kind survives encode/decode with its edge values, keys parse back, and
 * damaged bytes are a `RecordError` (never another exception, never a half-read record).
 */

import assert from "node:assert/strict";
import { RecordError } from "../../src/store/record_codec.ts";
import {
  checkMarker,
  decodeDelivery,
  decodeIncoming,
  decodeMessage,
  decodeSession,
  decodeSubscription,
  deliveryKey,
  type DeliveryRecord,
  encodeDelivery,
  encodeMessage,
  encodeSession,
  encodeSubscription,
  incomingKey,
  MARKER,
  messageKey,
  type MessageRecord,
  parseKey,
  retainedKey,
  sessionKey,
  type SessionRecord,
  subscriptionKey,
  type SubscriptionRecord,
} from "../../src/store/records.ts";

const SESSIONS: SessionRecord[] = [
  {
    clientId: "c",
    version: 4,
    expiryInterval: 0xffffffff,
    disconnectedAt: 0,
    username: undefined,
    listenerPort: undefined,
    will: undefined,
  },
  {
    clientId: "Ünïcode-☃-𝄞".repeat(300),
    version: 5,
    expiryInterval: 3600,
    disconnectedAt: Date.UTC(2026, 10, 30),
    username: "",
    listenerPort: 1883,
    will: {
      topic: "status/☃",
      payload: new Uint8Array([0, 1, 255]),
      qos: 2,
      retain: true,
      properties: {
        willDelayInterval: 30,
        messageExpiryInterval: 60,
        contentType: "text/plain",
        correlationData: new Uint8Array([9, 8]),
        userProperties: [["a", "b"], ["a", "c"]],
      },
    },
  },
];

const MESSAGES: MessageRecord[] = [
  {
    topic: "a",
    payload: new Uint8Array(0),
    qos: 0,
    retain: false,
    properties: undefined,
    expiresAt: undefined,
    publisherId: "",
  },
  {
    topic: "sensors/𝄞/temp",
    payload: crypto.getRandomValues(new Uint8Array(65536)),
    qos: 1,
    retain: true,
    properties: { payloadFormatIndicator: 1, responseTopic: "r", userProperties: [["k", "v"]] },
    expiresAt: 4_000_000_000_000,
    publisherId: "pub-1",
  },
  {
    topic: "retained/by/alice",
    payload: new Uint8Array([1]),
    qos: 1,
    retain: true,
    properties: undefined,
    expiresAt: undefined,
    publisherId: "alice-1",
    source: { username: "alice", listenerPort: 8883 },
  },
  {
    topic: "retained/anonymous",
    payload: new Uint8Array([2]),
    qos: 0,
    retain: true,
    properties: undefined,
    expiresAt: undefined,
    publisherId: "anon",
    source: { username: undefined, listenerPort: undefined },
  },
];

Deno.test("session, subscription, delivery and message records round-trip", () => {
  for (const s of SESSIONS) assert.deepEqual(decodeSession(encodeSession(s)), s);
  for (const m of MESSAGES) assert.deepEqual(decodeMessage(encodeMessage(m)), m);
  const subs: SubscriptionRecord[] = [
    {
      filter: "a/+/#",
      qos: 2,
      noLocal: true,
      retainAsPublished: false,
      retainHandling: 2,
      subscriptionId: 268435455,
    },
    {
      filter: "$share/g/x",
      qos: 0,
      noLocal: false,
      retainAsPublished: true,
      retainHandling: 0,
      subscriptionId: 0,
    },
  ];
  for (const s of subs) assert.deepEqual(decodeSubscription(encodeSubscription(s)), s);
  const deliveries: DeliveryRecord[] = [
    {
      messageId: 2 ** 40,
      message: undefined,
      qos: 1,
      retain: false,
      subscriptionIds: undefined,
      state: "queued",
      packetId: 0,
    },
    {
      messageId: 1,
      message: undefined,
      qos: 2,
      retain: true,
      subscriptionIds: [1, 300, 268435455],
      state: "pubrel",
      packetId: 65535,
    },
    {
      messageId: 7,
      message: undefined,
      qos: 2,
      retain: false,
      subscriptionIds: [],
      state: "publish",
      packetId: 1,
    },
    // A message no other record shares travels inside its delivery.
    ...MESSAGES.map((message): DeliveryRecord => ({
      messageId: 0,
      message,
      qos: 1,
      retain: false,
      subscriptionIds: [5],
      state: "queued",
      packetId: 0,
    })),
  ];
  for (const d of deliveries) assert.deepEqual(decodeDelivery(encodeDelivery(d)), d);
  checkMarker(MARKER);
});

Deno.test("an inbound QoS 2 record holds its message; a bare marker (an older Midge's) reads as none", () => {
  for (const m of MESSAGES) assert.deepEqual(decodeIncoming(encodeMessage(m)), m);
  assert.equal(decodeIncoming(MARKER), undefined);
  assert.throws(() => decodeIncoming(new Uint8Array(0)), RecordError);
  assert.throws(() => decodeIncoming(new Uint8Array([2])), RecordError);
  assert.throws(() => decodeIncoming(encodeMessage(MESSAGES[0]).subarray(0, 4)), RecordError);
});

Deno.test("keys parse back to their kind and numbers; foreign keys do not", () => {
  assert.deepEqual(parseKey(sessionKey(12)), { kind: "s", ids: [12] });
  assert.deepEqual(parseKey(subscriptionKey(1, 2)), { kind: "u", ids: [1, 2] });
  assert.deepEqual(parseKey(deliveryKey(3, 2 ** 50)), { kind: "d", ids: [3, 2 ** 50] });
  assert.deepEqual(parseKey(incomingKey(4, 65535)), { kind: "i", ids: [4, 65535] });
  assert.deepEqual(parseKey(messageKey(5)), { kind: "m", ids: [5] });
  assert.deepEqual(parseKey(retainedKey(6)), { kind: "r", ids: [6] });
  for (const key of ["", "s", "s/", "s/0", "s/-1", "s/1.5", "s/1/2", "u/1", "x/1", "m/1e3"]) {
    assert.equal(parseKey(key), undefined, key);
  }
});

Deno.test("every truncation of a record is a RecordError", () => {
  const encoded = [
    ...SESSIONS.map(encodeSession),
    ...MESSAGES.map((m) => encodeMessage({ ...m, payload: m.payload.subarray(0, 10) })),
    encodeSubscription({
      filter: "a/b",
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 1,
      subscriptionId: 5,
    }),
  ];
  encoded.push(encodeDelivery({
    messageId: 0,
    message: { ...MESSAGES[1], payload: MESSAGES[1].payload.subarray(0, 10) },
    qos: 2,
    retain: true,
    subscriptionIds: [1, 2],
    state: "publish",
    packetId: 9,
  }));
  const decoders = [
    ...SESSIONS.map(() => decodeSession),
    ...MESSAGES.map(() => decodeMessage),
    decodeSubscription,
    decodeDelivery,
  ];
  encoded.forEach((bytes, i) => {
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(
        () => decoders[i](bytes.subarray(0, n)),
        RecordError,
        `record ${i} cut at ${n}`,
      );
    }
    // One byte too many is damage too.
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    assert.throws(() => decoders[i](longer), RecordError);
  });
});

Deno.test("an unknown format byte or impossible values are RecordErrors", () => {
  const session = encodeSession(SESSIONS[0]).slice();
  session[0] = 2;
  assert.throws(() => decodeSession(session), /unknown record format 2/);
  const delivery = encodeDelivery({
    messageId: 1,
    message: undefined,
    qos: 1,
    retain: false,
    subscriptionIds: undefined,
    state: "queued",
    packetId: 0,
  }).slice();
  delivery[2] |= 3; // QoS 3
  assert.throws(() => decodeDelivery(delivery), RecordError);
  // In flight without a packet id.
  const inflight = encodeDelivery({
    messageId: 1,
    message: undefined,
    qos: 1,
    retain: false,
    subscriptionIds: undefined,
    state: "publish",
    packetId: 0,
  });
  assert.throws(() => decodeDelivery(inflight), /packet id 0 in state publish/);
  // Both a message id and a message inside, or neither.
  const both = encodeDelivery({
    messageId: 3,
    message: MESSAGES[0],
    qos: 0,
    retain: false,
    subscriptionIds: undefined,
    state: "queued",
    packetId: 0,
  });
  assert.throws(() => decodeDelivery(both), /message id 3 with a message inside/);
  assert.throws(() => checkMarker(new Uint8Array(0)), RecordError);
  assert.throws(() => checkMarker(new Uint8Array([1, 0])), RecordError);
});
