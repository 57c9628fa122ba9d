// `npm test`: every tier, in order, with one summary. The last line printed is
// `N passed, N failed` summed over all tiers; the exit code is non-zero if anything failed.
//   --tier NAME   run one tier only (static, native, native-arm64, unit, parity, integration); repeatable
// Tiers: static (typecheck of both TypeScript projects + lint), native (ctest, Release and ASan+UBSan builds),
// native-arm64 (the native tests cross-built for AArch64 and run under qemu-user, via
// scripts/native-arm64.mjs; fails when g++-aarch64-linux-gnu or qemu-user is missing),
// unit (vitest), parity (vitest against node-llama-cpp), integration (mocha in VS Code).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, 'build', 'test-results');
const jobs = String(Number(process.env.ALLOY_BUILD_JOBS) || 2);

const argv = process.argv.slice(2);
const only = argv.flatMap((a, i) => (a === '--tier' && argv[i + 1] ? [argv[i + 1]] : []));

function run(cmd, args, opts = {}) {
  console.log(`\n[test] $ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: opts.capture ? 'pipe' : 'inherit', env: { ...process.env, ...opts.env }, maxBuffer: 256 * 1024 * 1024 });
  if (opts.capture) {
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
  }
  return r;
}

function ok(name, r) {
  return r.status === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1, note: `${name} failed` };
}

function staticTier() {
  const results = [
    ok('typecheck', run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'])),
    // The chat webview's code (DOM lib, no Node types) is its own TypeScript project.
    ok('typecheck webview', run('npx', ['tsc', '-p', 'src/webview/tsconfig.json', '--noEmit'])),
    ok('lint', run('npx', ['eslint', 'src', 'scripts', '--max-warnings', '0'])),
  ];
  const notes = results.flatMap((r) => (r.note ? [r.note] : []));
  return {
    passed: results.reduce((n, r) => n + r.passed, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

// Counts, in the captured output of a process that ran `ctest -V`, the `N passed, N failed`
// line each native test executable prints (ctest prefixes it with the test's number); a ctest
// entry that printed none (crash, sanitizer abort, timeout) counts as one failure, and a
// non-zero exit with no failure counted counts as one.
function ctestCounts(r) {
  const out = `${r.stdout}\n${r.stderr}`;
  let passed = 0;
  let failed = 0;
  const withSummary = new Set();
  for (const m of out.matchAll(/^(\d+): (\d+) passed, (\d+) failed$/gm)) {
    withSummary.add(m[1]);
    passed += Number(m[2]);
    failed += Number(m[3]);
  }
  for (const m of out.matchAll(/^\s*\d+\/\d+ Test\s+#(\d+): \S+ \.+\*{0,3}\s*(\S.*?)\s+[\d.]+ sec$/gm)) {
    if (!m[2].startsWith('Passed') && !withSummary.has(m[1])) failed += 1;
  }
  if (r.status !== 0 && failed === 0) failed = 1;
  return { passed, failed };
}

// Whole-model emulated Metal runs (ctest label whole_model, native/CMakeLists.txt) take minutes
// under ASan and qemu: those builds skip them; the Release build runs them.
const SKIP_WHOLE_MODEL = ['-LE', 'whole_model'];

function nativeBuild(name, extraFlags, env, ctestArgs = []) {
  const dir = path.join(root, 'build', name);
  const cfg = run('cmake', ['-S', 'native', '-B', dir, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', '-DALLOY_BUILD_TESTS=ON', ...extraFlags]);
  if (cfg.status !== 0) return { passed: 0, failed: 1, note: `${name}: cmake configure failed` };
  const build = run('ninja', ['-C', dir, '-j', jobs]);
  if (build.status !== 0) return { passed: 0, failed: 1, note: `${name}: build failed` };
  return ctestCounts(run('ctest', ['--test-dir', dir, '-V', '--timeout', '900', ...ctestArgs], { capture: true, env }));
}

function nativeTier() {
  const release = nativeBuild('native-release', [], {});
  const sanitizerEnv = { ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' };
  const asan = nativeBuild('native-asan', ['-DALLOY_SANITIZE=ON'], sanitizerEnv, SKIP_WHOLE_MODEL);
  return { passed: release.passed + asan.passed, failed: release.failed + asan.failed };
}

// scripts/native-arm64.mjs echoes its `ctest -V` output, so the native tier's counting applies.
// Before the tests run it stops on stderr with `[arm64] REASON` (missing cross compiler or qemu,
// with the apt packages to install; configure or build failure): that reason becomes the note.
function nativeArm64Tier() {
  const r = run(process.execPath, [path.join(root, 'scripts', 'native-arm64.mjs'), ...SKIP_WHOLE_MODEL], { capture: true });
  const counts = ctestCounts(r);
  const reason = r.error?.message ?? /^\[arm64\] (.+)$/m.exec(r.stderr ?? '')?.[1];
  return r.status !== 0 && reason ? { ...counts, note: `native-arm64: ${reason}` } : counts;
}

function vitestTier(name, config) {
  const file = path.join(resultsDir, `${name}.json`);
  rmSync(file, { force: true });
  const r = run('npx', ['vitest', 'run', '--config', config, '--reporter=default', '--reporter=json', `--outputFile.json=${file}`]);
  if (!existsSync(file)) return { passed: 0, failed: 1, note: `${name}: vitest wrote no results (exit ${r.status})` };
  const j = JSON.parse(readFileSync(file, 'utf8'));
  // A test file that fails to load counts as a failure even though no test in it ran.
  const failedSuites = (j.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
  const failed = j.numFailedTests + failedSuites + (r.status !== 0 && j.numFailedTests + failedSuites === 0 ? 1 : 0);
  return { passed: j.numPassedTests, failed };
}

// One integration run: run.mjs with `env`, its results read back.
function integrationRun(name, env) {
  const file = path.join(resultsDir, `${name}.json`);
  rmSync(file, { force: true });
  const r = run(process.execPath, [path.join(root, 'src', 'tests', 'integration', 'run.mjs')], { env: { ...env, ALLOY_TEST_RESULTS: file } });
  if (!existsSync(file)) return { passed: 0, failed: 1, note: `${name}: no results (exit ${r.status})` };
  const j = JSON.parse(readFileSync(file, 'utf8'));
  const failed = j.failed + (r.status !== 0 && j.failed === 0 ? 1 : 0);
  return { passed: j.passed, failed };
}

// The extension under development, then the package: `npm run package` and its .vsix installed
// into a fresh VS Code (the vsix suite).
function integrationTier() {
  const dev = integrationRun('integration', {});
  const pack = run(process.execPath, [path.join(root, 'scripts', 'package.mjs')], { capture: true });
  const vsix = /\[package\] wrote (.+\.vsix)$/m.exec(pack.stdout ?? '')?.[1];
  const packaged = pack.status === 0 && vsix
    ? integrationRun('integration-vsix', { ALLOY_TEST_VSIX: vsix })
    : { passed: 0, failed: 1, note: `npm run package failed (exit ${pack.status})` };
  return { passed: dev.passed + packaged.passed, failed: dev.failed + packaged.failed, ...(dev.note || packaged.note ? { note: [dev.note, packaged.note].filter(Boolean).join('; ') } : {}) };
}

const tiers = [
  ['static', staticTier],
  ['native', nativeTier],
  ['native-arm64', nativeArm64Tier],
  ['unit', () => vitestTier('unit', 'src/tests/vitest.unit.config.mjs')],
  ['parity', () => vitestTier('parity', 'src/tests/vitest.parity.config.mjs')],
  ['integration', integrationTier],
];

mkdirSync(resultsDir, { recursive: true });
const build = run('npm', ['run', '--silent', 'build']);
const summary = [];
if (build.status !== 0) {
  summary.push(['build', { passed: 0, failed: 1 }]);
} else {
  for (const [name, fn] of tiers) {
    if (only.length > 0 && !only.includes(name)) continue;
    const started = Date.now();
    const result = fn();
    summary.push([name, result]);
    console.log(`[test] tier ${name}: ${result.passed} passed, ${result.failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}
console.log('\n[test] summary');
let passed = 0;
let failed = 0;
for (const [name, r] of summary) {
  console.log(`[test]   ${name.padEnd(12)} ${r.passed} passed, ${r.failed} failed${r.note ? ` (${r.note})` : ''}`);
  passed += r.passed;
  failed += r.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
