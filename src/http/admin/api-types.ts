/**
 * The shapes of the admin API: what it is built from (the broker, seen through the few
 * members it uses), the route table's entries (from which both the router and the OpenAPI
 * document are made, so the two cannot drift), and the results it adds to `broker.admin`'s.
 */
import type { ServerResponse } from 'node:http';
import type { AdminApi } from '../../admin/index.js';
import type { HostPublish } from '../../core/index.js';
import type { LoginGuard } from '../../hooks/index.js';
import type { Logger } from '../../ports/index.js';
import type { QueryParam, QueryValues } from './request-input.js';
import type { CommitTotalsView } from './runtime-stats.js';
import type { JsonSchema } from './schemas.js';
import type { PublishedFeed, TapOptions } from './tap-hub.js';
import type { AdminToken, TokenScope, TokenVerifier } from './token-auth.js';

/**
 * The broker as the admin API sees it (a `Broker` is one). Its `published` event (`on`/`off`)
 * feeds the live tap; without it `GET /tap` answers 501.
 */
export interface AdminTarget extends Partial<PublishedFeed> {
  /** The read and command API the routes map to. */
  readonly admin: AdminApi;
  /** Publishes as the host application. */
  publish(message: HostPublish): Promise<number>;
  /** The running MQTT listeners. */
  readonly addresses: readonly ListenerInfo[];
  /** Totals of the store's commits (`GET /runtime`); undefined when not timed. */
  storeCommits?(): CommitTotalsView | undefined;
  /**
   * The core's counters, read as they are (a Broker has them): `GET /nodes` answers at once
   * from them, even while the store restores; without them it asks `admin.counters()`.
   */
  readonly core?: { readonly metrics: NodeCounters };
}

/** The counters `GET /nodes` shows of this node. */
export interface NodeCounters {
  readonly connectionsCurrent: number;
  readonly messagesReceived: number;
  readonly messagesSent: number;
}

/** One MQTT listener of a node. */
export interface ListenerInfo {
  protocol: string;
  host: string;
  port: number;
  url: string;
}

/** What `POST /reload` reports (what SIGHUP does, see config/reload.ts). */
export interface ReloadReport {
  /** Each password and ACL file, in configuration order. */
  files: ReloadedFile[];
  /** Connections closed because their login was revoked (user removed, password changed). */
  revokedConnections: number;
  /** The TLS certificates and keys of every TLS listener. */
  tls: { ok: boolean; error: string | null };
  /**
   * The admin API's tokens, reread from the configuration file (`adminApi.tokens`); null
   * when the broker has no configuration file. On an error the previous tokens stay.
   */
  adminTokens: { ok: boolean; error: string | null; tokens: string[] } | null;
}

/** What `POST /drain` answers: the node began draining (it leaves once its clients are gone). */
export interface DrainAccepted {
  /** This node's id, as `GET /nodes` names it. */
  nodeId: string;
  state: 'draining';
}

/** The outcome of reloading one file. */
export interface ReloadedFile {
  path: string;
  kind: 'password' | 'acl';
  /** False: the file could not be read or parsed; its previous contents stay in force. */
  ok: boolean;
  error: string | null;
  /** Password files: the users removed or whose password changed. */
  revoked: string[];
}

/** A node's state: `unknown` for a live peer whose summary is missing. */
export type NodeState = 'up' | 'draining' | 'unknown';

/** One broker node (`GET /nodes`). */
export interface NodeInfo {
  nodeId: string;
  /** True for the node that answers. */
  self: boolean;
  state: NodeState;
  /** Null for a peer whose summary is missing. */
  version: string | null;
  /** Milliseconds since the epoch; null for a peer whose summary is missing. */
  startedAt: number | null;
  uptimeSeconds: number | null;
  /** Where MQTT clients reach it (`cluster.advertise`); null when none. */
  address: string | null;
  /** Clients connected now (a peer: as of its last heartbeat). */
  connections: number | null;
  /** PUBLISH packets received from clients since start. */
  messagesReceived: number | null;
  /** PUBLISH packets sent to clients since start. */
  messagesSent: number | null;
  /** The node's listeners; empty for a peer whose summary is missing. */
  listeners: ListenerInfo[];
}

/** What a peer published of itself (cluster: on each heartbeat). */
export interface PeerSummary {
  version: string;
  startedAt: number;
  address: string | null;
  state: 'up' | 'draining';
  connections: number;
  messagesReceived: number;
  messagesSent: number;
  listeners: ListenerInfo[];
}

/** A live peer of this node's cluster, with its summary (undefined: missing). */
export interface PeerNode {
  nodeId: string;
  summary: PeerSummary | undefined;
}

/** Options of `createAdminRoute`. */
export interface AdminRouteOptions {
  broker: AdminTarget;
  /** The accepted tokens (config `adminApi.tokens`); none: every request is refused. */
  tokens: readonly AdminToken[];
  /**
   * Checks the tokens instead of one built from `tokens` and `guard`: keep it to replace the
   * tokens later (`setTokens`, on a reload).
   */
  verifier?: TokenVerifier;
  /**
   * Throttles, queues and caches token checks (hashing is slow). Pass the broker's login
   * guard to have one hash queue per process; default: one of the API's own.
   */
  guard?: LoginGuard;
  /** What SIGHUP does; without it `POST /reload` answers 501. */
  reload?: () => Promise<ReloadReport>;
  /**
   * Draining this cluster node, as SIGTERM does (docs/cluster.md): `begin` runs once `POST
   * /drain` has been answered, unless `draining()` says it began already (409). Without it (a
   * node outside a cluster) `POST /drain` answers 501.
   */
  drain?: { draining(): boolean; begin(): void };
  /** This node's id (default: the host name), version and start time (default: now). */
  node?: {
    id?: string | (() => string);
    version?: string;
    startedAt?: number;
    /** This node's state (default `up`): `draining` while a cluster node drains. */
    state?: () => 'up' | 'draining';
    /** Where MQTT clients reach this node (`cluster.advertise`). */
    address?: string;
  };
  /**
   * The other live nodes of the cluster this node is part of, with what each published of
   * itself (listed by `GET /nodes` after this one); none when it runs alone.
   */
  peers?: () => Promise<readonly PeerNode[]>;
  /** Largest request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  logger?: Logger;
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
  /** The live tap's caps: taps open at once (default 4), messages per second each (50). */
  tap?: TapOptions;
}

/** What a route handler gets. */
export interface RouteContext {
  /** Path parameters, decoded. */
  params: Record<string, string>;
  query: QueryValues;
  /** The parsed JSON body (undefined when there is none or the route takes none). */
  body: unknown;
  options: AdminRouteOptions;
}

/** What a route handler answers: a status and a JSON body (undefined: no content). */
export interface RouteResult {
  status: number;
  body?: unknown;
  /** A streamed answer instead of a body: writes the headers and the stream itself. */
  stream?: (res: ServerResponse) => void;
  /**
   * Runs once the answer has been written, or its caller went away (e.g. a drain that closes
   * this very listener).
   */
  afterSent?: () => void;
}

/** A documented answer of a route. */
export interface RouteResponse {
  description: string;
  /** The body's media type (default `application/json`). */
  mediaType?: string;
  /** The body's schema (a `$ref` into the document's components, or inline). */
  schema?: JsonSchema;
}

/** One operation of the API: how it is matched, checked, documented and answered. */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** Under the prefix, with `{name}` parameters: `/clients/{clientId}/disconnect`. */
  path: string;
  /**
   * The parameter that takes the rest of the path, `/` included (a retained topic): raw or
   * URL-encoded slashes both work.
   */
  restParam?: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** `read` routes accept read-only tokens; `full` ones need a full token. */
  scope: TokenScope;
  /** Descriptions of the path parameters. */
  pathParams?: Readonly<Record<string, string>>;
  query?: readonly QueryParam[];
  /** The JSON body a route takes (all of its fields optional or not, as the schema says). */
  body?: { schema: JsonSchema; required: boolean };
  /** The success answer; errors are documented for every route from `errors`. */
  success: { status: number } & RouteResponse;
  /** The statuses of the problems this route may answer besides the common ones. */
  errors: readonly number[];
  handle(ctx: RouteContext): Promise<RouteResult>;
}
