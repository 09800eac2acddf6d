/**
 * Conversations about message flows: QoS 2 both ways (a second connection, `b`, subscribes),
 * acks of the wrong type or for the wrong state, and the 3.1 packets whose rules differ from
 * 3.1.1 (flag bits, session present).
 *
 * @module
 */

import type { ProtocolVersion } from "../../src/codec/mod.ts";
import { ack, connect, DISCONNECT, joined, PINGREQ, publish, subscribe } from "./build.ts";
import type { Conversation } from "./harness.ts";

const VERSIONS: readonly ProtocolVersion[] = [3, 4, 5];

function qos2Inbound(v: ProtocolVersion): Conversation[] {
  return [{
    name: `v${v} QoS 2 in: held until PUBREL, then delivered`,
    steps: [
      { send: connect(v, `q2in-b-${v}`), on: "b" },
      { send: subscribe(v, "q2in/t", { qos: 2 }), on: "b" },
      { send: connect(v, `q2in-a-${v}`) },
      { send: publish(v, "q2in/t", "m", { qos: 2, packetId: 7 }) },
      { send: ack(v, "pubrel", 7) },
      { send: ack(v, "pubrec", 1), on: "b" },
      { send: ack(v, "pubcomp", 1), on: "b" },
    ],
  }, {
    name: `v${v} QoS 2 in: no subscriber`,
    steps: [
      { send: connect(v, `q2none-${v}`) },
      { send: publish(v, "q2none/t", "m", { qos: 2, packetId: 3 }) },
      { send: ack(v, "pubrel", 3) },
    ],
  }, {
    name: `v${v} QoS 2 in: the same packet id again before PUBREL`,
    steps: [
      { send: connect(v, `q2dup-b-${v}`), on: "b" },
      { send: subscribe(v, "q2dup/t", { qos: 0 }), on: "b" },
      { send: connect(v, `q2dup-a-${v}`) },
      { send: publish(v, "q2dup/t", "one", { qos: 2, packetId: 5 }) },
      { send: publish(v, "q2dup/t", "two", { qos: 2, packetId: 5 }) },
      { send: ack(v, "pubrel", 5) },
    ],
  }, {
    name: `v${v} QoS 2 in: retained, subscriber arrives before PUBREL`,
    steps: [
      { send: connect(v, `q2ret-a-${v}`) },
      { send: publish(v, "q2ret/t", "r", { qos: 2, packetId: 9, retain: true }) },
      { send: connect(v, `q2ret-b-${v}`), on: "b" },
      { send: subscribe(v, "q2ret/t", { qos: 0 }), on: "b" },
      { send: ack(v, "pubrel", 9) },
      { send: publish(v, "q2ret/t", "", { retain: true }) },
    ],
  }, {
    name: `v${v} PUBREL for an unknown packet id`,
    steps: [{ send: connect(v, `relunknown-${v}`) }, { send: ack(v, "pubrel", 44) }, {
      send: PINGREQ,
    }],
  }];
}

function outbound(v: ProtocolVersion): Conversation[] {
  const delivered = (name: string, qos: 1 | 2, client: string) => [
    { send: connect(v, `${client}-b-${v}`), on: "b" },
    { send: subscribe(v, `${client}/t`, { qos: 2 }), on: "b" },
    { send: connect(v, `${client}-a-${v}`) },
    { send: publish(v, `${client}/t`, name, { qos }) },
    ...(qos === 2 ? [{ send: ack(v, "pubrel", 1) }] : []),
  ];
  return [{
    name: `v${v} QoS 2 out: PUBREC, PUBREL, PUBCOMP`,
    steps: [
      ...delivered("q2", 2, "q2out"),
      { send: ack(v, "pubrec", 1), on: "b" },
      { send: ack(v, "pubcomp", 1), on: "b" },
      { send: PINGREQ, on: "b" },
    ],
  }, {
    name: `v${v} wrong ack: PUBREC for a QoS 1 message`,
    steps: [...delivered("q1", 1, "wrongrec"), { send: ack(v, "pubrec", 1), on: "b" }, {
      send: PINGREQ,
      on: "b",
    }],
  }, {
    name: `v${v} wrong ack: PUBACK for a QoS 2 message`,
    steps: [...delivered("q2", 2, "wrongack"), { send: ack(v, "puback", 1), on: "b" }, {
      send: PINGREQ,
      on: "b",
    }],
  }, {
    name: `v${v} wrong ack: PUBCOMP before PUBREC`,
    steps: [...delivered("q2", 2, "earlycomp"), { send: ack(v, "pubcomp", 1), on: "b" }, {
      send: PINGREQ,
      on: "b",
    }],
  }, {
    name: `v${v} wrong ack: PUBREC again after PUBREL`,
    steps: [
      ...delivered("q2", 2, "recagain"),
      { send: ack(v, "pubrec", 1), on: "b" },
      { send: ack(v, "pubrec", 1), on: "b" },
      { send: PINGREQ, on: "b" },
    ],
  }, {
    name: `v${v} wrong ack: PUBACK for an unknown packet id`,
    steps: [{ send: connect(v, `ackunknown-${v}`) }, { send: ack(v, "puback", 9) }, {
      send: PINGREQ,
    }],
  }, {
    name: `v${v} wrong ack: PUBREC for an unknown packet id`,
    steps: [{ send: connect(v, `recunknown-${v}`) }, { send: ack(v, "pubrec", 9) }, {
      send: PINGREQ,
    }],
  }, {
    name: `v${v} wrong ack: PUBCOMP for an unknown packet id`,
    steps: [{ send: connect(v, `compunknown-${v}`) }, { send: ack(v, "pubcomp", 9) }, {
      send: PINGREQ,
    }],
  }, {
    name: `v${v} QoS 1 out, retained then live, with PUBACK`,
    steps: [
      { send: connect(v, `q1ret-a-${v}`) },
      { send: publish(v, "q1ret/t", "kept", { qos: 1, retain: true }) },
      { send: connect(v, `q1ret-b-${v}`), on: "b" },
      { send: subscribe(v, "q1ret/#", { qos: 1 }), on: "b" },
      { send: ack(v, "puback", 1), on: "b" },
      { send: publish(v, "q1ret/t", "", { qos: 1, packetId: 2, retain: true }) },
      { send: ack(v, "puback", 2), on: "b" },
    ],
  }, {
    name: `v${v} a second CONNECT`,
    steps: [{ send: connect(v, `twice-${v}`) }, { send: connect(v, `twice-${v}`) }, {
      send: PINGREQ,
    }],
  }, {
    name: `v${v} UNSUBSCRIBE, then DISCONNECT`,
    steps: [
      { send: connect(v, `unsub-${v}`) },
      { send: subscribe(v, "unsub/t") },
      { send: "a2 0a 00 02" + (v === 5 ? "00" : "") + "00 07 75 6e 73 75 62 2f 74" },
      { send: DISCONNECT },
    ],
  }];
}

function sessions(v: ProtocolVersion): Conversation {
  return {
    name: `v${v} session present after a persistent session`,
    steps: [
      {
        send: connect(v, `persist-${v}`, {
          clean: false,
          properties: v === 5 ? { sessionExpiryInterval: 60 } : undefined,
        }),
      },
      { send: DISCONNECT },
      {
        send: connect(v, `persist-${v}`, {
          clean: false,
          properties: v === 5 ? { sessionExpiryInterval: 0 } : undefined,
        }),
        on: "b",
      },
      { send: DISCONNECT, on: "b" },
    ],
  };
}

const MQTT31_FLAGS: Conversation[] = [
  {
    name: "v3 PUBREL with flags 0000",
    steps: [{ send: connect(3, "v3rel") }, { send: "60 02 00 03" }, { send: PINGREQ }],
  },
  {
    name: "v3 SUBSCRIBE with flags 0000",
    steps: [{ send: connect(3, "v3sub") }, { send: "80 08 00 01 00 03 61 2f 23 01" }, {
      send: PINGREQ,
    }],
  },
  {
    name: "v3 UNSUBSCRIBE with flags 0000",
    steps: [{ send: connect(3, "v3unsub") }, { send: "a0 07 00 01 00 03 61 2f 62" }, {
      send: PINGREQ,
    }],
  },
];

const QUEUED: Conversation = {
  name: "v5 packet ids of queued messages when the middle one expires",
  steps: [
    { send: connect(5, "queued-b", { clean: true, properties: { sessionExpiryInterval: 60 } }) },
    { send: subscribe(5, "queued/t", { qos: 1 }) },
    { send: DISCONNECT },
    { send: connect(5, "queued-a"), on: "p" },
    { send: publish(5, "queued/t", "1", { qos: 1, packetId: 1 }), on: "p" },
    {
      send: publish(5, "queued/t", "2", {
        qos: 1,
        packetId: 2,
        properties: { messageExpiryInterval: 1 },
      }),
      on: "p",
    },
    { send: publish(5, "queued/t", "3", { qos: 1, packetId: 3 }), on: "p" },
    { wait: 2100 },
    { send: connect(5, "queued-b", { clean: false }), on: "b" },
  ],
};

/** 21 QoS 2 PUBLISH packets in one write, none released: one over the receive maximum of 20. */
const RECEIVE_MAXIMUM: Conversation = {
  name: "v5 QoS 2 PUBLISH past the receive maximum",
  steps: [
    { send: connect(5, "recvmax") },
    {
      send: joined(
        Array.from(
          { length: 21 },
          (_, i) => publish(5, "recvmax/t", "p", { qos: 2, packetId: i + 1 }),
        ),
      ),
    },
  ],
};

/** Packet types the fixture table has no entry for in that version, sent by the client. */
const OTHER_TYPES: Conversation[] = [
  { name: "v3 UNSUBACK from a client", packet: "b0 02 00 01", version: 3 },
  { name: "v3 packet type 15 (AUTH in 5.0)", packet: "f0 00", version: 3 },
  { name: "v3 packet type 0", packet: "00 00", version: 3 },
  { name: "v4 PINGRESP from a client", packet: "d0 00", version: 4 },
  { name: "v5 PINGREQ with reserved flags", packet: "c1 00", version: 5 },
].map(({ name, packet, version }) => ({
  name,
  steps: [{ send: connect(version as ProtocolVersion, "other") }, { send: packet }],
}));

/** Remaining lengths the frame reader refuses: not minimally encoded, and five bytes long. */
const FRAMING: Conversation[] = VERSIONS.flatMap((v) =>
  [
    { name: `v${v} remaining length not minimally encoded`, packet: "c0 80 00" },
    { name: `v${v} remaining length of five bytes`, packet: "30 ff ff ff ff 01" },
  ].map(({ name, packet }) => ({
    name,
    steps: [{ send: connect(v, `framing-${v}`) }, { send: packet }],
  }))
);

const OPENINGS: Conversation[] = [
  {
    name: "PINGREQ before CONNECT",
    steps: [{ send: PINGREQ }],
  },
  {
    name: "PUBLISH before CONNECT",
    steps: [{ send: "30 05 00 03 61 2f 62" }],
  },
  {
    name: "v4 CONNECT and PUBLISH sent in pieces",
    steps: [
      { send: ["10 0e 00 04 4d", "51 54 54 04 02 00 3c 00", "02 70 63"] },
      { send: ["32", "09 00 03 61 2f", "62 00 05 68 69"] },
    ],
  },
];

/** QoS 2 both ways, wrong acks, sessions and 3.1's flag rules, in every version. */
export const FLOW_CONVERSATIONS: readonly Conversation[] = [
  ...VERSIONS.flatMap((v) => [...qos2Inbound(v), ...outbound(v), sessions(v)]),
  ...MQTT31_FLAGS,
  QUEUED,
  RECEIVE_MAXIMUM,
  ...OTHER_TYPES,
  ...FRAMING,
  ...OPENINGS,
];
