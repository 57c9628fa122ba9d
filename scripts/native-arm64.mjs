// The native tests cross-built for AArch64 (Apple Silicon's CPU path: the NEON kernels) and
// run under qemu-user, on an x86-64 Linux machine. Needs Debian's g++-aarch64-linux-gnu and
// qemu-user (qemu-aarch64). Configures build/native-arm64 with native/cmake/aarch64-linux-gnu.cmake
// (Ninja, Release, tests on), builds with ALLOY_BUILD_JOBS jobs (default 2), runs ctest -V,
// which runs every test executable through the toolchain's emulator.
// Prints each executable's `N passed, N failed` line and time, then the total as the last line;
// exits non-zero on any failure, on a test that printed no summary, or when nothing ran.
//   node scripts/native-arm64.mjs [ctest args, e.g. -R test_quant]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'build', 'native-arm64');
const toolchain = path.join(root, 'native', 'cmake', 'aarch64-linux-gnu.cmake');
const jobs = String(Number(process.env.ALLOY_BUILD_JOBS) || 2);
const ctestArgs = process.argv.slice(2);

function run(cmd, args, capture = false) {
  console.log(`[arm64] $ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: capture ? 'pipe' : 'inherit', maxBuffer: 256 * 1024 * 1024 });
  if (capture) {
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
  }
  return r;
}

function fail(message) {
  console.error(`[arm64] ${message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

function seconds(since) {
  return ((Date.now() - since) / 1000).toFixed(1);
}

const missing = [
  ['aarch64-linux-gnu-g++', 'g++-aarch64-linux-gnu'],
  ['qemu-aarch64', 'qemu-user'],
].filter(([tool]) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length > 0) {
  fail(`missing ${missing.map(([tool]) => tool).join(', ')}: apt-get install ${missing.map(([, pkg]) => pkg).join(' ')}`);
}

const buildStart = Date.now();
const cfg = run('cmake', ['-S', 'native', '-B', dir, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', '-DALLOY_BUILD_TESTS=ON', `-DCMAKE_TOOLCHAIN_FILE=${toolchain}`]);
if (cfg.status !== 0) fail('cmake configure failed');
const build = run('ninja', ['-C', dir, '-j', jobs]);
if (build.status !== 0) fail('build failed');
console.log(`[arm64] cross build: ${seconds(buildStart)} s`);

const testStart = Date.now();
const r = run('ctest', ['--test-dir', dir, '-V', '--timeout', '900', ...ctestArgs], true);
const testSeconds = seconds(testStart);
const out = `${r.stdout}\n${r.stderr}`;

// ctest -V prefixes a test's output with its number: `3: 6 passed, 0 failed`.
const summaries = new Map();
for (const m of out.matchAll(/^(\d+): (\d+) passed, (\d+) failed$/gm)) {
  summaries.set(m[1], { passed: Number(m[2]), failed: Number(m[3]) });
}
let passed = 0;
let failed = 0;
console.log('\n[arm64] per test executable (under qemu-aarch64)');
for (const m of out.matchAll(/^\s*\d+\/\d+ Test\s+#(\d+): (\S+) \.+\*{0,3}\s*(\S.*?)\s+([\d.]+) sec$/gm)) {
  const [, id, name, status, time] = m;
  const s = summaries.get(id);
  if (s) {
    passed += s.passed;
    failed += s.failed;
    console.log(`[arm64]   ${name.padEnd(28)} ${s.passed} passed, ${s.failed} failed (${time} s)`);
  } else {
    failed += 1;  // crashed, timed out or printed no summary
    console.log(`[arm64]   ${name.padEnd(28)} no summary: ${status} (${time} s)`);
  }
}
if (r.status !== 0 && failed === 0) failed = 1;
if (passed + failed === 0) failed = 1;  // nothing ran
console.log(`[arm64] qemu test run: ${testSeconds} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
