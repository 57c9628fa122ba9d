// The one protocol between the extension host and the engine host (a child process).
// Every message is here. Bump PROTOCOL_VERSION on any incompatible change; both sides
// check it in the `hello` exchange.
export const PROTOCOL_VERSION = 1;

export type Method = 'hello';

export interface HelloResult {
  protocolVersion: number;
  engineVersion: string;
  cpuFeatures: string[];
  pid: number;
}

export interface ResultOf {
  hello: HelloResult;
}

export interface Request<M extends Method = Method> {
  v: typeof PROTOCOL_VERSION;
  id: number;
  method: M;
}

export interface ErrorPayload {
  kind: string;
  message: string;
}

export type Response<M extends Method = Method> =
  | { v: typeof PROTOCOL_VERSION; id: number; ok: true; result: ResultOf[M] }
  | { v: typeof PROTOCOL_VERSION; id: number; ok: false; error: ErrorPayload };

const METHODS: readonly Method[] = ['hello'];

export function isRequest(value: unknown): value is Request {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<Request>;
  return r.v === PROTOCOL_VERSION && typeof r.id === 'number' && METHODS.includes(r.method as Method);
}

export function isResponse(value: unknown): value is Response {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as { v?: unknown; id?: unknown; ok?: unknown };
  return r.v === PROTOCOL_VERSION && typeof r.id === 'number' && typeof r.ok === 'boolean';
}
