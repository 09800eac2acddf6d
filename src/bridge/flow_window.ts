/**
 * A relay's respect for what a broker takes in flight: QoS 1 and 2 messages passed on to it
 * beyond its receive maximum, or QoS 2 ones beyond its quota of unreleased ones, are held in
 * order (everything after a held one is held too) until earlier ones are acknowledged. A
 * remote broker spoken to over 3.x names no limit and may send a bridge more at once than this
 * broker takes from one client; Mosquitto takes only `max_inflight_messages` unreleased QoS 2
 * messages from a 3.x client, and refuses any message past them.
 *
 * @module
 */

import type { PublishPacket } from "../codec/mod.ts";
import type { FlowPacket } from "../client/mqtt_client.ts";

/** The QoS 1/2 messages in flight toward one broker, and those held back. */
export class FlowWindow {
  #limit: number;
  #qos2Limit: number;
  #send: (packet: PublishPacket) => void;
  /** QoS by packet identifier of the messages in flight. */
  #open = new Map<number, 1 | 2>();
  #openQos2 = 0;
  #held: PublishPacket[] = [];
  #next = 0;

  /**
   * A window of `limit` messages, `qos2Limit` of them QoS 2 (default: as many), through which
   * `send` writes.
   */
  constructor(limit: number, send: (packet: PublishPacket) => void, qos2Limit = limit) {
    this.#limit = limit;
    this.#qos2Limit = qos2Limit;
    this.#send = send;
  }

  /** Messages held back now. */
  get heldCount(): number {
    return this.#held.length - this.#next;
  }

  /** Send `packet` now if it fits (QoS 0 always does), else hold it behind the others held. */
  publish(packet: PublishPacket): void {
    const id = packet.packetId;
    if (packet.qos === 0 || id === undefined || this.#open.has(id)) return this.#send(packet);
    if (this.#next < this.#held.length || !this.#fits()) {
      this.#held.push(packet);
      return;
    }
    this.#start(packet);
  }

  /**
   * Note an answer from the broker: a PUBACK, a PUBCOMP or a refusing PUBREC ends a message's
   * flow, and makes room for those held.
   */
  answered(packet: FlowPacket): void {
    const ends = packet.type === "puback" || packet.type === "pubcomp" ||
      (packet.type === "pubrec" && packet.reasonCode >= 0x80);
    if (!ends) return;
    const qos = this.#open.get(packet.packetId);
    if (qos === undefined) return;
    this.#open.delete(packet.packetId);
    if (qos === 2) this.#openQos2--;
    while (this.#next < this.#held.length && this.#fits()) {
      this.#start(this.#held[this.#next++]);
    }
    if (this.#next === this.#held.length) {
      this.#held = [];
      this.#next = 0;
    }
  }

  /**
   * Whether one more message may go: fewer than the limit in flight, and fewer unreleased QoS 2
   * ones than their quota, which a QoS 1 message must find room in too (Mosquitto refuses any
   * message, QoS 1 included, while a 3.x client's quota is used up).
   */
  #fits(): boolean {
    return this.#open.size < this.#limit && this.#openQos2 < this.#qos2Limit;
  }

  #start(packet: PublishPacket): void {
    const qos = packet.qos as 1 | 2;
    this.#open.set(packet.packetId!, qos);
    if (qos === 2) this.#openQos2++;
    this.#send(packet);
  }
}
