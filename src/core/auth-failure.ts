/**
 * A refused login as an error: the reason code the client gets (with the reason string it
 * may see) and, apart from it, why the broker refused, for the operator's log only. A client
 * is told 0x86 Bad user name or password whether the user is unknown or the password wrong
 * (telling them apart would let anyone probe for user names); the log says which.
 */
import { MqttError, REASON_CODE_NAMES } from '../protocol/index.js';

/** Thrown by the authentication step; error-mapping.ts logs it as a failed login. */
export class AuthenticationFailure extends MqttError {
  /** Why the login was refused, for the log (never sent to the client). */
  readonly logReason: string;

  /**
   * @param reasonCode what the client gets (CONNACK, or DISCONNECT for re-authentication)
   * @param clientMessage the reason string a v5 client may see
   * @param logReason why, for the operator; default: the reason string
   */
  constructor(reasonCode: number, clientMessage: string, logReason?: string) {
    super(reasonCode, clientMessage);
    this.logReason = logReason ?? clientMessage;
  }
}

/** `reasonString`, else the reason code's name (e.g. 'Banned'), else the code in hex. */
export function describeRefusal(reasonCode: number, reasonString?: string): string {
  return reasonString ?? REASON_CODE_NAMES[reasonCode] ?? `0x${reasonCode.toString(16)}`;
}
