/** What the outbox (outbox.ts) counts of forwarding, read by the node's status. */

/** Counters of forwarding, read by whoever reports them. */
export interface OutboxCounters {
  /** Messages sent to other nodes' inboxes (one per message per node). */
  forwarded: number;
  /** Stream entries (batches) sent. */
  batches: number;
  /** Messages whose write failed (Redis unreachable, or it answered an error). Logged. */
  failed: number;
  /**
   * Messages refused because their node had left the cluster (removed after its death while
   * this node still routed to it), or its inbox stream was gone (until its next heartbeat
   * makes it again): not acknowledged, the publisher sends again. Logged.
   */
  refused: number;
  /**
   * Messages written to their node's inbox but not acknowledged because fewer replicas than
   * `cluster.wait` asks had them in time: the publisher sends again. Logged.
   */
  notReplicated: number;
  /** QoS 0 messages published on other nodes' QoS 0 channels (one per message per node). */
  qos0Published: number;
  /**
   * QoS 0 messages published on a channel no one listened on (the node died, or its QoS 0
   * connection was down): lost. Logged (at most one line per 10 s).
   */
  qos0Unheard: number;
}

/** Counters at zero. */
export function newOutboxCounters(): OutboxCounters {
  return {
    forwarded: 0,
    batches: 0,
    failed: 0,
    refused: 0,
    notReplicated: 0,
    qos0Published: 0,
    qos0Unheard: 0,
  };
}
