// `alloy` command line: a stable contract other tools call (see README "CLI").
// Exit codes: 0 ok, 2 usage error, 3 model/engine error; errors are one line on stderr:
// `error: KIND: message`.
import { parseArgs } from 'node:util';

import { isEngineError, loadAddon, type NativeModel } from './native';

const USAGE = `usage:
  alloy info MODEL [--json]
  alloy tokenize MODEL --text STR [--special] [--no-bos] [--json]`;

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
