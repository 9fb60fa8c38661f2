/**
 * The names of the cluster's keys and channels in Redis, in one place:
 * - `node:<id>`    a node's lease: its instance id, with an expiry (PX) its heartbeat renews;
 * - `nodes`        the set of node ids that joined (a member whose lease is gone has left);
 * - `routes:<id>`  a node's route table: a hash of the filters its sessions subscribe to;
 * - `routes`       the channel where nodes announce changes of their route tables;
 * - `inbox:<id>`   the stream of messages other nodes forward to a node;
 * - `control:<id>` the channel of requests to a node (takeover) and their answers;
 * - `qos0:<id>`    the channel QoS 0 messages are forwarded to a node on (qos0-receiver.ts);
 * - `owner:<client id>` which node holds a client id's connection (node id/instance);
 * - `moving:<client id>` the node (node id/instance) waiting for the client id's session to
 *                  move to it from a live node (expires; move-token.ts);
 * - `asking:<client id>:<node id>/<instance>` that node still waits for its hold of the
 *                  client id's session to be answered (expires; move-token.ts);
 * - `wills:<id>`   the wills of a node's connected clients, for the survivors if it dies;
 * - `orphan-wills:<id>` the wills of dead nodes' clients that node `<id>` took and has not
 *                  sent yet (hash: client id -> `<ms the death was found>|<will copy>`),
 *                  each kept until it is sent or cancelled: if `<id>` dies too, the survivor
 *                  that removes it (or the node that claims its id) takes them over;
 * - `addresses`    hash: node id -> the `host:port` it advertises to clients (drain);
 * - `retained`     the channel where nodes announce the retained topics they changed in the
 *                  shared store;
 * - `instances`    hash: node id -> the instance (process) that holds it, kept after its lease
 *                  expired so that the survivor knows whose inbox position to read;
 * - `recovering:<id>` the dead instance whose sessions the survivor that removed it recovers
 *                  (expires: a bound if that survivor dies too);
 * - `orphan:<id>:<instance>` a dead node's inbox, renamed by the survivor that removed it,
 *                  read by that survivor only (the store's cursor `inbox:<instance>` tells
 *                  how far the dead node, then that survivor, delivered it);
 * - `recoverer:<id>` the node (`<node id>/<instance>`) recovering dead node `<id>`: when it
 *                  dies too, the survivor that removes it takes the recovery over;
 * - `adopted:<id>` the client ids adopted from dead node `<id>` so far (set): a recovery
 *                  taken over delivers the dead node's inbox to them too;
 * - `owners-checked:<id>` the Redis master (`<run_id>/<master_replid>`) against which node
 *                  `<id>` last checked the owner keys of the sessions it holds (written back
 *                  those a failover lost: master-identity.ts); one per node id, kept;
 * - `idblocks:<id>` how many blocks of message ids were reserved for node id `<id>` so far
 *                  (a count, never deleted: each instance of the node id numbers its
 *                  messages from blocks after those; message-id-blocks.ts).
 */

/** Key and channel names under one prefix. */
export class ClusterKeys {
  constructor(readonly prefix: string) {}

  lease(nodeId: number): string {
    return `${this.prefix}node:${nodeId}`;
  }

  get members(): string {
    return `${this.prefix}nodes`;
  }

  routes(nodeId: number): string {
    return `${this.prefix}routes:${nodeId}`;
  }

  get routeChanges(): string {
    return `${this.prefix}routes`;
  }

  inbox(nodeId: number): string {
    return `${this.prefix}inbox:${nodeId}`;
  }

  control(nodeId: number): string {
    return `${this.prefix}control:${nodeId}`;
  }

  /** The channel QoS 0 messages are forwarded to node `nodeId` on (`cluster.qos0Channel`). */
  qos0(nodeId: number): string {
    return `${this.prefix}qos0:${nodeId}`;
  }

  wills(nodeId: number): string {
    return `${this.prefix}wills:${nodeId}`;
  }

  /** The wills of dead nodes' clients that node `nodeId` holds until sent or cancelled. */
  orphanWills(nodeId: number): string {
    return `${this.prefix}orphan-wills:${nodeId}`;
  }

  get addresses(): string {
    return `${this.prefix}addresses`;
  }

  get retainedChanges(): string {
    return `${this.prefix}retained`;
  }

  get instances(): string {
    return `${this.prefix}instances`;
  }

  /** Names the dead instance of node `nodeId` while a survivor recovers its sessions. */
  recovering(nodeId: number): string {
    return `${this.prefix}recovering:${nodeId}`;
  }

  /** The renamed inbox of node `nodeId`'s dead `instance`. */
  orphan(nodeId: number, instance: string): string {
    return `${this.prefix}orphan:${nodeId}:${instance}`;
  }

  /** The node (`<node id>/<instance>`) recovering dead node `nodeId`. */
  recoverer(nodeId: number): string {
    return `${this.prefix}recoverer:${nodeId}`;
  }

  /** The client ids adopted so far from dead node `nodeId` (a set). */
  adopted(nodeId: number): string {
    return `${this.prefix}adopted:${nodeId}`;
  }

  /** The count of message id blocks reserved for node id `nodeId` (message-id-blocks.ts). */
  idBlocks(nodeId: number): string {
    return `${this.prefix}idblocks:${nodeId}`;
  }

  /** The master node `nodeId` last checked its owner keys against (master-identity.ts). */
  ownersChecked(nodeId: number): string {
    return `${this.prefix}owners-checked:${nodeId}`;
  }

  /** The name of an instance's inbox position in the store (StoreCursors). */
  static inboxCursor(instance: string): string {
    return `inbox:${instance}`;
  }

  owner(clientId: string): string {
    return `${this.prefix}owner:${clientId}`;
  }

  /** The node waiting for `clientId`'s session to move to it (move-token.ts). */
  moving(clientId: string): string {
    return `${this.prefix}moving:${clientId}`;
  }

  /** Node `ownerValue` still waits for the answer to its hold of `clientId` (move-token.ts). */
  asking(clientId: string, ownerValue: string): string {
    return `${this.prefix}asking:${clientId}:${ownerValue}`;
  }
}
