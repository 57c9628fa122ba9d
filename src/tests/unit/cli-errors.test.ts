// The CLI's error contract: exit 2 for usage, 3 for model/engine errors, and exactly one
// line `error: KIND: message` on stderr — never a signal or a stack trace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { runCli, type CliResult } from '../helpers/cli';
import { makeTempDir, sharedModels, vocabPath } from '../helpers/paths';

function expectError(r: CliResult, status: number, kind: string): void {
  expect(r.signal).toBeNull();
  expect(r.status).toBe(status);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error: ${kind}: \\S`));
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('alloy CLI errors', () => {
  let dir = '';
  const stories = path.join(sharedModels, 'stories260K.gguf');
  beforeAll(() => {
    dir = makeTempDir('cli');
  });

  function variant(name: string, bytes: Buffer): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return p;
  }

  it('usage errors exit 2', () => {
    expectError(runCli([]), 2, 'usage');
    expectError(runCli(['frobnicate', stories]), 2, 'usage');
    expectError(runCli(['info']), 2, 'usage');
    expectError(runCli(['tokenize', stories]), 2, 'usage');
    expectError(runCli(['info', stories, '--bogus-flag']), 2, 'usage');
  });

  it('--help prints the usage and exits 0', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('alloy info MODEL');
  });

  it('a missing file is io_error', () => {
    expectError(runCli(['info', path.join(dir, 'nope.gguf')]), 3, 'io_error');
  });

  it('a file that is not GGUF is bad_magic', () => {
    expectError(runCli(['info', variant('text.gguf', Buffer.from('hello, this is not a model\n'))]), 3, 'bad_magic');
    expectError(runCli(['info', variant('empty.gguf', Buffer.alloc(0))]), 3, 'bad_magic');
  });

  it('an unsupported GGUF version is unsupported_version', () => {
    const bytes = Buffer.from(fs.readFileSync(stories));
    bytes.writeUInt32LE(1, 4);
    expectError(runCli(['info', variant('v1.gguf', bytes)]), 3, 'unsupported_version');
  });

  it('a truncated model is truncated_file or tensor_out_of_bounds', () => {
    const bytes = fs.readFileSync(stories);
    expectError(runCli(['info', variant('cut-meta.gguf', bytes.subarray(0, 4096))]), 3, 'truncated_file');
    expectError(runCli(['info', variant('cut-data.gguf', bytes.subarray(0, bytes.length - 1000))]), 3, 'tensor_out_of_bounds');
  });

  it('an unknown tensor type is unknown_tensor_type', () => {
    const bytes = Buffer.from(fs.readFileSync(stories));
    // The first tensor info follows the metadata; find its name and patch its type field.
    const name = Buffer.from('token_embd.weight');
    const at = bytes.indexOf(name);
    const nDims = bytes.readUInt32LE(at + name.length);
    bytes.writeUInt32LE(200, at + name.length + 4 + 8 * nDims);
    expectError(runCli(['info', variant('badtype.gguf', bytes)]), 3, 'unknown_tensor_type');
  });

  it('an architecture the engine does not run is unsupported_architecture', () => {
    const bytes = Buffer.from(fs.readFileSync(stories));
    const at = bytes.indexOf(Buffer.from('general.architecture'));
    // value: u32 type (8 = string), u64 length (5), "llama" -> "gpt-j"
    const valueAt = at + 'general.architecture'.length + 4 + 8;
    bytes.write('gptjx', valueAt, 'latin1');
    expectError(runCli(['info', variant('arch.gguf', bytes)]), 3, 'unsupported_architecture');
  });

  it('generate refuses a valid model with a weight type the engine does not run, naming it', () => {
    // IQ4_NL has Q4_0's block size, so retyping one Q4_0 matrix keeps the file valid.
    const bytes = Buffer.from(fs.readFileSync(path.join(sharedModels, 'tiny-qwen2-dscoder-s1-Q4_0.gguf')));
    const name = Buffer.from('blk.0.attn_q.weight');
    const at = bytes.indexOf(name);
    const typeAt = at + name.length + 4 + 8 * bytes.readUInt32LE(at + name.length);
    expect(bytes.readUInt32LE(typeAt)).toBe(2); // Q4_0
    bytes.writeUInt32LE(20, typeAt); // IQ4_NL
    const r = runCli(['generate', variant('iq4nl.gguf', bytes), '--prompt', 'hi', '--n', '2', '--temp', '0']);
    expectError(r, 3, 'unsupported_tensor_type');
    expect(r.stderr).toContain('IQ4_NL');
    expect(r.stderr).toContain('blk.0.attn_q.weight');
  });

  it('generate refuses an architecture the engine does not run, naming it', () => {
    const bytes = Buffer.from(fs.readFileSync(stories));
    const at = bytes.indexOf(Buffer.from('general.architecture'));
    bytes.write('gptjx', at + 'general.architecture'.length + 4 + 8, 'latin1');
    const r = runCli(['generate', variant('arch-gen.gguf', bytes), '--prompt', 'hi', '--n', '2']);
    expectError(r, 3, 'unsupported_architecture');
    expect(r.stderr).toContain('gptjx');
  });

  it('a prompt past the model context is prompt_too_long', () => {
    const tokens = Array.from({ length: 2049 }, () => '400').join(',');
    expectError(runCli(['logits', stories, '--tokens', tokens]), 3, 'prompt_too_long');
    expectError(runCli(['generate', stories, '--tokens', '1,400', '--n', '2047']), 3, 'prompt_too_long');
  });

  it('tokenize without --text is a usage error', () => {
    expectError(runCli(['tokenize', vocabPath('qwen2')]), 2, 'usage');
  });
});
