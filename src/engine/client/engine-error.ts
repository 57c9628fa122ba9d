// The one error type of the engine client: every failure (an error answer of the host, a
// crash, a stopped or failed engine, a cancelled wait) is an EngineError with a stable kind.
import { ConnectionError, ResponseError } from 'vscode-jsonrpc/node';

import { ErrorCode, type ErrorData, type ProtocolErrorKind } from '../protocol';

/** Kinds the client itself produces (the host's kinds are ProtocolErrorKind and the engine's). */
export type ClientErrorKind =
  /** The host process exited or was killed while the request was in flight. */
  | 'engine_crashed'
  /** The client gave up restarting the host (see EngineClient.restart()). */
  | 'engine_failed'
  /** The client was shut down or disposed. */
  | 'engine_stopped'
  /** The caller's AbortSignal fired before the answer arrived (loadModel only; generations resolve 'cancelled'). */
  | 'cancelled';

export type EngineErrorKind = ProtocolErrorKind | ClientErrorKind | (string & {});

export class EngineError extends Error {
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

function kindOfCode(code: number): EngineErrorKind {
  switch (code) {
    case ErrorCode.parseError:
      return 'parse_error';
    case ErrorCode.invalidRequest:
      return 'invalid_request';
    case ErrorCode.methodNotFound:
      return 'unknown_method';
    case ErrorCode.invalidParams:
      return 'invalid_params';
    default:
      return 'internal';
  }
}

/** Any failure as an EngineError: error answers keep the host's `data.kind`. */
export function toEngineError(error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  if (error instanceof ResponseError) {
    const data = error.data as Partial<ErrorData> | undefined;
    return new EngineError(typeof data?.kind === 'string' ? data.kind : kindOfCode(error.code), error.message);
  }
  if (error instanceof ConnectionError) return new EngineError('engine_crashed', `the connection to the engine process is gone (${error.message})`);
  const message = error instanceof Error ? error.message : String(error);
  return new EngineError('internal', `engine client: ${message}`);
}
