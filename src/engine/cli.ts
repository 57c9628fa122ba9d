// `alloy` command line: a stable contract other tools call (see README "CLI").
// Exit codes: 0 ok, 2 usage error, 3 model/engine error; errors are one line on stderr:
// `error: KIND: message`.
import * as os from 'node:os';
import { parseArgs } from 'node:util';

import { isEngineError, loadAddon, type EngineError, type NativeModel } from './native';

const USAGE = `usage:
  alloy info MODEL [--json]
  alloy tokenize MODEL --text STR [--special] [--no-bos] [--json]
  alloy generate MODEL (--prompt STR | --tokens 1,2,3) --n N [--temp T] [--seed S] [--threads T] [--ignore-eos] [--json]
  alloy logits MODEL (--tokens 1,2,3 | --prompt STR) [--threads T] [--json]`;

/** llama.cpp's default sampling temperature; --temp 0 is greedy. */
const DEFAULT_TEMP = 0.8;

class UsageError extends Error {}

interface Output {
  json: boolean;
  value: unknown;
  text: string;
}

function openModel(path: string): NativeModel {
  return new (loadAddon().Model)(path);
}

function cmdInfo(model: NativeModel, json: boolean): Output {
  const info = model.info();
  const types = Object.entries(info.tensor_types).map(([t, n]) => `${t}×${n}`).join(' ');
  const fim = info.fim ? `prefix ${info.fim.prefix}, suffix ${info.fim.suffix}, middle ${info.fim.middle}` : 'none';
  const text = [
    `arch         ${info.arch}`,
    `layers       ${info.n_layer ?? '-'}   embd ${info.n_embd ?? '-'}   heads ${info.n_head ?? '-'} (kv ${info.n_head_kv ?? '-'})`,
    `vocab        ${info.n_vocab}   train ctx ${info.n_ctx_train ?? '-'}`,
    `tensors      ${types || 'none (vocab only)'}`,
    `fim          ${fim}`,
    `chat tmpl    ${info.chat_template ? 'yes' : 'no'}`,
  ].join('\n');
  return { json, value: info, text };
}

function cmdTokenize(model: NativeModel, text: string, special: boolean, addBos: boolean, json: boolean): Output {
  const tokens = Array.from(model.tokenize(text, addBos, special));
  return { json, value: { tokens }, text: tokens.join(' ') };
}

/** The engine's limit on threads per context. */
const MAX_THREADS = 256;

function parseInteger(name: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}] (got '${text}')`);
  }
  return value;
}

function parseThreads(text: string | undefined): number {
  return parseInteger('threads', text, 1, MAX_THREADS) ?? Math.min(MAX_THREADS, Math.max(1, os.availableParallelism()));
}

function parseTokenList(text: string, nVocab: number): number[] {
  const parts = text.split(',').map((t) => t.trim());
  const ids = parts.map((t) => Number(t));
  ids.forEach((id, i) => {
    if (parts[i] === '' || !Number.isInteger(id) || id < 0 || id >= nVocab) {
      throw new UsageError(`--tokens: '${parts[i] ?? ''}' is not a token id of this model (0..${nVocab - 1})`);
    }
  });
  return ids;
}

interface PromptArgs {
  prompt: string | undefined;
  tokens: string | undefined;
}

function checkPromptArgs(args: PromptArgs, command: string): void {
  if ((args.prompt === undefined) === (args.tokens === undefined)) {
    throw new UsageError(`'${command}' needs exactly one of --prompt STR or --tokens 1,2,3`);
  }
}

/** The prompt ids: --tokens as given, or --prompt tokenized with BOS and special tokens parsed, as llama.cpp's tools do. */
function promptTokens(model: NativeModel, args: PromptArgs): number[] {
  const ids = args.tokens !== undefined ? parseTokenList(args.tokens, model.info().n_vocab) : Array.from(model.tokenize(args.prompt ?? '', true, true));
  if (ids.length === 0) throw new UsageError('the prompt has no tokens');
  return ids;
}

/** The context a request needs; past the model's training context it is refused (exit 3). */
function contextFor(model: NativeModel, needed: number): number {
  const limit = model.info().n_ctx_train;
  if (limit !== null && needed > limit) {
    const err = new Error(
      `the prompt and the tokens to generate need ${needed} positions, more than the model's context of ${limit} - shorten the prompt or lower --n`,
    ) as EngineError;
    err.kind = 'prompt_too_long';
    throw err;
  }
  return needed;
}

interface GenerateArgs extends PromptArgs {
  n: number;
  temp: number;
  seed: number;
  threads: number;
  ignoreEos: boolean;
}

function cmdGenerate(modelPath: string, args: GenerateArgs, json: boolean): Output {
  const addon = loadAddon();
  const t0 = performance.now();
  const model = openModel(modelPath);
  const prompt = promptTokens(model, args);
  const context = new addon.Context(model, { nCtx: contextFor(model, prompt.length + Math.max(args.n, 1)), threads: args.threads });
  const sampler = new addon.Sampler({ temp: args.temp, seed: args.seed });
  const eog = new Set(model.specialTokens().eog);
  const t1 = performance.now();
  let logits = context.eval(prompt, false);
  const t2 = performance.now();
  const history = [...prompt];
  const tokens: number[] = [];
  while (tokens.length < args.n) {
    const id = sampler.sample(logits, history);
    if (!args.ignoreEos && eog.has(id)) break;
    tokens.push(id);
    history.push(id);
    if (tokens.length < args.n) logits = context.eval([id], false);
  }
  const t3 = performance.now();
  const text = Buffer.concat(tokens.map((id) => model.tokenToPiece(id, false))).toString('utf8');
  context.dispose();
  const timings = {
    load_ms: t1 - t0,
    prompt_tokens: prompt.length,
    prompt_ms: t2 - t1,
    gen_tokens: tokens.length,
    gen_ms: t3 - t2,
  };
  return { json, value: { tokens, text, timings }, text };
}

function cmdLogits(modelPath: string, args: PromptArgs & { threads: number }, json: boolean): Output {
  const model = openModel(modelPath);
  const prompt = promptTokens(model, args);
  const context = new (loadAddon().Context)(model, { nCtx: contextFor(model, prompt.length), threads: args.threads });
  const logits = Array.from(context.eval(prompt, false));
  context.dispose();
  const top = logits
    .map((value, id) => ({ id, value }))
    .sort((a, b) => b.value - a.value || a.id - b.id)
    .slice(0, 10)
    .map((e) => `${e.id}\t${e.value}`);
  return { json, value: { logits }, text: top.join('\n') };
}

function run(argv: string[]): Output {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      text: { type: 'string' },
      special: { type: 'boolean', default: false },
      'no-bos': { type: 'boolean', default: false },
      prompt: { type: 'string' },
      tokens: { type: 'string' },
      n: { type: 'string' },
      temp: { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      'ignore-eos': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, modelPath, ...rest] = positionals;
  if (values.help) return { json: false, value: null, text: USAGE };
  if (command === undefined) throw new UsageError("no command given (see 'alloy --help')");
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  if (modelPath === undefined) throw new UsageError(`'${command}' needs a MODEL path`);
  switch (command) {
    case 'info':
      return cmdInfo(openModel(modelPath), values.json);
    case 'tokenize':
      if (values.text === undefined) throw new UsageError("'tokenize' needs --text STR");
      return cmdTokenize(openModel(modelPath), values.text, values.special, !values['no-bos'], values.json);
    case 'generate': {
      checkPromptArgs({ prompt: values.prompt, tokens: values.tokens }, 'generate');
      const n = parseInteger('n', values.n, 0);
      if (n === undefined) throw new UsageError("'generate' needs --n N");
      const temp = values.temp === undefined ? DEFAULT_TEMP : Number(values.temp);
      if (!Number.isFinite(temp) || temp < 0 || values.temp?.trim() === '') throw new UsageError(`--temp must be a number >= 0 (got '${values.temp ?? ''}')`);
      const args: GenerateArgs = {
        prompt: values.prompt,
        tokens: values.tokens,
        n,
        temp,
        seed: parseInteger('seed', values.seed, 0) ?? 0,
        threads: parseThreads(values.threads),
        ignoreEos: values['ignore-eos'],
      };
      return cmdGenerate(modelPath, args, values.json);
    }
    case 'logits':
      checkPromptArgs({ prompt: values.prompt, tokens: values.tokens }, 'logits');
      return cmdLogits(modelPath, { prompt: values.prompt, tokens: values.tokens, threads: parseThreads(values.threads) }, values.json);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

function main(): number {
  try {
    const out = run(process.argv.slice(2));
    process.stdout.write((out.json ? JSON.stringify(out.value) : out.text) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`error: usage: ${e.message.split('\n')[0]}\n`);
      return 2;
    }
    if (isEngineError(e)) {
      process.stderr.write(`error: ${e.kind}: ${e.message}\n`);
      return 3;
    }
    process.stderr.write(`error: internal: ${e instanceof Error ? e.message : String(e)}\n`);
    return 3;
  }
}

process.exitCode = main();
