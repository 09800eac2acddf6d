/**
 * Fan-out: the subscription trie, the retained messages of clients, and `route`, which turns
 * one message into one delivery per matching client. A client with overlapping subscriptions
 * gets one delivery at the highest QoS of its matching subscriptions and with all their
 * identifiers [MQTT-3.3.4-2] [MQTT-3.3.4-3]; the merge state of a routing pass is the fan-out's
 * own (one `Subscriber` per subscribing session, made at SUBSCRIBE, reused by every pass).
 *
 * @module
 */

import type { QoS } from "../codec/mod.ts";
import { RetainedIndex, SubscriptionTrie } from "../router/mod.ts";
import { mayRead } from "./access.ts";
import { noteCongestion, type Publisher } from "./flow_control.ts";
import type { Message } from "./message.ts";
import type { BrokerOptions } from "./options.ts";
import type { StateObserver } from "./state_observer.ts";
import type { Session, SubscriptionOptions } from "./session.ts";

/** One subscribing session and what the routing pass in progress merged for it. */
class Subscriber {
  readonly session: Session;
  /** Routing pass that last matched this subscriber. */
  pass = 0;
  /** Highest QoS among this pass's matching subscriptions. */
  qos: QoS = 0;
  /** Whether any of them has retain as published. */
  retainAsPublished = false;
  /** Their subscription identifiers. */
  subscriptionIds: number[] | undefined;

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

function payloadLength(message: Message): number {
  return message.payload.length;
}

/** What the fan-out needs of the broker. */
export interface FanOutContext {
  /** Options in force (ACLs, queue limits). */
  readonly options: BrokerOptions;
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
      target.subscriptionIds = sub.subscriptionId !== undefined ? [sub.subscriptionId] : undefined;
      this.#targets.push(target);
    } else {
      if (sub.qos > target.qos) target.qos = sub.qos;
      if (sub.retainAsPublished) target.retainAsPublished = true;
      if (sub.subscriptionId !== undefined) {
        (target.subscriptionIds ??= []).push(sub.subscriptionId);
      }
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
   * Route a message to every matching subscription, one delivery per client. Returns the
   * number of clients it matched: those it went to, and the publisher if no local alone kept
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
      if (!mayRead(options, session, message.topic)) continue;
      const qos = Math.min(message.qos, target.qos) as QoS;
      // Live messages carry retain only with retain as published [MQTT-3.3.1-12].
      const retain = target.retainAsPublished && message.retain;
      context.deliver(session, message, qos, retain, target.subscriptionIds);
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
