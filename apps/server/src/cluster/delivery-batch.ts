import type { ServerToClientEvents } from '@chorus/core';
import { deliveryItemSchema, type DeliveryItem } from './bus-messages.js';

/** What a relayed send may be: every direct send but a broadcast's event. */
export type RelayedEvent = DeliveryItem['event'];

/** The events the bus's `deliver` schema carries. */
const RELAYED: ReadonlySet<string> = new Set(deliveryItemSchema.options.map((o) => o.shape.event.value));

/**
 * The sends for other processes' sockets made in one turn of the event loop, published together at
 * its end (ClusterCoordination.relay). A round opening sends one invite object to hundreds of
 * sockets one `send` at a time: consecutive sends of the same message object become one item with
 * every socket id, so a round's invites are one bus message of ids, not hundreds of messages.
 */
export class DeliveryBatch {
  private items: { event: RelayedEvent; ids: string[]; msg: unknown }[] = [];

  constructor(private readonly publish: (items: DeliveryItem[]) => void) {}

  /**
   * Queues a send for the end of this turn; false (nothing queued) for a broadcast's event, which is
   * announced as a broadcast instead, or for no sockets.
   */
  add(socketIds: readonly string[], event: keyof ServerToClientEvents, msg: unknown): boolean {
    if (!RELAYED.has(event) || socketIds.length === 0) return false;
    if (this.items.length === 0) setImmediate(this.flush);
    const last = this.items.at(-1);
    if (last && last.event === event && last.msg === msg) last.ids.push(...socketIds);
    else this.items.push({ event: event as RelayedEvent, ids: [...socketIds], msg });
    return true;
  }

  private readonly flush = (): void => {
    const items = this.items;
    this.items = [];
    if (items.length > 0) this.publish(items as DeliveryItem[]);
  };
}
