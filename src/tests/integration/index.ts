// The integration suite's entry point inside the VS Code extension host
// (extensionTestsPath = dist/tests/integration/index.js). VS Code calls run();
// when it settles, VS Code exits with 0 (resolved) or 1 (rejected).
//
// The suite files are bundled into this file by esbuild (static dynamic
// imports). Each registers its suites with mocha's tdd globals when it is
// evaluated, so every file is loaded between the pre-require and post-require
// events, exactly like mocha loads files from disk (and like @vscode/test-cli
// loads dist/tests/integration/*.test.js, see .vscode-test.mjs).
//
// mocha is not bundled: it is required from node_modules at run time, which
// Node finds from dist/tests/integration/ by walking up to the project root.
//
// When ALLOY_TEST_RESULTS is set, the results go to that file as JSON:
//   { "passed": N, "failed": N, "skipped": N, "tests": [{ title, state, durationMs, error? }] }
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

/** How long a failed test waits for the runner's screenshot of the failing state. */
const SCREENSHOT_WAIT_MS = 5_000;

/** Mocha options; .vscode-test.mjs repeats them for @vscode/test-cli. */
const MOCHA_OPTIONS: Mocha.MochaOptions = { ui: 'tdd', color: false, timeout: 60_000, slow: 10_000 };

interface SuiteFile {
  readonly name: string;
  readonly load: () => Promise<unknown>;
}

const DEVELOPMENT_SUITES: readonly SuiteFile[] = [
  { name: 'activation.test', load: () => import('./activation.test') },
  { name: 'completion.test', load: () => import('./completion.test') },
  { name: 'models.test', load: () => import('./models.test') },
  { name: 'chat.test', load: () => import('./chat.test') },
];
// ALLOY_TEST_SUITE=vsix (run.mjs with ALLOY_TEST_VSIX): the installed package instead.
const VSIX_SUITES: readonly SuiteFile[] = [{ name: 'vsix.test', load: () => import('./vsix.test') }];
// After the development suites pass, the code-server runner reloads the window (writing
// `phase` into its driver folder) and these check what must survive a reload.
const AFTER_RELOAD_SUITES: readonly SuiteFile[] = [{ name: 'after-reload.test', load: () => import('./after-reload.test') }];

function suiteFiles(): readonly SuiteFile[] {
  if (process.env['ALLOY_TEST_SUITE'] === 'vsix') return VSIX_SUITES;
  const driver = process.env['ALLOY_TEST_DRIVER'];
  const phase = driver && fs.existsSync(path.join(driver, 'phase')) ? fs.readFileSync(path.join(driver, 'phase'), 'utf8') : '';
  return phase === 'after-reload' ? AFTER_RELOAD_SUITES : DEVELOPMENT_SUITES;
}

const SUITE_FILES = suiteFiles();

type TestState = 'passed' | 'failed' | 'skipped';

interface TestRecord {
  title: string;
  state: TestState;
  durationMs: number;
  error?: string;
}

interface TestResults {
  passed: number;
  failed: number;
  skipped: number;
  tests: TestRecord[];
}

/** Collects every test's outcome from the runner's events (failed hooks count as failures, like mocha does). */
function recordResults(runner: Mocha.Runner): TestResults {
  const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;
  const results: TestResults = { passed: 0, failed: 0, skipped: 0, tests: [] };
  const add = (test: Mocha.Runnable, state: TestState, error?: unknown): void => {
    switch (state) {
      case 'passed': results.passed += 1; break;
      case 'failed': results.failed += 1; break;
      case 'skipped': results.skipped += 1; break;
    }
    const record: TestRecord = { title: test.fullTitle(), state, durationMs: test.duration ?? 0 };
    if (error !== undefined) record.error = error instanceof Error ? error.stack ?? error.message : String(error);
    results.tests.push(record);
  };
  runner.on(EVENT_TEST_PASS, (test) => add(test, 'passed'));
  runner.on(EVENT_TEST_FAIL, (test, error) => add(test, 'failed', error));
  runner.on(EVENT_TEST_PENDING, (test) => add(test, 'skipped'));
  return results;
}

function writeResults(results: TestResults): void {
  const file = process.env['ALLOY_TEST_RESULTS'];
  if (!file) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

/**
 * When the runner takes screenshots (ALLOY_TEST_SCREENSHOT_REQUESTS, a folder;
 * the code-server route sets it), a failed test asks for one while the
 * workbench still shows the failing state: it writes <n>.request (the test's
 * title) and waits for the runner's <n>.done.
 */
function requestScreenshotsOfFailures(mocha: Mocha): void {
  const dir = process.env['ALLOY_TEST_SCREENSHOT_REQUESTS'];
  if (!dir) return;
  let count = 0;
  mocha.suite.afterEach(async function screenshotOfFailure(this: Mocha.Context) {
    if (this.currentTest?.state !== 'failed') return;
    count += 1;
    fs.writeFileSync(path.join(dir, `${count}.request`), this.currentTest.fullTitle());
    const done = path.join(dir, `${count}.done`);
    const deadline = Date.now() + SCREENSHOT_WAIT_MS;
    while (!fs.existsSync(done) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  });
}

async function loadSuites(mocha: Mocha): Promise<void> {
  const { EVENT_FILE_PRE_REQUIRE, EVENT_FILE_REQUIRE, EVENT_FILE_POST_REQUIRE } = Mocha.Suite.constants;
  for (const file of SUITE_FILES) {
    // pre-require installs the tdd interface (suite, test, suiteSetup, ...) on the global object
    mocha.suite.emit(EVENT_FILE_PRE_REQUIRE, globalThis, file.name, mocha);
    mocha.suite.emit(EVENT_FILE_REQUIRE, await file.load(), file.name, mocha);
    mocha.suite.emit(EVENT_FILE_POST_REQUIRE, globalThis, file.name, mocha);
  }
}

export async function run(): Promise<void> {
  const mocha = new Mocha(MOCHA_OPTIONS);
  let results: TestResults = { passed: 0, failed: 0, skipped: 0, tests: [] };
  try {
    requestScreenshotsOfFailures(mocha);
    await loadSuites(mocha);
    const failures = await new Promise<number>((resolve) => {
      const runner = mocha.run(resolve);
      results = recordResults(runner);
    });
    if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
  } catch (error) {
    // a suite file that throws while loading is a failure the counts must show
    if (results.tests.length === 0) {
      const message = error instanceof Error ? error.stack ?? error.message : String(error);
      results = { passed: 0, failed: 1, skipped: 0, tests: [{ title: 'loading the integration suites', state: 'failed', durationMs: 0, error: message }] };
    }
    throw error;
  } finally {
    writeResults(results);
  }
}
