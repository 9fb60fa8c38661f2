/**
 * The one error the read and command API throws for a request it cannot answer: a page size
 * out of range, a cursor it did not make, a malformed topic or filter. The admin HTTP API
 * answers it with 400; anything else is the broker's failure.
 */
export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
}
