/**
 * The messages of a node's control channel (`control:<id>`): takeover requests, hand-overs
 * of a draining node's sessions, the steps of a session move between live nodes (hold,
 * barrier, release), and their answers; and their check when read.
 */
import { nodeIdField, optionalStringList, parseJsonObject, stringField } from './wire-checks.js';

/** A request or answer on a node's control channel. */
export type ControlMessage =
  | { t: 'takeover'; clientId: string; from: number; req: string }
  /**
   * The answer to `takeover`, `release`, `releaseAll`, `adopt`; `kept`: to a `release`, the
   * session stays on the answering node (its client connected there again since the hold).
   */
  | { t: 'released'; req: string; kept?: true }
  /** A draining node hands its sessions over (owner: its owner value, for compare-and-set). */
  | { t: 'adopt'; clientIds: string[]; from: number; owner: string; req: string }
  /**
   * A move's first step: close the client's connection, keep its session (session-move.ts);
   * only while `owner` (the asking node's owner value) still waits for the answer.
   */
  | { t: 'hold'; clientId: string; from: number; req: string; owner: string }
  /** The answer to `hold`: whether a session is held (false: it ended with its connection). */
  | { t: 'held'; req: string; session: boolean }
  /**
   * A move's last step: once the route barrier passed, hand the owner key to `owner` (the
   * asking node's owner value) and let go of the held session; `clean`: the new connection
   * starts clean, so the session ends (its delayed will is sent [MQTT-3.1.3-9]).
   */
  | { t: 'release'; clientId: string; from: number; req: string; owner: string; clean: boolean }
  /** A drain hand-over's last step: once the route barrier passed, let go of these sessions. */
  | { t: 'releaseAll'; clientIds: string[]; from: number; req: string }
  /** Append a marker for move `req` to node `to`'s inbox, after the forwards before it. */
  | { t: 'barrier'; to: number; req: string };

/** Parses a control channel message. @throws Error saying what is wrong with it. */
export function parseControlMessage(text: string): ControlMessage {
  const m = parseJsonObject(text);
  const req = stringField(m.req, 'req');
  switch (m.t) {
    case 'released':
      if (m.kept !== undefined && m.kept !== true) throw new Error('kept is not true');
      return m.kept ? { t: 'released', req, kept: true } : { t: 'released', req };
    case 'release':
      if (typeof m.clean !== 'boolean') throw new Error('clean is not a boolean');
      return {
        t: 'release',
        clientId: stringField(m.clientId, 'clientId'),
        from: nodeIdField(m.from, 'from'),
        req,
        owner: stringField(m.owner, 'owner'),
        clean: m.clean,
      };
    case 'takeover':
      return {
        t: m.t,
        clientId: stringField(m.clientId, 'clientId'),
        from: nodeIdField(m.from, 'from'),
        req,
      };
    case 'hold':
      return {
        t: m.t,
        clientId: stringField(m.clientId, 'clientId'),
        from: nodeIdField(m.from, 'from'),
        req,
        owner: stringField(m.owner, 'owner'),
      };
    case 'held':
      if (typeof m.session !== 'boolean') throw new Error('session is not a boolean');
      return { t: 'held', req, session: m.session };
    case 'barrier':
      return { t: 'barrier', to: nodeIdField(m.to, 'to'), req };
    case 'releaseAll': {
      const clientIds = optionalStringList(m.clientIds, 'clientIds');
      if (clientIds === undefined) throw new Error('clientIds is missing');
      return { t: 'releaseAll', clientIds, from: nodeIdField(m.from, 'from'), req };
    }
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
      throw new Error(
        't is not takeover, released, adopt, hold, held, release, releaseAll or barrier',
      );
  }
}
