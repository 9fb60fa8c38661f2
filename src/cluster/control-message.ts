/**
 * The messages of a node's control channel (`control:<id>`): takeover requests, hand-overs
 * of a draining node's sessions, and their answers; and their check when read.
 */
import { nodeIdField, optionalStringList, parseJsonObject, stringField } from './wire-checks.js';

/** A request or answer on a node's control channel. */
export type ControlMessage =
  | { t: 'takeover'; clientId: string; from: number; req: string }
  | { t: 'released'; req: string }
  /** A draining node hands its sessions over (owner: its owner value, for compare-and-set). */
  | { t: 'adopt'; clientIds: string[]; from: number; owner: string; req: string };

/** Parses a control channel message. @throws Error saying what is wrong with it. */
export function parseControlMessage(text: string): ControlMessage {
  const m = parseJsonObject(text);
  const req = stringField(m.req, 'req');
  switch (m.t) {
    case 'released':
      return { t: 'released', req };
    case 'takeover':
      return {
        t: 'takeover',
        clientId: stringField(m.clientId, 'clientId'),
        from: nodeIdField(m.from, 'from'),
        req,
      };
    case 'adopt': {
      const clientIds = optionalStringList(m.clientIds, 'clientIds');
      if (clientIds === undefined) throw new Error('clientIds is missing');
      return {
        t: 'adopt',
        clientIds,
        from: nodeIdField(m.from, 'from'),
        owner: stringField(m.owner, 'owner'),
        req,
      };
    }
    default:
      throw new Error('t is not takeover, released or adopt');
  }
}
