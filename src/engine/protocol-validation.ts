// Runtime checks of request params (the engine host runs them on everything it receives).
// Hand-written on purpose: the rules are few and the messages must name the field path
// (`chunks[2].text must be a string, got number`). Unknown fields are refused too, so a
// misspelt option fails loudly instead of being ignored.
import {
  type BackendPreference,
  type CancelParams,
  type ChatMessage,
  type ChatParams,
  type CompleteParams,
  type ContextChunk,
  type GenerationParams,
  type InitializeParams,
  type LoadModelParams,
  type MethodName,
  type ParamsOf,
  type SamplingParams,
  type TokenizeParams,
} from './protocol';

/** A params object that breaks the protocol; the host answers with kind 'invalid_params'. */
export class InvalidParamsError extends Error {
  readonly kind = 'invalid_params';
}

/** Longest prompt text accepted in one field (characters). */
export const MAX_TEXT_LENGTH = 8 * 1024 * 1024;
const MAX_ID_LENGTH = 128;
const MAX_STOP_STRINGS = 16;
const MAX_STOP_LENGTH = 256;
const MAX_CHUNKS = 256;
const MAX_MESSAGES = 4096;
const MAX_TOKENS = 1 << 20;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Reads the fields of one object, each named by its path for error messages. */
class Fields {
  private readonly o: Record<string, unknown>;

  constructor(value: unknown, private readonly path: string, allowed: readonly string[]) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidParamsError(`${path || 'params'} must be an object, got ${describe(value)}`);
    }
    this.o = value as Record<string, unknown>;
    const unknown = Object.keys(this.o).filter((k) => !allowed.includes(k));
    if (unknown.length > 0) {
      throw new InvalidParamsError(`${this.at(unknown[0] ?? '')} is not a known field (known: ${allowed.join(', ') || 'none'})`);
    }
  }

  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  private fail(key: string, expected: string): never {
    throw new InvalidParamsError(`${this.at(key)} must be ${expected}, got ${describe(this.o[key])}`);
  }

  has(key: string): boolean {
    return this.o[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.o[key];
  }

  string(key: string, maxLength = MAX_TEXT_LENGTH, minLength = 0): string {
    const v = this.o[key];
    if (typeof v !== 'string') this.fail(key, 'a string');
    if (v.length < minLength || v.length > maxLength) {
      throw new InvalidParamsError(`${this.at(key)} must have ${minLength}..${maxLength} characters, got ${v.length}`);
    }
    return v;
  }

  optString(key: string, maxLength = MAX_TEXT_LENGTH): string | undefined {
    return this.has(key) ? this.string(key, maxLength) : undefined;
  }

  number(key: string, min: number, max: number, integer: boolean): number {
    const v = this.o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, integer ? 'an integer' : 'a finite number');
    if (integer && !Number.isInteger(v)) this.fail(key, 'an integer');
    if (v < min || v > max) throw new InvalidParamsError(`${this.at(key)} must be in [${min}, ${max}], got ${v}`);
    return v;
  }

  optNumber(key: string, min: number, max: number, integer: boolean): number | undefined {
    return this.has(key) ? this.number(key, min, max, integer) : undefined;
  }

  optBoolean(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const v = this.o[key];
    if (typeof v !== 'boolean') this.fail(key, 'a boolean');
    return v;
  }

  array<T>(key: string, maxItems: number, item: (value: unknown, path: string) => T): T[] {
    const v = this.o[key];
    if (!Array.isArray(v)) this.fail(key, 'an array');
    if (v.length > maxItems) throw new InvalidParamsError(`${this.at(key)} may have at most ${maxItems} items, got ${v.length}`);
    return v.map((x, i) => item(x, `${this.at(key)}[${i}]`));
  }
}

/** Copies the defined entries of `optional` onto `base` (exactOptionalPropertyTypes-friendly). */
function withOptional<T extends object>(base: T, optional: { [K in keyof T]?: T[K] | undefined }): T {
  const out = { ...base };
  for (const [k, v] of Object.entries(optional)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

function noParams(value: unknown): undefined {
  if (value === undefined || value === null) return undefined;
  new Fields(value, '', []);
  return undefined;
}

function initialize(value: unknown): InitializeParams {
  const f = new Fields(value, '', ['protocolVersion', 'client']);
  return { protocolVersion: f.number('protocolVersion', 0, Number.MAX_SAFE_INTEGER, true), client: f.string('client', 200) };
}

const BACKENDS: readonly string[] = ['auto', 'cpu', 'metal'] satisfies BackendPreference[];

function loadModel(value: unknown): LoadModelParams {
  const f = new Fields(value, '', ['path', 'contextSize', 'threads', 'kvBudgetMb', 'backend']);
  const backend = f.optString('backend', 16);
  if (backend !== undefined && !BACKENDS.includes(backend)) {
    throw new InvalidParamsError(`${f.at('backend')} must be one of ${BACKENDS.join(', ')}, got '${backend}'`);
  }
  return withOptional<LoadModelParams>(
    { path: f.string('path', 4096, 1) },
    {
      contextSize: f.optNumber('contextSize', 16, MAX_TOKENS, true),
      threads: f.optNumber('threads', 1, 256, true),
      kvBudgetMb: f.optNumber('kvBudgetMb', 1, 1 << 20, true),
      backend: backend as BackendPreference | undefined,
    },
  );
}

function tokenize(value: unknown): TokenizeParams {
  const f = new Fields(value, '', ['text', 'addSpecial', 'parseSpecial']);
  return withOptional<TokenizeParams>({ text: f.string('text') }, { addSpecial: f.optBoolean('addSpecial'), parseSpecial: f.optBoolean('parseSpecial') });
}

function sampling(value: unknown, path: string): SamplingParams {
  const f = new Fields(value, path, ['temp', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'seed']);
  return withOptional<SamplingParams>(
    {},
    {
      temp: f.optNumber('temp', 0, 100, false),
      topK: f.optNumber('topK', 0, 1 << 20, true),
      topP: f.optNumber('topP', 0, 1, false),
      minP: f.optNumber('minP', 0, 1, false),
      repeatPenalty: f.optNumber('repeatPenalty', 0.01, 100, false),
      repeatLastN: f.optNumber('repeatLastN', 0, 1 << 20, true),
      seed: f.optNumber('seed', 0, 0xffffffff, true),
    },
  );
}

const GENERATION_FIELDS = ['requestId', 'maxTokens', 'sampling', 'stop', 'timeBudgetMs', 'ignoreEos'] as const;

function generation(f: Fields): GenerationParams {
  return withOptional<GenerationParams>(
    { requestId: f.string('requestId', MAX_ID_LENGTH, 1), maxTokens: f.number('maxTokens', 0, MAX_TOKENS, true) },
    {
      sampling: f.has('sampling') ? sampling(f.raw('sampling'), f.at('sampling')) : undefined,
      stop: f.has('stop') ? f.array('stop', MAX_STOP_STRINGS, (v, p) => stopString(v, p)) : undefined,
      timeBudgetMs: f.optNumber('timeBudgetMs', 1, 24 * 3600 * 1000, false),
      ignoreEos: f.optBoolean('ignoreEos'),
    },
  );
}

function stopString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_STOP_LENGTH) {
    throw new InvalidParamsError(`${path} must be a string of 1..${MAX_STOP_LENGTH} characters, got ${typeof value === 'string' ? `${value.length} characters` : describe(value)}`);
  }
  return value;
}

function chunk(value: unknown, path: string): ContextChunk {
  const f = new Fields(value, path, ['path', 'text']);
  return withOptional<ContextChunk>({ text: f.string('text') }, { path: f.optString('path', 4096) });
}

function complete(value: unknown): CompleteParams {
  const f = new Fields(value, '', [...GENERATION_FIELDS, 'prefix', 'suffix', 'chunks', 'filePath', 'repoName', 'speculative']);
  return withOptional<CompleteParams>(
    { ...generation(f), prefix: f.string('prefix'), suffix: f.string('suffix') },
    {
      chunks: f.has('chunks') ? f.array('chunks', MAX_CHUNKS, chunk) : undefined,
      filePath: f.optString('filePath', 4096),
      repoName: f.optString('repoName', 4096),
      speculative: f.optBoolean('speculative'),
    },
  );
}

const ROLES: readonly string[] = ['system', 'user', 'assistant'] satisfies ChatMessage['role'][];

function message(value: unknown, path: string): ChatMessage {
  const f = new Fields(value, path, ['role', 'content']);
  const role = f.string('role', 32);
  if (!ROLES.includes(role)) throw new InvalidParamsError(`${f.at('role')} must be one of ${ROLES.join(', ')}, got '${role}'`);
  return { role: role as ChatMessage['role'], content: f.string('content') };
}

function chat(value: unknown): ChatParams {
  const f = new Fields(value, '', [...GENERATION_FIELDS, 'messages']);
  const messages = f.array('messages', MAX_MESSAGES, message);
  if (messages.length === 0) throw new InvalidParamsError('messages must not be empty');
  return { ...generation(f), messages };
}

function cancel(value: unknown): CancelParams {
  const f = new Fields(value, '', ['requestId']);
  return { requestId: f.string('requestId', MAX_ID_LENGTH, 1) };
}

/** The validator of each method: returns the typed params or throws InvalidParamsError. */
export const validators: { [M in MethodName]: (value: unknown) => ParamsOf<M> } = {
  initialize,
  loadModel,
  unloadModel: noParams,
  modelInfo: noParams,
  tokenize,
  complete,
  chat,
  cancel,
  stats: noParams,
  shutdown: noParams,
};

/** Validates `value` as the params of `method`, prefixing errors with the method name. */
export function validateParams<M extends MethodName>(method: M, value: unknown): ParamsOf<M> {
  try {
    return validators[method](value);
  } catch (e) {
    if (e instanceof InvalidParamsError) throw new InvalidParamsError(`invalid params for '${method}': ${e.message}`);
    throw e;
  }
}
