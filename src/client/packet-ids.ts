/**
 * Packet identifiers for the client's QoS 1/2 publishes, subscribes and unsubscribes.
 */

/** Hands out identifiers 1..65535 that are not in use. */
export class PacketIdAllocator {
  private next = 1;
  private readonly used = new Set<number>();

  /** A currently unused identifier [MQTT-2.3.1-2]; throws when all 65535 are in use. */
  allocate(): number {
    if (this.used.size >= 65535) throw new Error('no free packet identifier');
    while (this.used.has(this.next)) this.next = this.next === 65535 ? 1 : this.next + 1;
    const id = this.next;
    this.used.add(id);
    this.next = id === 65535 ? 1 : id + 1;
    return id;
  }

  /** Makes `id` available again. */
  release(id: number): void {
    this.used.delete(id);
  }

  /** Identifiers in use. */
  get size(): number {
    return this.used.size;
  }
}
