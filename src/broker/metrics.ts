/**
 * The broker's counters: what `$SYS` and `/metrics` report. Plain numbers, incremented where
 * things happen.
 *
 * @module
 */

/** Counters since the broker started. */
export class Metrics {
  /** Bytes read from clients. */
  bytesReceived = 0;
  /** Bytes written to clients. */
  bytesSent = 0;
  /** Packets of any type received. */
  messagesReceived = 0;
  /** Packets of any type sent. */
  messagesSent = 0;
  /** PUBLISH packets received. */
  publishReceived = 0;
  /** PUBLISH packets sent. */
  publishSent = 0;
  /** Messages dropped: queue limits, oversize for the client, slow QoS 0 consumers. */
  publishDropped = 0;
  /** Payload bytes of PUBLISH packets received. */
  publishBytesReceived = 0;
  /** Payload bytes of PUBLISH packets sent. */
  publishBytesSent = 0;
  /** Sessions removed because they expired. */
  clientsExpired = 0;
  /** Most clients connected at once. */
  clientsMaximum = 0;
}
