/**
 * The mark the persistence layer leaves on a delivery or a message it stores: its store keys
 * and reference count. The broker only carries it (`undefined` when not stored); its shape is
 * persistence.ts's own, and no other module reads or writes it.
 *
 * A field on the object, not a map in persistence.ts: every acknowledgement asks whether its
 * delivery is stored, and a field read costs nothing where a map lookup per message measured
 * about 20% more time on the persistence path.
 *
 * @module
 */

declare const storeMark: unique symbol;

/** Opaque: only persistence.ts knows what is inside. */
export interface StoreMark {
  /** Keeps the type from matching anything but a mark persistence.ts made. */
  readonly [storeMark]: true;
}
