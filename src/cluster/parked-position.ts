/**
 * Where a session's parked messages start in this node's inbox, so that a node killed while
 * a session moves in loses none of them (issue #11: nothing acknowledged is lost).
 *
 * A stand-in (session-arrival.ts) parks in memory what it gets from the inbox until its
 * session is read here. The inbox commits its read position with the store writes its reads
 * caused (inbox.ts); a read that only parked wrote nothing, yet its position is committed
 * later (with the next read that writes, or when the inbox is idle). Were this node killed
 * before the session landed, the survivor reading the inbox on from that position would
 * start after the parked messages: gone, though their publishers had their PUBACK.
 *
 * So each stand-in that parked an inbox delivery pins the position before that entry, and
 * while any pin stands the inbox commits, beside its position and in the same store batch,
 * a second cursor (`<inbox cursor>:parked`): the earliest pinned position and the client ids
 * of the stand-ins holding parked messages. The survivor reads the entries between the two
 * positions again for those sessions only, leaving out what a session holds already by
 * message id (orphan-reader.ts); every other session reads on after the inbox position as
 * before, so nothing it had is delivered twice. This node does not trim the stream past a
 * pin; the senders' cap may (`cluster.inboxMaxLength`), which is counted and logged
 * (trim-check.ts). A pin goes when its session landed (the parked messages are written with
 * the next batch, which carries the cursor's deletion) or when the move did not happen (the
 * old node kept the session routed: what was parked reached it too).
 */

/** The name of the parked cursor of the inbox position `name` (StoreCursors). */
export function parkedCursor(name: string): string {
  return `${name}:parked`;
}

/** What the parked cursor holds. */
export interface ParkedRange {
  /** The inbox position before the first entry still parked (read after it). */
  readonly since: string;
  /** The client ids whose stand-ins hold parked messages. */
  readonly clientIds: readonly string[];
}

/** U+0000 is never part of a client id [MQTT-1.5.4-2] nor of a stream id. */
const SEPARATOR = '\u0000';

/** Reads a parked cursor's value (undefined: none, or not one). */
export function decodeParked(value: string | undefined): ParkedRange | undefined {
  if (value === undefined) return undefined;
  const [since, ...clientIds] = value.split(SEPARATOR);
  if (since === undefined || parseStreamId(since) === undefined || clientIds.length === 0) {
    return undefined;
  }
  return { since, clientIds };
}

/** Orders two stream ids (`<ms>-<seq>`): negative when `a` comes first. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parseStreamId(a) ?? [0n, 0n];
  const [bm, bs] = parseStreamId(b) ?? [0n, 0n];
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

function parseStreamId(id: string): [bigint, bigint] | undefined {
  const match = /^(\d+)-(\d+)$/.exec(id);
  return match ? [BigInt(match[1]!), BigInt(match[2]!)] : undefined;
}

/** A pin: the position before the entry a stand-in parked first, and that entry's id. */
interface Pin {
  readonly since: string;
  readonly entry: string | undefined;
}

/** A stand-in as the pins know it. */
interface Holder {
  readonly clientId: string;
}

/** The pins of this node's stand-ins on its inbox (see the file comment). */
export class ParkedPosition {
  /**
   * The inbox position before the entry being delivered now; undefined outside the inbox's
   * delivery (a local publish: nothing of this inbox to pin; a dead node's inbox never
   * reaches a stand-in, orphan-reader.ts).
   */
  reading: string | undefined;
  /** The id of the entry being delivered now (with {@link reading}). */
  entry: string | undefined;
  private readonly pins = new Map<Holder, Pin>();
  /** Told when a pin went (the inbox commits again: the cursor follows). */
  onUnpin: (() => void) | undefined;

  /** `holder` parked a delivery: pins the entry being read, unless it pinned an earlier one. */
  pin(holder: Holder): void {
    if (this.reading !== undefined && !this.pins.has(holder)) {
      this.pins.set(holder, { since: this.reading, entry: this.entry });
    }
  }

  /** `holder`'s parked messages are delivered (or need not be): its pin goes. */
  unpin(holder: Holder): void {
    if (this.pins.delete(holder)) this.onUnpin?.();
  }

  /** The earliest pinned position, or undefined when nothing is pinned. */
  since(): string | undefined {
    return this.earliest()?.since;
  }

  /**
   * The first parked entry of the earliest pin (the entry after {@link since}), or undefined
   * when nothing is pinned (or it was pinned without one).
   */
  earliestEntry(): string | undefined {
    return this.earliest()?.entry;
  }

  private earliest(): Pin | undefined {
    let earliest: Pin | undefined;
    for (const pin of this.pins.values()) {
      if (earliest === undefined || compareStreamIds(pin.since, earliest.since) < 0) earliest = pin;
    }
    return earliest;
  }

  /** The client ids of the stand-ins holding pins (each once). */
  clientIds(): string[] {
    return [...new Set([...this.pins.keys()].map((holder) => holder.clientId))];
  }

  /** The parked cursor's value now, or undefined when nothing is pinned. */
  value(): string | undefined {
    const since = this.since();
    if (since === undefined) return undefined;
    return [since, ...this.clientIds()].join(SEPARATOR);
  }
}
