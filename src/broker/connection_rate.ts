/**
 * `max_connection_rate`: new connections per second from one address, counted in one-second
 * windows. Beyond Mosquitto: it keeps a connect flood from one host from taking the broker's
 * time (TLS handshakes, CONNECT parsing, password hashing) away from everyone else.
 *
 * @module
 */

/** Counts new connections per address in the current one-second window. */
export class ConnectionRate {
  #second = -1;
  #counts = new Map<string, number>();

  /**
   * Count a new connection from `address` at `nowMs`: "ok" if it is within `perSecond`,
   * "refused" beyond it, and "first refusal" for the first one refused in this second (to log
   * once, not once per connection of a flood).
   */
  admit(address: string, perSecond: number, nowMs: number): "ok" | "refused" | "first refusal" {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#counts.clear();
    }
    const count = (this.#counts.get(address) ?? 0) + 1;
    this.#counts.set(address, count);
    if (count <= perSecond) return "ok";
    return count === perSecond + 1 ? "first refusal" : "refused";
  }
}
