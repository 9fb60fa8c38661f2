/**
 * MQTT 5 topic aliases of one connection, both ways: those the client set [MQTT-3.3.2-10]
 * and those the broker assigned towards it [MQTT-3.3.2-11]. Each map is made on first use:
 * most connections never use topic aliases.
 */

/** The topic aliases of one connection. */
export class TopicAliases {
  private inbound: Map<number, string> | undefined;
  private outbound: Map<string, number> | undefined;

  /** Topics by the alias the client set. */
  get incoming(): Map<number, string> {
    this.inbound ??= new Map();
    return this.inbound;
  }

  /** Aliases by the topic the broker assigned them to. */
  get outgoing(): Map<string, number> {
    this.outbound ??= new Map();
    return this.outbound;
  }

  /** Number of outbound aliases assigned (without creating the map). */
  get outgoingCount(): number {
    return this.outbound?.size ?? 0;
  }
}
