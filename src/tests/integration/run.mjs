#!/usr/bin/env node
// The integration tier: the mocha suite in dist/tests/integration/index.js runs
// inside a real VS Code 1.100.3 with the extension at the project root loaded
// and src/tests/integration/workspace open.
//
// Route (VSCODE_TEST_RUNNER=auto|electron|code-server, default auto):
//   electron     desktop VS Code from @vscode/test-electron (downloaded into
//                .vscode-test/, or already there), under xvfb-run when there is no display
//   code-server  code-server (scripts/install-vscode-test.sh) + headless Chromium
//                through playwright-core; auto falls back to it when VS Code
//                cannot be downloaded (offline the attempt fails in well under a second)
//
// Exit code: the tests' result (0 = all passed), 130 on SIGINT/SIGTERM/SIGHUP.
// Environment:
//   ALLOY_TEST_RESULTS             write { passed, failed, skipped, tests } JSON there
//   ALLOY_TEST_ARTIFACTS           folder for failure screenshots + logs
//                                  (default .vscode-test/integration-failures)
//   ALLOY_INTEGRATION_TIMEOUT_MS   whole-run limit (default 180000)
//   ALLOY_TEST_SCREENSHOTS         folder for the screenshots tests ask for (ghost text, …)
//                                  (default .vscode-test/screenshots)
//   ALLOY_TEST_FAIL=1              one assertion fails on purpose (checks the failure path)
//   ALLOY_TEST_VSIX                a .vsix (npm run package): install it into the run's fresh
//                                  extensions folder and run the vsix suite against it, with
//                                  only an empty development extension (vsix-stub/) loaded
//   VSCODE_TEST_KEEP=1             keep the temporary user-data/extensions folders
//   ALLOY_CODE_SERVER_BIN, CHROMIUM_PATH (default /usr/bin/chromium)   binaries to use
// Failure artifacts (one folder per failed run): failed-test-<n>.png taken while a
// failed test waits (code-server route), at-exit.png, workbench/server/VS Code logs.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import {
  PROJECT_ROOT, VSCODE_VERSION, codeServerArgs, requireCodeServer, serverEnvironment, startCodeServer,
  workbenchUrl, writeUserSettings,
} from './code-server.mjs';

const EXTENSION_ENTRY = path.join(PROJECT_ROOT, 'dist', 'extension.js');
const TESTS_INDEX = path.join(PROJECT_ROOT, 'dist', 'tests', 'integration', 'index.js');
const WORKSPACE = path.join(PROJECT_ROOT, 'src', 'tests', 'integration', 'workspace');
const ARTIFACTS_DIR = path.resolve(process.env.ALLOY_TEST_ARTIFACTS ||
  path.join(PROJECT_ROOT, '.vscode-test', 'integration-failures'));
const SCREENSHOTS_DIR = path.resolve(process.env.ALLOY_TEST_SCREENSHOTS ||
  path.join(PROJECT_ROOT, '.vscode-test', 'screenshots'));
const SHARED_MODELS = path.resolve(process.env.ALLOY_SHARED_MODELS || path.join(PROJECT_ROOT, '..', 'shared', 'models'));
const TIMEOUT_MS = Number(process.env.ALLOY_INTEGRATION_TIMEOUT_MS) || 180_000;
const RESULTS_FILE = process.env.ALLOY_TEST_RESULTS ? path.resolve(process.env.ALLOY_TEST_RESULTS) : undefined;
const ROUTE = process.env.VSCODE_TEST_RUNNER || 'auto';
const EXIT_INTERRUPTED = 130;
// log lines that only say that there is no marketplace or no (proprietary) vsda module
const WORKBENCH_NOISE = /^Ignoring fetching additional builtin extensions from gallery/;
const SERVER_NOISE = /^File not found: .*\/node_modules\/vsda\//;
const VSIX = process.env.ALLOY_TEST_VSIX ? path.resolve(process.env.ALLOY_TEST_VSIX) : undefined;
// The development extension: the project, or (testing the installed .vsix) an empty stub.
const DEVELOPMENT_EXTENSION = VSIX ? path.join(PROJECT_ROOT, 'src', 'tests', 'integration', 'vsix-stub') : PROJECT_ROOT;

const log = (...args) => console.log('[runner]', ...args);
const elapsed = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

/** Why the run was stopped (signal, timeout), for the result file. */
let stopReason;

/** One interruption source for both routes: a signal or the whole-run timeout. */
function createStopSignal() {
  let resolveStopped;
  const stopped = new Promise((resolve) => { resolveStopped = resolve; });
  const stop = (code, reason) => {
    if (stopReason) return;
    stopReason = reason;
    log(`${reason}: stopping`);
    resolveStopped({ code, reason });
  };
  const onSignal = (signal) => {
    if (stopReason) { log(`${signal} again: exiting now`); process.exit(EXIT_INTERRUPTED); }
    stop(EXIT_INTERRUPTED, `interrupted by ${signal}`);
  };
  const timer = setTimeout(() => stop(1, `timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  return {
    /** resolves to { code, reason } when the run must stop */
    stopped,
    /** SIGINT listeners other than this one (@vscode/test-electron's) */
    otherSigintListeners: () => process.listeners('SIGINT').filter((l) => l !== onSignal),
    cancelTimeout: () => clearTimeout(timer),
    dispose() { clearTimeout(timer); for (const s of signals) process.off(s, onSignal); },
  };
}

/** Desktop VS Code if the route allows it and it can be downloaded or is cached. */
async function findDesktopVSCode() {
  if (ROUTE === 'code-server') return undefined;
  try {
    const electron = await import('@vscode/test-electron');
    const executable = await electron.downloadAndUnzipVSCode({
      version: VSCODE_VERSION, cachePath: path.join(PROJECT_ROOT, '.vscode-test'), timeout: 15_000,
    });
    return { electron, executable };
  } catch (error) {
    if (ROUTE === 'electron') throw error;
    log(`desktop VS Code ${VSCODE_VERSION} unavailable (${error.message.split('\n')[0]}); using code-server`);
    return undefined;
  }
}

/** Resolves once no process of the group is left, SIGKILLing what remains after graceMs. */
async function waitForProcessGroup(pgid, graceMs) {
  const alive = () => { try { process.kill(-pgid, 0); return true; } catch { return false; } };
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) { try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ } }
}

/**
 * Reruns this script under xvfb-run (desktop VS Code needs a display on Linux).
 * The rerun enforces the timeout; a signal stops its whole process group, which
 * gets time to clean up (the rerun stops VS Code and writes the result file).
 */
function rerunUnderXvfb(stop) {
  log('no display: rerunning under xvfb-run');
  stop.cancelTimeout();
  const child = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x800x24', process.execPath, fileURLToPath(import.meta.url)],
    { stdio: 'inherit', detached: true, env: { ...process.env, VSCODE_TEST_RUNNER: 'electron' } });
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? EXIT_INTERRUPTED : 1)));
    child.on('error', (error) => { log(`xvfb-run: ${error.message} (Debian package xvfb)`); resolve(1); });
  });
  const interrupted = stop.stopped.then(async ({ code }) => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    await waitForProcessGroup(child.pid, 15_000);
    return code;
  });
  return Promise.race([exited.then(async (code) => { await waitForProcessGroup(child.pid, 15_000); return code; }), interrupted]);
}

async function runDesktop({ electron, executable }, stop, tmp, testsEnv) {
  if (process.platform === 'linux' && !process.env.DISPLAY) return rerunUnderXvfb(stop);
  const userDataDir = path.join(tmp, 'user-data');
  writeUserSettings(userDataDir);
  if (VSIX) installVsix(executable, ['--extensions-dir', path.join(tmp, 'extensions'), '--user-data-dir', userDataDir]);
  // test-electron kills VS Code on SIGINT itself; a timeout or SIGTERM is passed on as that
  let stopCode;
  stop.stopped.then(({ code }) => {
    stopCode = code;
    for (const listener of stop.otherSigintListeners()) listener('SIGINT');
  });
  let code;
  try {
    code = await electron.runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: DEVELOPMENT_EXTENSION,
      extensionTestsPath: TESTS_INDEX,
      extensionTestsEnv: testsEnv,
      // With a .vsix the installed extensions must stay enabled (the folder holds only it).
      launchArgs: [WORKSPACE, ...(VSIX ? [] : ['--disable-extensions']), `--user-data-dir=${userDataDir}`,
        `--extensions-dir=${path.join(tmp, 'extensions')}`],
    });
  } catch (error) {
    log(error.message);
    code = stopCode ?? (typeof error.code === 'number' && error.code !== 0 ? error.code : 1);
  }
  if (code !== 0 && code !== EXIT_INTERRUPTED) copyLogFolder(path.join(userDataDir, 'logs'), 'vscode-logs');
  return code;
}

/** This run's folder for failure artifacts, created on first use. */
let failureDir;
function failureArtifactsDir() {
  failureDir ??= path.join(ARTIFACTS_DIR, new Date().toISOString().replace(/[:.]/g, '-'));
  fs.mkdirSync(failureDir, { recursive: true });
  return failureDir;
}

/** Copies a VS Code log folder (user-data/logs) into the failure folder. */
function copyLogFolder(logsDir, name) {
  if (!fs.existsSync(logsDir)) return;
  const target = path.join(failureArtifactsDir(), name);
  fs.cpSync(logsDir, target, { recursive: true });
  log(`logs: ${target}`);
}

/** The browser workbench's own log files, handed over by codeAutomationExit. */
function saveWorkbenchLogs(logs) {
  if (!Array.isArray(logs) || logs.length === 0) return;
  const target = path.join(failureArtifactsDir(), 'workbench-logs');
  for (const { relativePath, contents } of logs) {
    const file = path.join(target, relativePath);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, contents);
  }
  log(`workbench logs: ${target}`);
}

async function launchChromium() {
  const { chromium } = createRequire(path.join(PROJECT_ROOT, 'package.json'))('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    // our own signal handling stops code-server too; playwright's would exit first
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  });
}

/**
 * Screenshots that failed tests ask for (see requestScreenshotsOfFailures in
 * index.ts): <n>.request in the folder is answered with failed-test-<n>.png and <n>.done.
 */
function answerScreenshotRequests(page, dir) {
  const answered = new Set();
  let busy = Promise.resolve();
  const poll = () => {
    for (const name of fs.readdirSync(dir)) {
      const n = /^(\d+)\.request$/.exec(name)?.[1];
      if (!n || answered.has(n)) continue;
      answered.add(n);
      const title = fs.readFileSync(path.join(dir, name), 'utf8');
      busy = busy.then(async () => {
        log(`test failed: ${title}`);
        await saveScreenshot(page, `failed-test-${n}`);
        fs.writeFileSync(path.join(dir, `${n}.done`), '');
      });
    }
  };
  const timer = setInterval(poll, 100);
  return { stop: async () => { clearInterval(timer); await busy; } };
}

/**
 * The tests' hands on the code-server route (ALLOY_TEST_DRIVER, a folder): a test writes
 * <n>.json - {kind: 'type', text, delayMs} | {kind: 'press', key} | {kind: 'screenshot', name} -
 * and waits for <n>.done (or <n>.error holding the reason). Keys go through Chromium's
 * keyboard into the focused workbench, exactly like a person typing.
 */
/** The first element matching `selector` in any frame of the page (webviews are nested iframes). */
async function findInFrames(page, selector) {
  for (const frame of page.frames()) {
    const element = await frame.$(selector).catch(() => null);
    if (element) return element;
  }
  throw new Error(`no element matches ${selector} in any frame`);
}

function answerDriverRequests(page, dir) {
  const answered = new Set();
  let busy = Promise.resolve();
  const perform = async (request) => {
    switch (request.kind) {
      case 'type': await page.keyboard.type(String(request.text), { delay: Number(request.delayMs) || 0 }); return;
      case 'press': await page.keyboard.press(String(request.key)); return;
      case 'webviewClick': await (await findInFrames(page, String(request.selector))).click(); return;
      case 'webviewText': return (await findInFrames(page, String(request.selector))).innerText();
      case 'screenshot': {
        fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
        const file = path.join(SCREENSHOTS_DIR, `${String(request.name).replace(/[^\w.-]/g, '_')}.png`);
        await page.screenshot({ path: file, timeout: 10_000 });
        log(`screenshot: ${file}`);
        return;
      }
      default: throw new Error(`unknown driver request ${JSON.stringify(request)}`);
    }
  };
  const poll = () => {
    for (const name of fs.readdirSync(dir)) {
      const n = /^(\d+)\.json$/.exec(name)?.[1];
      if (!n || answered.has(n)) continue;
      answered.add(n);
      busy = busy.then(async () => {
        try {
          const answer = await perform(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')));
          // Renamed into place: the test reads the answer as soon as the file exists.
          fs.writeFileSync(path.join(dir, `${n}.done.tmp`), typeof answer === 'string' ? answer : '');
          fs.renameSync(path.join(dir, `${n}.done.tmp`), path.join(dir, `${n}.done`));
        } catch (error) {
          fs.writeFileSync(path.join(dir, `${n}.error`), error instanceof Error ? error.message : String(error));
        }
      });
    }
  };
  const timer = setInterval(poll, 20);
  return { stop: async () => { clearInterval(timer); await busy; } };
}

async function runInCodeServer(stop, tmp, testsEnv) {
  const started = Date.now();
  writeUserSettings(path.join(tmp, 'user-data'));
  if (VSIX) installVsix(requireCodeServer(), codeServerArgs({ stateDir: tmp }));
  const screenshotRequests = path.join(tmp, 'screenshot-requests');
  fs.mkdirSync(screenshotRequests);
  const driverRequests = path.join(tmp, 'driver-requests');
  fs.mkdirSync(driverRequests);
  const server = await startCodeServer({
    bin: requireCodeServer(), stateDir: tmp,
    env: serverEnvironment({ ...testsEnv, ALLOY_TEST_SCREENSHOT_REQUESTS: screenshotRequests, ALLOY_TEST_DRIVER: driverRequests }),
    onLine: (_stream, line) => { if (!SERVER_NOISE.test(line)) console.log(`[server] ${line}`); },
  });
  let browser;
  try {
    log(`code-server pid ${server.child.pid} listening on port ${server.port} after ${elapsed(started)}`);
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    let settled = false;
    let finish;
    let finished = new Promise((resolve) => { finish = resolve; });
    await page.exposeFunction('codeAutomationLog', (level, args) => {
      const text = format(...(Array.isArray(args) ? args : [args]));
      if (!WORKBENCH_NOISE.test(text)) console.log(`[vscode:${level}] ${text}`);
    });
    await page.exposeFunction('codeAutomationExit', (code, logs) => finish({ code: Number(code) || 0, logs }));
    page.on('pageerror', (error) => console.log(`[browser:pageerror] ${error.message}`));
    const fail = (reason) => { if (!settled) { log(reason); finish({ code: 1 }); } };
    page.on('crash', () => fail('the browser page crashed'));
    server.child.once('exit', (code, signal) => fail(`code-server exited (${code ?? signal})`));

    const url = workbenchUrl({ port: server.port, extensionDevelopmentPath: DEVELOPMENT_EXTENSION,
      extensionTestsPath: TESTS_INDEX, workspacePath: WORKSPACE });
    log(`opening the workbench: ${url}`);
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const screenshots = answerScreenshotRequests(page, screenshotRequests);
    const driver = answerDriverRequests(page, driverRequests);
    let result = await Promise.race([finished, stop.stopped]);
    // The dev suites passed: reload the window (same browser, so the same workbench storage)
    // and run the suites that check what must survive a reload (the chat history).
    if (!VSIX && result.code === 0 && !stopReason) {
      const firstResults = RESULTS_FILE ? readResults(RESULTS_FILE) : undefined;
      fs.writeFileSync(path.join(driverRequests, 'phase'), 'after-reload');
      finished = new Promise((resolve) => { finish = resolve; });
      log('reloading the window for the after-reload suites');
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      result = await Promise.race([finished, stop.stopped]);
      if (RESULTS_FILE && firstResults) mergeResults(RESULTS_FILE, firstResults);
    }
    settled = true;
    await screenshots.stop();
    await driver.stop();
    if (result.code !== 0 && result.code !== EXIT_INTERRUPTED) {
      await saveScreenshot(page, 'at-exit');
      saveWorkbenchLogs(result.logs);
      copyLogFolder(path.join(tmp, 'user-data', 'logs'), 'server-logs'); // incl. the extension host's
    }
    return result.code;
  } finally {
    if (browser) await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    await server.stop();
  }
}

/** Installs ALLOY_TEST_VSIX with the editor's CLI (`--install-extension`) and the run's folders. */
function installVsix(bin, folderArgs) {
  log(`installing ${VSIX}`);
  const r = spawnSync(bin, [...folderArgs, '--install-extension', VSIX], { encoding: 'utf8', env: serverEnvironment() });
  if (r.status !== 0) throw new Error(`installing ${VSIX} failed (exit ${r.status}): ${r.stderr || r.stdout}`);
}

async function saveScreenshot(page, name) {
  const file = path.join(failureArtifactsDir(), `${name}.png`);
  try {
    await page.screenshot({ path: file, timeout: 10_000 });
    log(`screenshot: ${file}`);
  } catch (error) {
    log(`screenshot failed: ${error.message}`);
  }
}

async function main() {
  const started = Date.now();
  if (RESULTS_FILE) fs.rmSync(RESULTS_FILE, { force: true });
  if (!['auto', 'electron', 'code-server'].includes(ROUTE)) {
    throw new Error(`VSCODE_TEST_RUNNER must be auto, electron or code-server, not ${ROUTE}`);
  }
  for (const file of [EXTENSION_ENTRY, TESTS_INDEX]) {
    if (!fs.existsSync(file)) throw new Error(`${path.relative(PROJECT_ROOT, file)} missing: run \`npm run build\` first`);
  }
  log(`failure screenshots and logs go to ${ARTIFACTS_DIR}`);
  log(`screenshots the tests take go to ${SCREENSHOTS_DIR}`);
  if (VSIX && !fs.existsSync(VSIX)) throw new Error(`ALLOY_TEST_VSIX: ${VSIX} does not exist (run \`npm run package\`)`);
  const testsEnv = { ALLOY_SHARED_MODELS: SHARED_MODELS, ...(RESULTS_FILE ? { ALLOY_TEST_RESULTS: RESULTS_FILE } : {}) };
  const stop = createStopSignal();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alloy-vscode-test-'));
  if (VSIX) Object.assign(testsEnv, { ALLOY_TEST_SUITE: 'vsix', ALLOY_TEST_VSIX_EXTENSIONS: path.join(tmp, 'extensions') });
  let code;
  try {
    const desktop = await findDesktopVSCode();
    log(`route: ${desktop ? `desktop VS Code ${desktop.executable}` : 'code-server + headless Chromium'}`);
    code = desktop ? await runDesktop(desktop, stop, tmp, testsEnv) : await runInCodeServer(stop, tmp, testsEnv);
  } finally {
    stop.dispose();
    if (process.env.VSCODE_TEST_KEEP === '1') log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
  return reconcileResults(code, started);
}

/** Adds the first phase's results to the file the second phase wrote (or rewrites them if it wrote none). */
function mergeResults(file, first) {
  const second = readResults(file) ?? { passed: 0, failed: 1, skipped: 0, tests: [{ title: 'after-reload suites', state: 'failed', durationMs: 0, error: 'no results' }] };
  const merged = {
    passed: first.passed + second.passed,
    failed: first.failed + second.failed,
    skipped: first.skipped + second.skipped,
    tests: [...first.tests, ...second.tests],
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
}

/** The result file's contents if it is there and well-formed. */
function readResults(file) {
  try {
    const results = JSON.parse(fs.readFileSync(file, 'utf8'));
    const counts = ['passed', 'failed', 'skipped'].every((k) => Number.isInteger(results[k]));
    return counts && Array.isArray(results.tests) ? results : undefined;
  } catch {
    return undefined;
  }
}

/** Adds a failed entry for a run that failed outside the tests (crash, timeout, missing build). */
function recordRunFailure(file, error) {
  const results = readResults(file) ?? { passed: 0, failed: 0, skipped: 0, tests: [] };
  results.failed += 1;
  results.tests.push({ title: 'integration tier: the VS Code run', state: 'failed', durationMs: 0, error });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

/**
 * The exit code and the result file made consistent: a failed test fails the
 * run, and a failed run shows at least one failure in the counts.
 */
function reconcileResults(code, started) {
  let results = RESULTS_FILE ? readResults(RESULTS_FILE) : undefined;
  let finalCode = code;
  if (RESULTS_FILE) {
    if (finalCode === 0 && (!results || results.failed > 0)) finalCode = 1;
    if (finalCode !== 0 && !(results && results.failed > 0)) {
      const why = results ? 'although no test failed' : 'without test results';
      results = recordRunFailure(RESULTS_FILE, `VS Code run ended with code ${code} ${why}${stopReason ? ` (${stopReason})` : ''}`);
    }
  }
  const summary = results ? `${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped; ` : '';
  log(`${summary}exit code ${finalCode} after ${elapsed(started)}`);
  return finalCode;
}

let exitCode;
try {
  exitCode = await main();
} catch (error) {
  console.error(`[runner] ${error.stack || error}`);
  if (RESULTS_FILE) recordRunFailure(RESULTS_FILE, error.message);
  exitCode = 1;
}
process.exit(exitCode);
