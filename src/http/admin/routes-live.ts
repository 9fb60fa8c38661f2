/**
 * Routes for watching the broker live (what the dashboard polls and streams): the process's
 * runtime figures, and the live tap, a server-sent events stream of the messages published
 * on this node that match a filter (full tokens only: it shows payloads).
 */
import { isValidTopicFilter } from '../../protocol/index.js';
import type { ApiRoute } from './api-types.js';
import { ApiProblem } from './problem.js';
import { queryString } from './request-input.js';
import type { RuntimeSampler } from './runtime-stats.js';
import type { TapHub } from './tap-hub.js';
import { TAP_PAYLOAD_BYTES } from './tap-stream.js';

const RUNTIME_SCHEMA = {
  type: 'object',
  properties: {
    eventLoopDelayMs: {
      type: 'object',
      properties: { mean: { type: 'number' }, p99: { type: 'number' }, max: { type: 'number' } },
    },
    windowMs: { type: 'integer' },
    rssBytes: { type: 'integer' },
    heapUsedBytes: { type: 'integer' },
    processUptimeSeconds: { type: 'integer' },
    storeCommits: {
      type: ['object', 'null'],
      description:
        "the store's group commits since start (null: a store that does not time them): " +
        'divide the differences of two readings for the mean latency between them',
      properties: {
        commits: { type: 'integer' },
        batchSecondsTotal: { type: 'number' },
        commitSecondsTotal: { type: 'number' },
      },
    },
  },
};

const TAP_DESCRIPTION =
  'A text/event-stream: a `ready` event ({filter, maxRate}), then a `message` event per ' +
  'matching message published on this node ({topic, qos, retain, payloadBytes, payloadBase64 ' +
  `(at most ${TAP_PAYLOAD_BYTES} bytes), payloadTruncated, publisherClientId, at}) and, each ` +
  'second they change, a `stats` event ({sent, droppedRate, droppedSlow}). At most maxRate ' +
  'messages a second are sent; the others are counted in droppedRate. The stream lasts until ' +
  'the client closes it. A tap is not an MQTT client (no session, no client counter).';

/** The filter of a tap request, checked. */
function tapFilter(value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new ApiProblem('bad-request', 'query parameter filter is required (e.g. filter=%23)');
  }
  if (!isValidTopicFilter(value)) {
    throw new ApiProblem(
      'bad-request',
      `query parameter filter: ${JSON.stringify(value)} is not a valid topic filter`,
    );
  }
  return value;
}

/** The routes of this file over `hub` and `sampler`. */
export function liveRoutes(hub: TapHub, sampler: RuntimeSampler): ApiRoute[] {
  return [
    {
      method: 'GET',
      path: '/runtime',
      operationId: 'getRuntime',
      tag: 'broker',
      summary: "The process's event-loop delay (per second) and memory",
      scope: 'read',
      success: { status: 200, description: 'the figures', schema: RUNTIME_SCHEMA },
      errors: [],
      handle: async (ctx) => ({
        status: 200,
        body: sampler.read(ctx.options.broker.storeCommits?.()),
      }),
    },
    {
      method: 'GET',
      path: '/tap',
      operationId: 'tap',
      tag: 'messages',
      summary: 'Stream the messages published on this node that match a filter (live tap)',
      description: TAP_DESCRIPTION,
      scope: 'full',
      query: [{ name: 'filter', type: 'string', description: 'the topic filter to watch' }],
      success: {
        status: 200,
        description: 'the event stream',
        mediaType: 'text/event-stream',
        schema: { type: 'string' },
      },
      errors: [501],
      handle: async (ctx) => {
        const filter = tapFilter(queryString(ctx.query, 'filter'));
        return { status: 200, stream: (res) => hub.open(filter, res) };
      },
    },
  ];
}
