// Typed failures inside the engine host and their JSON-RPC form: every error answer carries
// `data.kind` (the stable kind) and a message that says what to do.
import { ResponseError } from 'vscode-jsonrpc/node';

import { isEngineError } from '../native';
import { errorCodeFor, type ErrorData, type ProtocolErrorKind } from '../protocol';

export class HostError extends Error {
  constructor(
    readonly kind: ProtocolErrorKind | (string & {}),
    message: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

/** Any thrown value as the error answer: typed errors (the host's, the engine's, validation) keep their kind. */
export function toResponseError(error: unknown): ResponseError<ErrorData> {
  if (error instanceof ResponseError) return error as ResponseError<ErrorData>;
  if (isEngineError(error)) return new ResponseError(errorCodeFor(error.kind), error.message, { kind: error.kind });
  const message = error instanceof Error ? error.message : String(error);
  return new ResponseError(errorCodeFor('internal'), `internal error in the engine host: ${message}`, { kind: 'internal' });
}
