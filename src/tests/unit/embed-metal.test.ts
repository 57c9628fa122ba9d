// scripts/embed-metal.mjs, which embeds the Metal kernels in the addon on macOS, run here on
// Linux: the generated C++ compiles (g++), its string is byte for byte the inlined library,
// every kernel and every header line of the sources is in it exactly once with no local
// #include left, the whole library compiles as one C++ unit through the Metal emulator (so no
// name collides across kernel files), and headers are inlined once, in dependency order.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { makeTempDir, repoRoot } from '../helpers/paths';

const script = path.join(repoRoot, 'scripts', 'embed-metal.mjs');
const kernelDir = path.join(repoRoot, 'native', 'backend', 'metal', 'kernels');
const localInclude = /^\s*#\s*include\s*"/m;

function embed(outDir: string, kernels = kernelDir) {
  const cpp = path.join(outDir, 'alloy_metal_source.cpp');
  const msl = path.join(outDir, 'alloy_metal_source.metal');
  const r = spawnSync(process.execPath, [script, '--out', cpp, '--msl-out', msl, '--kernels', kernels], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, cpp, msl };
}

function count(haystack: string[], line: string) {
  return haystack.filter((l) => l === line).length;
}

// The lines that carry code (not blank, not comments, not includes or #pragma once), trimmed.
function codeLines(text: string) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('//') && !/^#\s*(include|pragma\s+once|line)\b/.test(l));
}

describe('scripts/embed-metal.mjs on the kernel sources', () => {
  let dir = '';
  let inlined = '';
  let sources: { name: string; text: string }[] = [];

  beforeAll(() => {
    dir = makeTempDir('embed-metal');
    const r = embed(dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    inlined = readFileSync(r.msl, 'utf8');
    sources = readdirSync(kernelDir)
      .filter((f) => f.endsWith('.metal') || f.endsWith('.h'))
      .map((name) => ({ name, text: readFileSync(path.join(kernelDir, name), 'utf8') }));
  });

  it('leaves no local #include and keeps the system ones', () => {
    expect(localInclude.test(inlined)).toBe(false);
    expect(inlined).toContain('#include <metal_stdlib>');
  });

  it('holds every kernel and every kernel instantiation of the sources exactly once', () => {
    const lines = inlined.split('\n').map((l) => l.trim());
    const kernels = sources.flatMap((s) => [...s.text.matchAll(/^\s*(kernel void \w+\()/gm)].map((m) => m[1] ?? ''));
    const instantiations = sources.flatMap((s) => [...s.text.matchAll(/^(ALLOY_MV_KERNELS\(\w+, \w+\))/gm)].map((m) => m[1] ?? ''));
    expect(kernels.length).toBeGreaterThanOrEqual(12);  // 11 named kernels and the matvec template
    expect(instantiations.length).toBeGreaterThanOrEqual(12);
    for (const k of kernels) expect(count(lines, k), k).toBe(1);
    for (const k of instantiations) expect(count(lines, k), k).toBe(1);
    const hostNames = sources.reduce((n, s) => n + s.text.split('[[host_name(').length - 1, 0);
    expect(hostNames).toBeGreaterThanOrEqual(1);  // matvec_template.h's instantiation macro at least
    expect(inlined.split('[[host_name(').length - 1).toBe(hostNames);
  });

  it('inlines each header once: every code line as often as in the sources together', () => {
    const out = codeLines(inlined);
    const expected = new Map<string, number>();
    for (const s of sources) for (const l of codeLines(s.text)) expected.set(l, (expected.get(l) ?? 0) + 1);
    for (const [line, n] of expected) expect(count(out, line), line).toBe(n);
    expect(out.length).toBe([...expected.values()].reduce((a, b) => a + b, 0));
    for (const header of sources.filter((s) => s.name.endsWith('.h'))) {
      expect(inlined.split(`// ---- begin ${header.name} `).length - 1, header.name).toBe(1);
    }
  });

  it('generates C++ whose string is exactly the inlined library', () => {
    const r = embed(dir);
    const cpp = readFileSync(r.cpp, 'utf8');
    expect(cpp).toMatch(/extern const char kAlloyMetalSource\[\];/);
    for (const piece of cpp.split('R"alloy_msl(').slice(1)) expect(piece.indexOf(')alloy_msl"')).toBeLessThanOrEqual(8000);
    execFileSync('g++', ['-std=c++17', '-fsyntax-only', '-Wall', '-Wextra', '-Wpedantic', '-Wno-overlength-strings', '-Werror', r.cpp]);  // CMake's flags
    const printer = path.join(dir, 'print_source.cpp');
    writeFileSync(
      printer,
      [
        '#include <cstdio>',
        '#include <cstring>',
        'extern const char kAlloyMetalSource[];',
        'extern const unsigned long kAlloyMetalSourceLength;',
        'int main() {',
        '  if (std::strlen(kAlloyMetalSource) != kAlloyMetalSourceLength) return 2;',
        '  return std::fwrite(kAlloyMetalSource, 1, kAlloyMetalSourceLength, stdout) == kAlloyMetalSourceLength ? 0 : 3;',
        '}',
        '',
      ].join('\n'),
    );
    const exe = path.join(dir, 'print_source');
    execFileSync('g++', ['-std=c++17', '-O0', printer, r.cpp, '-o', exe]);
    const printed = execFileSync(exe, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    expect(printed.length).toBe(inlined.length);
    expect(printed === inlined).toBe(true);
  });

  it('compiles as one C++ unit through the Metal emulator (no name collides across files)', () => {
    const unit = path.join(dir, 'emulated_library.cpp');
    writeFileSync(
      unit,
      [
        '#include "backend/metal/emu/metal_emu.h"',
        '#include "backend/metal/kernels/kernel_args.h"',
        'namespace library {',
        '#include "backend/metal/emu/kernel_begin.h"',
        `#include "${path.join(dir, 'alloy_metal_source.metal')}"`,
        '#include "backend/metal/emu/kernel_end.h"',
        '}',
        '',
      ].join('\n'),
    );
    execFileSync('g++', ['-std=c++17', '-fsyntax-only', '-Wall', '-Wno-unused-parameter', '-I', path.join(repoRoot, 'native'), unit]);
  }, 60_000);
});

describe('scripts/embed-metal.mjs inlining rules', () => {
  function kernels(files: Record<string, string>) {
    const dir = makeTempDir('embed-metal-rules');
    const src = path.join(dir, 'kernels');
    mkdirSync(src);
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(src, name), text);
    return { dir, src };
  }

  it('inlines nested headers once, before their users, and drops their #pragma once', () => {
    const { dir, src } = kernels({
      'a.metal': '#include "b.h"\nkernel void ka() {}\n',
      'b.h': '#pragma once\n#include "c.h"\nint b_value = c_value;\n',
      'c.h': '#pragma once\n#include <metal_stdlib>\nint c_value = 1;\n',
      'z.metal': '#include "c.h"\n#include "b.h"\nkernel void kz() {}\n',
    });
    const r = embed(dir, src);
    expect(r.status).toBe(0);
    const text = readFileSync(r.msl, 'utf8');
    const order = ['int c_value', 'int b_value', 'kernel void ka', 'kernel void kz'].map((s) => text.indexOf(s));
    expect(order.every((at, i) => at >= 0 && (i === 0 || at > (order[i - 1] ?? 0)))).toBe(true);
    expect(text.split('int c_value').length - 1).toBe(1);
    expect(text).not.toMatch(/^\s*#\s*pragma\s+once/m);
    expect(text).toContain('#include <metal_stdlib>');
  });

  it('ends mutually including headers as #pragma once does, and refuses a local include under #if', () => {
    const cycle = kernels({ 'a.metal': '#include "x.h"\nkernel void ka() {}\n', 'x.h': '#include "y.h"\nint x;\n', 'y.h': '#include "x.h"\nint y;\n' });
    const r1 = embed(cycle.dir, cycle.src);
    expect(r1.status).toBe(0);
    const text = readFileSync(r1.msl, 'utf8');
    expect([text.split('int x;').length, text.split('int y;').length]).toEqual([2, 2]);
    expect(text.indexOf('int y;')).toBeLessThan(text.indexOf('int x;'));
    const conditional = kernels({ 'a.metal': '#if defined(X)\n#include "x.h"\n#endif\n', 'x.h': 'int x;\n' });
    const r2 = embed(conditional.dir, conditional.src);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/a\.metal:2: local #include inside #if/);
  });
});
