/**
 * Routes over messages: retained messages (list, get, delete) and publishing as the host
 * application. A retained topic is the rest of the path (`/retained/a/b` or `/retained/a%2Fb`).
 */
import type { HostPublish } from '../../core/index.js';
import type { Properties, QoS } from '../../protocol/index.js';
import { isWellFormedUtf8, validateTopicName } from '../../protocol/index.js';
import type { ApiRoute } from './api-types.js';
import { BodyFields, decodeBase64 } from './body-fields.js';
import { ApiProblem } from './problem.js';
import { queryString } from './request-input.js';
import { PAGE_PARAMS, paging } from './routes-clients.js';
import { ref } from './schemas.js';

const TOPIC = {
  topic: 'the topic: URL-encoded (a/b as a%2Fb), or with its slashes as path segments',
};

function noRetained(topic: string): ApiProblem {
  return new ApiProblem('not-found', `no retained message on topic "${topic}"`);
}

const PUBLISH_FIELDS = [
  'topic',
  'payload',
  'payloadEncoding',
  'qos',
  'retain',
  'payloadIsUtf8',
  'contentType',
  'responseTopic',
  'correlationData',
  'messageExpiryInterval',
  'userProperties',
] as const;

/** The checked topic name of a publish (or a Response Topic). */
function topicName(value: string, field: string): string {
  try {
    validateTopicName(value);
  } catch (err) {
    throw new ApiProblem('bad-request', `field ${field}: ${(err as Error).message}`);
  }
  return value;
}

/** The payload bytes of a publish body. */
function payloadOf(fields: BodyFields): Buffer {
  const encoding = fields.oneOf('payloadEncoding', ['utf8', 'base64'] as const) ?? 'utf8';
  const text = fields.string('payload') ?? '';
  if (encoding === 'utf8') return Buffer.from(text, 'utf8');
  return decodeBase64(text, 'field payload');
}

/** The MQTT 5 properties of a publish body (undefined when none is set). */
function propertiesOf(fields: BodyFields, payload: Buffer): Properties | undefined {
  const properties: Properties = {};
  if (fields.boolean('payloadIsUtf8') === true) {
    // Subscribers may check the payload against the indicator (spec 3.3.2.3.2): never send
    // one that lies.
    if (!isWellFormedUtf8(payload)) {
      throw new ApiProblem('bad-request', 'field payloadIsUtf8: the payload is not valid UTF-8');
    }
    properties.payloadFormatIndicator = 1;
  }
  const contentType = fields.string('contentType');
  if (contentType !== undefined) properties.contentType = contentType;
  const responseTopic = fields.string('responseTopic');
  if (responseTopic !== undefined) {
    properties.responseTopic = topicName(responseTopic, 'responseTopic');
  }
  const correlation = fields.base64('correlationData');
  if (correlation !== undefined) properties.correlationData = correlation;
  const expiry = fields.integer('messageExpiryInterval', 0, 0xffffffff);
  if (expiry !== undefined) properties.messageExpiryInterval = expiry;
  const userProperties = fields.pairs('userProperties');
  if (userProperties !== undefined) properties.userProperties = userProperties;
  return Object.keys(properties).length === 0 ? undefined : properties;
}

/** A publish request body, checked, as `broker.publish` takes it. */
export function publishRequest(body: unknown): HostPublish {
  if (body === undefined) throw new ApiProblem('bad-request', 'a JSON body is required');
  const fields = BodyFields.of(body, PUBLISH_FIELDS);
  const topic = topicName(fields.requiredString('topic'), 'topic');
  if (topic.startsWith('$SYS/') || topic === '$SYS') {
    throw new ApiProblem('bad-request', 'field topic: $SYS topics are written by the broker only');
  }
  const payload = payloadOf(fields);
  const qos = (fields.integer('qos', 0, 2) ?? 0) as QoS;
  const retain = fields.boolean('retain') ?? false;
  const properties = propertiesOf(fields, payload);
  return { topic, payload, qos, retain, ...(properties ? { properties } : {}) };
}

/** The routes of this file, in the order of the document. */
export const MESSAGE_ROUTES: readonly ApiRoute[] = [
  {
    method: 'GET',
    path: '/retained',
    operationId: 'listRetained',
    tag: 'retained',
    summary: 'List retained messages under a topic filter, by topic (payloads shortened)',
    scope: 'read',
    query: [
      {
        name: 'filter',
        type: 'string',
        description: 'a topic filter, default # (which does not match $ topics: ask $SYS/# apart)',
      },
      ...PAGE_PARAMS,
    ],
    success: {
      status: 200,
      description: 'a page of retained messages',
      schema: ref('RetainedMessageInfoPage'),
    },
    errors: [400],
    handle: async (ctx) => {
      const page = await ctx.options.broker.admin.retained({
        filter: queryString(ctx.query, 'filter'),
        ...paging(ctx),
      });
      return { status: 200, body: page };
    },
  },
  {
    method: 'GET',
    path: '/retained/{topic}',
    restParam: 'topic',
    operationId: 'getRetained',
    tag: 'retained',
    summary: 'The retained message of a topic, with its whole payload',
    scope: 'read',
    pathParams: TOPIC,
    success: { status: 200, description: 'the message', schema: ref('RetainedMessageInfo') },
    errors: [400, 404],
    handle: async (ctx) => {
      const topic = ctx.params.topic!;
      const message = await ctx.options.broker.admin.retainedMessage(topic);
      if (message === undefined) throw noRetained(topic);
      return { status: 200, body: message };
    },
  },
  {
    method: 'DELETE',
    path: '/retained/{topic}',
    restParam: 'topic',
    operationId: 'deleteRetained',
    tag: 'retained',
    summary: 'Remove the retained message of a topic (nothing is published)',
    scope: 'full',
    pathParams: TOPIC,
    success: { status: 204, description: 'removed' },
    errors: [400, 404],
    handle: async (ctx) => {
      const topic = ctx.params.topic!;
      if (!(await ctx.options.broker.admin.clearRetained(topic))) throw noRetained(topic);
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    path: '/publish',
    operationId: 'publish',
    tag: 'messages',
    summary: 'Publish a message as the host application (no ACL applies)',
    scope: 'full',
    body: { schema: ref('PublishRequest'), required: true },
    success: { status: 200, description: 'published', schema: ref('PublishResult') },
    errors: [400, 413, 415],
    handle: async (ctx) => {
      const deliveries = await ctx.options.broker.publish(publishRequest(ctx.body));
      return { status: 200, body: { deliveries } };
    },
  },
];
