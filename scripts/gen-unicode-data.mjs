#!/usr/bin/env node
// Generates native/core/unicode_data.h and native/core/unicode_data.cpp: the per-code-point
// flags (general category class + White_Space) that the BPE pre-tokenizers need.
//
// The flags follow llama.cpp's `unicode_cpt_flags`: one of eight category classes
// (undefined = unassigned Cn, number = N*, letter = L*, separator = Z*, mark = M*,
// punctuation = P*, symbol = S*, control = Cc/Cf/Co/Cs) plus a whitespace bit (White_Space).
//
// Data sources (all offline once installed):
//   --source=ucd (default): the npm package `@unicode/unicode-15.1.0` (MIT, data only). Unicode
//       15.1 is the version llama.cpp's own tables (src/unicode-data.cpp) were generated from, so
//       this reproduces them code point for code point. Install it without touching
//       package.json with `npm install --no-save @unicode/unicode-15.1.0@2.0.7`, or point
//       --ucd-dir=DIR at an unpacked copy.
//   --source=icu: Node's built-in ICU (`\p{gc=..}` regex classes), i.e. whatever Unicode version
//       this Node ships (process.versions.unicode). Newer than llama.cpp's tables: characters
//       assigned after 15.1 get real categories instead of `undefined`, so splits of such rare
//       characters would differ from llama.cpp.
//
// Usage: node scripts/gen-unicode-data.mjs [--source=ucd|icu] [--ucd-dir=DIR] [--check]
//   --check: do not write; exit 1 if the committed files differ from what would be generated.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MAX_CODEPOINTS = 0x110000;
const BLOCK_SHIFT = 8;
const BLOCK_SIZE = 1 << BLOCK_SHIFT;
const UCD_PACKAGE = '@unicode/unicode-15.1.0';

// Category classes in the order of the generated `CodepointCategory` enum (3 bits).
const CATEGORY_CLASSES = ['undefined', 'number', 'letter', 'separator', 'mark', 'punctuation', 'symbol', 'control'];
const WHITESPACE_BIT = 0x08;

// General_Category long names (as the UCD package spells them) and short names (as ICU regex
// classes spell them), grouped into the class they collapse to.
const GENERAL_CATEGORIES = [
  ['Uppercase_Letter', 'Lu', 'letter'], ['Lowercase_Letter', 'Ll', 'letter'],
  ['Titlecase_Letter', 'Lt', 'letter'], ['Modifier_Letter', 'Lm', 'letter'],
  ['Other_Letter', 'Lo', 'letter'],
  ['Nonspacing_Mark', 'Mn', 'mark'], ['Spacing_Mark', 'Mc', 'mark'], ['Enclosing_Mark', 'Me', 'mark'],
  ['Decimal_Number', 'Nd', 'number'], ['Letter_Number', 'Nl', 'number'], ['Other_Number', 'No', 'number'],
  ['Connector_Punctuation', 'Pc', 'punctuation'], ['Dash_Punctuation', 'Pd', 'punctuation'],
  ['Open_Punctuation', 'Ps', 'punctuation'], ['Close_Punctuation', 'Pe', 'punctuation'],
  ['Initial_Punctuation', 'Pi', 'punctuation'], ['Final_Punctuation', 'Pf', 'punctuation'],
  ['Other_Punctuation', 'Po', 'punctuation'],
  ['Math_Symbol', 'Sm', 'symbol'], ['Currency_Symbol', 'Sc', 'symbol'],
  ['Modifier_Symbol', 'Sk', 'symbol'], ['Other_Symbol', 'So', 'symbol'],
  ['Space_Separator', 'Zs', 'separator'], ['Line_Separator', 'Zl', 'separator'],
  ['Paragraph_Separator', 'Zp', 'separator'],
  ['Control', 'Cc', 'control'], ['Format', 'Cf', 'control'], ['Private_Use', 'Co', 'control'],
  ['Surrogate', 'Cs', 'control'],
];

function parseArgs(argv) {
  const args = { source: 'ucd', ucdDir: null, check: false };
  for (const arg of argv) {
    if (arg.startsWith('--source=')) args.source = arg.slice('--source='.length);
    else if (arg.startsWith('--ucd-dir=')) args.ucdDir = arg.slice('--ucd-dir='.length);
    else if (arg === '--check') args.check = true;
    else throw new Error(`unknown argument: ${arg}`);
  }
  if (args.source !== 'ucd' && args.source !== 'icu') throw new Error(`unknown --source: ${args.source}`);
  return args;
}

function locateUcdPackage(repoRoot, ucdDir) {
  if (ucdDir) return path.resolve(ucdDir);
  const require = createRequire(path.join(repoRoot, 'package.json'));
  try {
    return path.dirname(require.resolve(`${UCD_PACKAGE}/package.json`));
  } catch {
    throw new Error(`${UCD_PACKAGE} is not installed; run \`npm install --no-save ${UCD_PACKAGE}@2.0.7\` ` +
      'or pass --ucd-dir=DIR (or use --source=icu, which does not match llama.cpp exactly)');
  }
}

// Returns { version, description, categoryOf: Uint8Array (class index), whitespace: Set,
// lowercaseMap: Map<cp, cp> (simple lowercase mapping) }.
async function loadUcd(repoRoot, ucdDir) {
  const dir = locateUcdPackage(repoRoot, ucdDir);
  const load = async (rel) => (await import(pathToFileURL(path.join(dir, rel)).href)).default;
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const version = /unicode-(\d+\.\d+\.\d+)/.exec(pkg.name)[1];
  const categoryOf = new Uint8Array(MAX_CODEPOINTS);  // 0 = undefined (Cn)
  for (const [longName, , cls] of GENERAL_CATEGORIES) {
    for (const range of await load(`General_Category/${longName}/ranges.mjs`)) {
      for (let cp = range.begin; cp < range.end; ++cp) categoryOf[cp] = CATEGORY_CLASSES.indexOf(cls);
    }
  }
  const whitespace = new Set(await load('Binary_Property/White_Space/code-points.mjs'));
  const lowercaseMap = await load('Simple_Case_Mapping/Lowercase/code-points.mjs');
  return { version, description: `${pkg.name}@${pkg.version} (Unicode ${version})`, categoryOf, whitespace, lowercaseMap };
}

function loadIcu() {
  const classes = GENERAL_CATEGORIES.map(([, shortName, cls]) =>
    [new RegExp(`^\\p{gc=${shortName}}$`, 'u'), CATEGORY_CLASSES.indexOf(cls)]);
  const isWhitespace = /^\p{White_Space}$/u;
  const categoryOf = new Uint8Array(MAX_CODEPOINTS);
  const whitespace = new Set();
  const lowercaseMap = new Map();
  for (let cp = 0; cp < MAX_CODEPOINTS; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) {  // lone surrogates cannot be tested as strings
      categoryOf[cp] = CATEGORY_CLASSES.indexOf('control');
      continue;
    }
    const s = String.fromCodePoint(cp);
    for (const [re, cls] of classes) {
      if (re.test(s)) { categoryOf[cp] = cls; break; }
    }
    if (isWhitespace.test(s)) whitespace.add(cp);
    const lower = s.toLowerCase();
    // Full lowercase of U+0130 is two code points; its simple mapping is the first one.
    const lowerCp = lower.codePointAt(0);
    if (lowerCp !== cp) lowercaseMap.set(cp, lowerCp);
  }
  const version = process.versions.unicode;
  return { version, description: `Node ${process.version} ICU ${process.versions.icu} (Unicode ${version})`,
    categoryOf, whitespace, lowercaseMap };
}

// The pre-tokenizers only lower-case the letters after an apostrophe and compare them with ASCII
// s/t/m/d/r/e/v/l, so ASCII lower-casing is exact as long as no other code point lower-cases
// to one of those letters. Checked here for the data in use.
function checkAsciiLowercaseSuffices(lowercaseMap) {
  for (const [cp, lower] of lowercaseMap) {
    const isAsciiUpper = cp >= 0x41 && cp <= 0x5A;
    if (!isAsciiUpper && 'stmdrevl'.includes(String.fromCodePoint(lower))) {
      throw new Error(`U+${cp.toString(16)} lower-cases to '${String.fromCodePoint(lower)}': ` +
        'the contraction matching in pretokenizer.cpp needs a real lower-case table');
    }
  }
}

function buildBlocks(data) {
  const flags = new Uint8Array(MAX_CODEPOINTS);
  for (let cp = 0; cp < MAX_CODEPOINTS; ++cp) {
    flags[cp] = data.categoryOf[cp] | (data.whitespace.has(cp) ? WHITESPACE_BIT : 0);
  }
  const blocks = [];
  const blockIds = new Map();
  const index = [];
  for (let start = 0; start < MAX_CODEPOINTS; start += BLOCK_SIZE) {
    const block = flags.subarray(start, start + BLOCK_SIZE);
    const key = Buffer.from(block).toString('hex');
    if (!blockIds.has(key)) {
      blockIds.set(key, blocks.length);
      blocks.push(Array.from(block));
    }
    index.push(blockIds.get(key));
  }
  return { blocks, index };
}

function hexList(values, width, perLine) {
  const lines = [];
  for (let i = 0; i < values.length; i += perLine) {
    lines.push('    ' + values.slice(i, i + perLine).map((v) => `0x${v.toString(16).padStart(width, '0')}`).join(', ') + ',');
  }
  return lines.join('\n');
}

function renderHeader(data, blockCount) {
  return `// GENERATED by scripts/gen-unicode-data.mjs from ${data.description}. Do not edit.
// Per-code-point flags as llama.cpp's unicode_cpt_flags defines them: a category class and a
// White_Space bit, stored in a two-stage table (blocks of ${BLOCK_SIZE} code points, identical blocks shared).
#pragma once

#include <cstdint>

namespace alloy {

// General category collapsed to llama.cpp's classes (the value is the low 3 bits of a flag byte).
enum class CodepointCategory : uint8_t {
  undefined = 0,    // Cn: unassigned (also every value above U+10FFFF)
  number = 1,       // Nd Nl No   (regex \\p{N})
  letter = 2,       // Lu Ll Lt Lm Lo   (\\p{L})
  separator = 3,    // Zs Zl Zp   (\\p{Z})
  mark = 4,         // Mn Mc Me   (\\p{M})
  punctuation = 5,  // Pc Pd Ps Pe Pi Pf Po   (\\p{P})
  symbol = 6,       // Sm Sc Sk So   (\\p{S})
  control = 7,      // Cc Cf Co Cs   (\\p{C})
};

namespace unicode_data {

constexpr const char* kSource = "${data.description}";
constexpr uint32_t kCodepointLimit = 0x${MAX_CODEPOINTS.toString(16)};  // one past U+10FFFF
constexpr uint32_t kBlockShift = ${BLOCK_SHIFT};
constexpr uint32_t kBlockCount = ${blockCount};
constexpr uint8_t kCategoryMask = 0x07;
constexpr uint8_t kWhitespaceBit = 0x${WHITESPACE_BIT.toString(16).padStart(2, '0')};

// kBlockIndex[cp >> kBlockShift] is the row of kBlocks holding cp's flag byte.
extern const uint16_t kBlockIndex[kCodepointLimit >> kBlockShift];
extern const uint8_t kBlocks[kBlockCount][1u << kBlockShift];

}  // namespace unicode_data
}  // namespace alloy
`;
}

function renderSource(data, tables) {
  const blockRows = tables.blocks.map((block, i) => `  {  // block ${i}\n${hexList(block, 2, 16)}\n  },`).join('\n');
  return `// GENERATED by scripts/gen-unicode-data.mjs from ${data.description}. Do not edit.
#include "unicode_data.h"

namespace alloy {
namespace unicode_data {

const uint16_t kBlockIndex[kCodepointLimit >> kBlockShift] = {
${hexList(tables.index, 4, 12)}
};

const uint8_t kBlocks[kBlockCount][1u << kBlockShift] = {
${blockRows}
};

}  // namespace unicode_data
}  // namespace alloy
`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const data = args.source === 'ucd' ? await loadUcd(repoRoot, args.ucdDir) : loadIcu();
  checkAsciiLowercaseSuffices(data.lowercaseMap);
  const tables = buildBlocks(data);
  const outputs = {
    'native/core/unicode_data.h': renderHeader(data, tables.blocks.length),
    'native/core/unicode_data.cpp': renderSource(data, tables),
  };
  let stale = false;
  for (const [rel, text] of Object.entries(outputs)) {
    const file = path.join(repoRoot, rel);
    if (args.check) {
      const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
      if (current !== text) {
        console.error(`${rel} is out of date`);
        stale = true;
      }
    } else {
      fs.writeFileSync(file, text);
      console.log(`wrote ${rel}`);
    }
  }
  console.log(`source: ${data.description}; ${tables.blocks.length} distinct blocks of ${BLOCK_SIZE}`);
  if (stale) process.exit(1);
}

main().catch((err) => {
  console.error(`gen-unicode-data: ${err.message}`);
  process.exit(1);
});
