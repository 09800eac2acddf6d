/**
 * Fan-out: the subscription trie, the retained messages of clients, and `route`, which turns
 * one message into deliveries to the matching clients. A client with overlapping
 * subscriptions gets, as from Mosquitto 2.0.11, one copy per matching subscription if it is
 * a 5.0 client (each with that subscription's QoS, identifier and retain as published, in
 * the trie's walk order) [MQTT-3.3.4-2] [MQTT-3.3.4-5], and one copy if it is a 3.x client,
 * unless `allow_duplicate_messages` is set: for 3.1.1 at the highest of their QoS
 * [MQTT-3.3.5-1] (Mosquitto sends the first one's), for 3.1 (which sets no rule) the first
 * one's, as Mosquitto. The state of a routing pass is the fan-out's own (one `Subscriber` per
 * subscribing session, made at SUBSCRIBE, reused by every pass).
 *
 * @module
 */

import type { QoS } from "../codec/mod.ts";
import { RetainedIndex, SubscriptionTrie } from "../router/mod.ts";
import { mayRead } from "./access.ts";
import { noteCongestion, type Publisher } from "./flow_control.ts";
import type { Message } from "./message.ts";
import type { Metrics } from "./metrics.ts";
import type { BrokerOptions } from "./options.ts";
import type { StateObserver } from "./state_observer.ts";
import type { Session, SubscriptionOptions } from "./session.ts";

/**
 * One subscribing session and what the routing pass in progress found for it: its first
 * matching subscription, into which a 3.1.1 client's further ones merge, and the further ones
 * that get a copy each.
 */
class Subscriber {
  readonly session: Session;
  /** Routing pass that last matched this subscriber. */
  pass = 0;
  /** QoS of the first matching subscription (3.1.1: the highest of them). */
  qos: QoS = 0;
  /** Whether it has retain as published. */
  retainAsPublished = false;
  /** Its subscription identifier, as a delivery carries it. */
  subscriptionIds: number[] | undefined;
  /**
   * The matching subscriptions after the first that get a copy each, in
   * `further[0 .. furtherCount)`; the array is reused by every pass.
   */
  further: Routed[] | undefined;
  /** How many of `further` this pass matched. */
  furtherCount = 0;

  constructor(session: Session) {
    this.session = session;
  }
}

/** A subscription as the trie holds it: its options and its subscriber. */
interface Routed {
  readonly options: SubscriptionOptions;
  readonly subscriber: Subscriber;
}

const NO_TARGETS: Subscriber[] = [];

/** The subscription identifier of `sub` as a delivery carries it. */
function idsOf(sub: SubscriptionOptions): number[] | undefined {
  return sub.subscriptionId !== undefined ? [sub.subscriptionId] : undefined;
}

function payloadLength(message: Message): number {
  return message.payload.length;
}

/** What the fan-out needs of the broker. */
export interface FanOutContext {
  /** Options in force (ACLs, queue limits). */
  readonly options: BrokerOptions;
  /** Counters (messages the ACL kept from a subscriber). */
  readonly metrics: Metrics;
  /** Who hears of changes to retained messages (persistence may be set after the fan-out is made). */
  observer(): StateObserver;
  /** Whether the client `clientId` is connected (to choose a shared-group member). */
  isOnline(clientId: string): boolean;
  /** Deliver `message` to `session` with the options the pass merged. */
  deliver(
    session: Session,
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: number[] | undefined,
  ): void;
}

/** The subscriptions and retained messages of clients, and the routing of messages to them. */
export class FanOut {
  /** Retained messages of clients by topic (the `$SYS` values are the `SysTree`'s). */
  readonly retained: RetainedIndex<Message> = new RetainedIndex(payloadLength);
  #trie = new SubscriptionTrie<Routed>();
  #subscribers = new WeakMap<Session, Subscriber>();
  #context: FanOutContext;
  #pass = 0;
  // The routing pass in progress, for #collect (one function for every pass rather than a
  // closure per message).
  #targets: Subscriber[] = NO_TARGETS;
  #publisherId = "";
  /** The publisher's subscriber, if no local kept a matching subscription of it out. */
  #localSkipped: Subscriber | undefined;
  #collect = (_id: string, routed: Routed): void => {
    const sub = routed.options;
    const target = routed.subscriber;
    // No local: not back to the publisher [MQTT-3.8.3-3].
    if (sub.noLocal && target.session.clientId === this.#publisherId) {
      this.#localSkipped = target;
      return;
    }
    if (target.pass !== this.#pass) {
      target.pass = this.#pass;
      target.qos = sub.qos;
      target.retainAsPublished = sub.retainAsPublished;
      target.subscriptionIds = idsOf(sub);
      target.furtherCount = 0;
      this.#targets.push(target);
    } else if (target.session.version === 5 || this.#context.options.allowDuplicateMessages) {
      (target.further ??= [])[target.furtherCount++] = routed;
    } else if (target.session.version === 4 && sub.qos > target.qos) {
      // One copy for a 3.1.1 client, at the highest QoS [MQTT-3.3.5-1] (Mosquitto: the first
      // one's). 3.1 sets no rule: its one copy is the first one's, as Mosquitto sends it.
      target.qos = sub.qos;
    }
  };
  #isOnline: (clientId: string) => boolean;

  /** An empty fan-out for the broker of `context`. */
  constructor(context: FanOutContext) {
    this.#context = context;
    this.#isOnline = (clientId) => context.isOnline(clientId);
  }

  /** Subscriptions held, shared ones included. */
  get subscriptionCount(): number {
    return this.#trie.count;
  }

  /** Shared subscriptions held. */
  get sharedSubscriptionCount(): number {
    return this.#trie.sharedCount;
  }

  /**
   * Add or replace the subscription of `options.session` to `options.filter`; returns whether
   * it is new.
   */
  subscribe(options: SubscriptionOptions): boolean {
    const session = options.session;
    let subscriber = this.#subscribers.get(session);
    if (subscriber === undefined) {
      this.#subscribers.set(session, subscriber = new Subscriber(session));
    }
    return this.#trie.subscribe(session.clientId, options.filter, { options, subscriber });
  }

  /** Remove the subscription of `clientId` to `filter`; returns whether there was one. */
  unsubscribe(clientId: string, filter: string): boolean {
    return this.#trie.unsubscribe(clientId, filter);
  }

  /**
   * Route a message to every matching subscription: one delivery per client, or per
   * subscription (see the module's doc). Returns the number of clients it matched: those it went to, and the publisher if no local alone kept
   * it out (Mosquitto counts that as a match: no PUBACK 0x10). A connected client's queue
   * past the flow-control limit holds `publisher` back until it drains.
   */
  route(message: Message, publisher?: Publisher): number {
    ++this.#pass;
    const targets: Subscriber[] = [];
    this.#targets = targets;
    this.#publisherId = message.publisherId;
    this.#trie.match(message.topic, this.#collect, this.#isOnline);
    this.#targets = NO_TARGETS;
    const skipped = this.#localSkipped;
    this.#localSkipped = undefined;
    const matched = targets.length + (skipped !== undefined && skipped.pass !== this.#pass ? 1 : 0);
    const context = this.#context;
    const options = context.options;
    for (const target of targets) {
      const session = target.session;
      // Read access (always allowed without an ACL) [acl_file].
      if (!mayRead(options, session, message.topic)) {
        context.metrics.aclDenied.read++;
        continue;
      }
      const qos = Math.min(message.qos, target.qos) as QoS;
      // Live messages carry retain only with retain as published [MQTT-3.3.1-12].
      const retain = target.retainAsPublished && message.retain;
      context.deliver(session, message, qos, retain, target.subscriptionIds);
      for (let k = 0; k < target.furtherCount; k++) {
        const sub = target.further![k].options;
        const copyQos = Math.min(message.qos, sub.qos) as QoS;
        context.deliver(
          session,
          message,
          copyQos,
          sub.retainAsPublished && message.retain,
          idsOf(sub),
        );
      }
      if (publisher !== undefined && session.connection !== undefined) {
        noteCongestion(publisher, session, options);
      }
    }
    return matched;
  }

  /**
   * Make `message` the retained message of `topic`; an empty payload removes it
   * [MQTT-3.3.1-5] [MQTT-3.3.1-6]. `message` must own its payload.
   */
  setRetained(topic: string, message: Message): void {
    const before = this.retained.get(topic);
    if (message.payload.length === 0) {
      this.retained.delete(topic);
      this.#context.observer().retainedChanged(before, undefined);
    } else {
      this.retained.set(topic, message);
      this.#context.observer().retainedChanged(before, message);
    }
  }
}
