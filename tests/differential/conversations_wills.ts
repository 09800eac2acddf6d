/**
 * Conversations about wills: sent on a lost connection, not after DISCONNECT, on takeover, with
 * a delay with and without a session to wait in, and a payload over `message_size_limit`.
 * Connection `w` watches the will topic.
 *
 * @module
 */

import type { ProtocolVersion, Will } from "../../src/codec/mod.ts";
import { text } from "../fixtures/packets.ts";
import { connect, DISCONNECT, subscribe } from "./build.ts";
import type { Conversation, Step } from "./harness.ts";

function will(topic: string, properties?: Will["properties"]): Will {
  return { topic, payload: text("gone"), qos: 0, retain: false, properties };
}

function watch(v: ProtocolVersion, topic: string): Step[] {
  return [{ send: connect(v, `${topic}-w`), on: "w" }, { send: subscribe(v, topic), on: "w" }];
}

function basics(v: ProtocolVersion): Conversation[] {
  return [{
    name: `v${v} will on a lost connection`,
    steps: [...watch(v, "lost"), { send: connect(v, `lost-${v}`, { will: will("lost") }) }, {
      close: "a",
    }],
  }, {
    name: `v${v} no will after DISCONNECT`,
    steps: [
      ...watch(v, "polite"),
      { send: connect(v, `polite-${v}`, { will: will("polite") }) },
      { send: DISCONNECT },
    ],
  }, {
    name: `v${v} will topic of 201 levels`,
    steps: [
      { send: connect(v, `deepwill-${v}`, { will: will("l/".repeat(200) + "l") }) },
      { send: "c0 00" },
    ],
  }, {
    name: `v${v} will on takeover, both sessions clean`,
    steps: [
      ...watch(v, "takeclean"),
      { send: connect(v, `takeclean-${v}`, { will: will("takeclean") }) },
      { send: connect(v, `takeclean-${v}`), on: "b" },
    ],
  }, {
    name: `v${v} will on takeover, both sessions persistent`,
    steps: [
      ...watch(v, "takekeep"),
      {
        send: connect(v, `takekeep-${v}`, {
          clean: false,
          will: will("takekeep"),
          properties: v === 5 ? { sessionExpiryInterval: 60 } : undefined,
        }),
      },
      {
        send: connect(v, `takekeep-${v}`, {
          clean: false,
          properties: v === 5 ? { sessionExpiryInterval: 0 } : undefined,
        }),
        on: "b",
      },
      { send: DISCONNECT, on: "b" },
    ],
  }];
}

const DELAYED: Conversation[] = [{
  name: "v5 will delay 2 s, session expiry 0",
  steps: [
    ...watch(5, "delay0"),
    { send: connect(5, "delay0", { will: will("delay0", { willDelayInterval: 2 }) }) },
    { close: "a" },
    { wait: 3000 },
  ],
}, {
  name: "v5 will delay 1 s, session expiry 10",
  steps: [
    ...watch(5, "delay10"),
    {
      send: connect(5, "delay10", {
        will: will("delay10", { willDelayInterval: 1 }),
        properties: { sessionExpiryInterval: 10 },
      }),
    },
    { close: "a" },
    { wait: 2500 },
  ],
}, {
  name: "v5 will delay 2 s, client returns in time",
  steps: [
    ...watch(5, "delayback"),
    {
      send: connect(5, "delayback", {
        clean: false,
        will: will("delayback", { willDelayInterval: 2 }),
        properties: { sessionExpiryInterval: 10 },
      }),
    },
    { close: "a" },
    { send: connect(5, "delayback", { clean: false }), on: "b" },
    { wait: 2500 },
  ],
}, {
  name: "v5 DISCONNECT with will message (0x04)",
  steps: [
    ...watch(5, "withwill"),
    { send: connect(5, "withwill", { will: will("withwill") }) },
    { send: "e0 01 04" },
  ],
}];

/** Wills with the default configuration. */
export const WILL_CONVERSATIONS: readonly Conversation[] = [
  ...([3, 4, 5] as const).flatMap(basics),
  ...DELAYED,
];

/** The configuration of `OVERSIZE_WILL_CONVERSATIONS`. */
export const OVERSIZE_WILL_CONF = "message_size_limit 3";

/** A will payload ("gone", 4 bytes) over `message_size_limit 3`, in every version. */
export const OVERSIZE_WILL_CONVERSATIONS: readonly Conversation[] = ([3, 4, 5] as const).map((
  v,
) => ({
  name: `v${v} will payload over message_size_limit`,
  steps: [{ send: connect(v, `bigwill-${v}`, { will: will("bigwill") }) }, { send: "c0 00" }],
}));
