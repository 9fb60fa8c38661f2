// The layering of src/ (see ARCHITECTURE.md, "Layers and who may import whom"), checked by
// `npm run depcheck` in CI. Direction: protocol <- topic <- core -> ports <- storage;
// transport -> core; hooks -> core types; only the composition root (src/broker.ts,
// src/index.ts) wires everything together.

/** The broker's code outside the two pure layers. */
const ABOVE_TOPIC = '^src/(?!protocol/|topic/)';

/** What the engine may import: itself, the ports it talks through, the codec, topics. */
const OUTSIDE_CORE = '^src/(?!core/|ports/|protocol/|topic/)';

module.exports = {
  forbidden: [
    {
      name: 'protocol-is-pure',
      comment: 'The codec imports nothing of the broker: only other protocol files.',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { path: '^src/(?!protocol/)' },
    },
    {
      name: 'topic-is-pure',
      comment: 'Topic algebra imports nothing of the broker but the codec.',
      severity: 'error',
      from: { path: '^src/topic/' },
      to: { path: ABOVE_TOPIC },
    },
    {
      name: 'core-imports-nothing-above-it',
      comment:
        'The engine never imports transport, storage, config, cli, hooks, client, bench, ' +
        'admin, the composition root or anything else above it: only core, ports, protocol ' +
        'and topic.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: OUTSIDE_CORE },
    },
    {
      name: 'ports-are-interfaces',
      comment: 'Ports import nothing of the broker but protocol types (type-only imports).',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: {
        path: '^src/(?!ports/)',
        // A type import of the codec is allowed; a value import is not, nor anything else.
        pathNot: '^src/protocol/',
      },
    },
    {
      name: 'ports-import-protocol-types-only',
      comment: 'Ports may name protocol types, never import protocol code.',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { path: '^src/protocol/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'admin-api-below-transports',
      comment:
        'The read and command API reads the engine through its members; it never reaches ' +
        'into transports, storage, config or the CLI.',
      severity: 'error',
      from: { path: '^src/admin/' },
      to: { path: '^src/(transport|storage|config|cli|client|bench|hooks)/|^src/broker\\.ts$' },
    },
    {
      name: 'cluster-below-the-root',
      comment:
        "The cluster (src/cluster) joins the engine to Redis through the core's seams: it " +
        'imports core, ports, protocol, topic, node: modules and ioredis, never transports, ' +
        'storage, config, the CLI, hooks, admin or the composition root.',
      severity: 'error',
      from: { path: '^src/cluster/' },
      to: {
        path: '^src/(transport|storage|config|cli|client|bench|hooks|admin|http)/|^src/(broker|index)\\.ts$',
      },
    },
    {
      name: 'http-is-thin',
      comment:
        'The HTTP listener (src/http) serves routes it is given: it imports only the ports ' +
        '(the logger) and the transport helpers it shares (addresses, closing, TLS files), ' +
        'never the engine, storage, config, metrics or the admin API.',
      severity: 'error',
      // src/http/admin is the admin API's route, with its own rule (admin-http-over-the-admin-api).
      from: { path: '^src/http/', pathNot: '^src/http/admin/' },
      to: {
        path: '^src/',
        pathNot: '^src/(http|ports)/|^src/transport/(listener|tls-context)\\.ts$',
      },
    },
    {
      name: 'metrics-read-the-engine',
      comment:
        'Metrics (src/metrics) read the engine and the ports at scrape time and serve them as ' +
        'an HTTP route: they import core, ports and http, nothing else of the broker.',
      severity: 'error',
      from: { path: '^src/metrics/' },
      to: { path: '^src/', pathNot: '^src/(metrics|core|ports|http)/' },
    },
    {
      name: 'only-the-top-imports-the-root',
      comment:
        'src/broker.ts and src/index.ts wire everything: only config and the CLI (above ' +
        'them) may import them.',
      severity: 'error',
      from: { path: '^src/(?!config/|cli/)[^/]+/' },
      to: { path: '^src/(broker|index)\\.ts$' },
    },
    {
      name: 'pure-layers-no-node',
      comment: 'The codec and topic algebra use no Node module but Buffer.',
      severity: 'error',
      from: { path: '^src/(protocol|topic)/' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?buffer$' },
    },
    {
      name: 'core-no-node',
      comment:
        'The engine imports nothing from node: (time, randomness and I/O come through ports).',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'no-folder-cycles',
      comment: 'No cycle between folders: layers depend one way.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycles-outside-core',
      comment:
        'No runtime import cycle between files outside src/core (a cycle of type-only ' +
        'imports, like packets.ts <-> properties.ts, loads nothing at run time).',
      severity: 'error',
      from: { path: '^src/(?!core/)' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      // Type-only cycles count too: the core's files name each other through core-services.ts
      // and handler-context.ts interfaces, never through a class of another file.
      name: 'no-module-cycles-in-core',
      comment: 'No import cycle between core files, type-only imports included.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { circular: true },
    },
    {
      name: 'bridge-over-client-and-core',
      comment:
        'A bridge is a local session (core) and a remote connection (client): it imports ' +
        'core, client, ports, protocol and topic, never transports, storage, config, the ' +
        'CLI, hooks, admin, bench or the composition root (which starts it).',
      severity: 'error',
      from: { path: '^src/bridge/' },
      to: { path: '^src/(transport|storage|config|cli|hooks|admin|bench|http)/' },
    },
    {
      name: 'bridge-used-from-the-top',
      comment: 'Only the composition root, config (its options) and the CLI import bridges.',
      severity: 'error',
      from: { path: '^src/(?!bridge/|config/|cli/)[^/]+/' },
      to: { path: '^src/bridge/' },
    },
    {
      name: 'redis-store-is-a-storage-leaf',
      comment:
        'src/storage/redis/ implements the store ports over ioredis: it imports ports, the ' +
        "storage folder's shared code, topic matching and protocol types, never core, " +
        'transport, config or the CLI (the composition root picks it).',
      severity: 'error',
      from: { path: '^src/storage/redis/' },
      to: { path: '^src/(?!ports/|storage/shared/|storage/redis/|redis/|topic/|protocol/)' },
    },
    {
      name: 'ioredis-only-in-redis-code',
      comment: 'Only the Redis store, the cluster and their shared Redis code talk to ioredis.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(storage/redis|cluster|redis)/' },
      to: { path: '(^|/)node_modules/ioredis/|^ioredis$' },
    },
    {
      name: 'redis-plumbing-is-a-leaf',
      comment:
        'src/redis/ is the Redis code the store and the cluster share (one server or a Redis ' +
        'Cluster, the hash-tag rules): it imports ioredis and nothing else of Pipit.',
      severity: 'error',
      from: { path: '^src/redis/' },
      to: { path: '^src/(?!redis/)' },
    },
    {
      name: 'redis-plumbing-users',
      comment:
        'Only the Redis store, the cluster and the config (its checks: hash-tag.ts) use src/redis/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(redis|storage/redis|cluster|config)/' },
      to: { path: '^src/redis/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'admin-http-over-the-admin-api',
      comment:
        'The admin HTTP API (src/http/admin) maps requests to broker.admin and the broker it ' +
        'is given (structurally): it may import admin, core types, protocol, topic (the live ' +
        'tap matches filters), hooks (token hashing, the login guard), ports and src/http; ' +
        'never storage, config, the CLI, transports, client, bench or the composition root.',
      severity: 'error',
      from: { path: '^src/http/admin/' },
      to: {
        path: '^src/(transport|storage|config|cli|client|bench|cluster)/|^src/(broker|index)\\.ts$',
      },
    },
    {
      name: 'dashboard-route-serves-files',
      comment:
        'The dashboard route (src/http/dashboard) serves the built page from dist/dashboard: ' +
        'it imports only src/http (problems, the route type). The page itself talks to the ' +
        'admin API over HTTP, never through imports. Only the composition roots (src/cli, ' +
        'src/index.ts) mount it.',
      severity: 'error',
      from: { path: '^src/http/dashboard/' },
      to: { path: '^src/', pathNot: '^src/http/(problem|route)\\.ts$|^src/http/dashboard/' },
    },
    {
      name: 'dashboard-route-mounted-by-the-roots',
      comment: 'Only the CLI and the public API (src/index.ts) mount the dashboard route.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli/|http/dashboard/|index\\.ts$)' },
      to: { path: '^src/http/dashboard/' },
    },
    {
      name: 'ops-reads-the-engine',
      comment:
        'Operations ($SYS topics, the version) read the engine and the read API and publish ' +
        'through the core: never transports, storage, config, the CLI, hooks or HTTP.',
      severity: 'error',
      from: { path: '^src/ops/' },
      to: { path: '^src/(transport|storage|config|cli|client|bench|hooks|http)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
