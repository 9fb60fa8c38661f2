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
        'The engine imports nothing from node: (time, randomness and I/O come through ports). ' +
        'Two exceptions exist today and are listed in the next two rules.',
      severity: 'error',
      from: { path: '^src/core/', pathNot: '^src/core/(broker-core|publish-flow)\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      // TODO(#10 core reshape): remove once the client id tag comes from an injected port.
      name: 'core-no-node-exception-broker-core',
      comment:
        'Exception, to remove after the core reshape: broker-core.ts may use node:crypto only.',
      severity: 'error',
      from: { path: '^src/core/broker-core\\.ts$' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?crypto$' },
    },
    {
      // TODO(#10 core reshape): remove once UTF-8 validation comes from protocol/utf8.ts.
      name: 'core-no-node-exception-publish-flow',
      comment:
        'Exception, to remove after the core reshape: publish-flow.ts may use node:buffer only.',
      severity: 'error',
      from: { path: '^src/core/publish-flow\\.ts$' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?buffer$' },
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
      // TODO(#10 core reshape): make this an error once the core's cycle is broken (each one
      // left must be justified in a comment and listed here by path).
      name: 'no-module-cycles-in-core',
      comment: 'Import cycles between core files: reported, not yet failing (issue #10, part 1).',
      severity: 'warn',
      from: { path: '^src/core/' },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
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
