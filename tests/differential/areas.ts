/**
 * The areas of the differential suite: each a configuration and the conversations played
 * against it.
 *
 * @module
 */

import type { Conversation } from "./harness.ts";
import { BRIDGE_CONVERSATIONS } from "./conversations_bridge.ts";
import { FIXTURE_CONVERSATIONS } from "./conversations_fixtures.ts";
import { FLOW_CONVERSATIONS } from "./conversations_flows.ts";
import {
  OVERSIZE_WILL_CONF,
  OVERSIZE_WILL_CONVERSATIONS,
  WILL_CONVERSATIONS,
} from "./conversations_wills.ts";
import {
  BROKER_MAXIMUM_CONF,
  BROKER_MAXIMUM_CONVERSATIONS,
  LIMIT_CONVERSATIONS,
  MAX_QOS_CONFS,
  MAX_QOS_CONVERSATIONS,
} from "./conversations_limits.ts";
import {
  HOP_PROPERTY_CONVERSATIONS,
  KEEPALIVE_CONF,
  KEEPALIVE_CONVERSATIONS,
  OUTBOUND_ALIAS_CONVERSATIONS,
  SHARE_CONVERSATIONS,
  WILL_ACL_CONF,
  WILL_ACL_CONVERSATIONS,
} from "./conversations_round2.ts";

/** A group of conversations played against one configuration. */
export interface Area {
  /** What the conversations are about. */
  name: string;
  /** mosquitto.conf lines after the listener. */
  conf: string;
  /** The conversations. */
  conversations: readonly Conversation[];
  /** Brokers of each kind run at once, each playing its share in order. */
  shards: number;
}

/** Every area. */
export const AREAS: readonly Area[] = [
  {
    name: "every entry of the packet table",
    conf: "",
    conversations: FIXTURE_CONVERSATIONS,
    shards: 8,
  },
  {
    name: "QoS 2, wrong acks, sessions, 3.1 flags",
    conf: "",
    conversations: FLOW_CONVERSATIONS,
    shards: 8,
  },
  { name: "wills", conf: "", conversations: WILL_CONVERSATIONS, shards: 4 },
  {
    name: "wills over message_size_limit",
    conf: OVERSIZE_WILL_CONF,
    conversations: OVERSIZE_WILL_CONVERSATIONS,
    shards: 1,
  },
  {
    name: "topics, $-topics, properties, client maximum packet size",
    conf: "",
    conversations: LIMIT_CONVERSATIONS,
    shards: 6,
  },
  {
    name: "broker max_packet_size",
    conf: BROKER_MAXIMUM_CONF,
    conversations: BROKER_MAXIMUM_CONVERSATIONS,
    shards: 2,
  },
  {
    name: "$share without a share name or filter, hop properties, outbound topic aliases",
    conf: "",
    conversations: [
      ...SHARE_CONVERSATIONS,
      ...HOP_PROPERTY_CONVERSATIONS,
      ...OUTBOUND_ALIAS_CONVERSATIONS,
    ],
    shards: 1,
  },
  {
    name: "a bridge connecting with try_private",
    conf: "",
    conversations: BRIDGE_CONVERSATIONS,
    shards: 1,
  },
  {
    name: "max_keepalive",
    conf: KEEPALIVE_CONF,
    conversations: KEEPALIVE_CONVERSATIONS,
    shards: 2,
  },
  {
    name: "will on a topic the ACL denies",
    conf: WILL_ACL_CONF,
    conversations: WILL_ACL_CONVERSATIONS,
    shards: 2,
  },
  ...MAX_QOS_CONFS.map((conf) => ({
    name: conf,
    conf,
    conversations: MAX_QOS_CONVERSATIONS,
    shards: 2,
  })),
];
