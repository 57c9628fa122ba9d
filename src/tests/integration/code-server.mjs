// code-server (the npm package that embeds VS Code 1.100.3 with a Node
// extension host): finding the install made by scripts/install-vscode-test.sh,
// starting it on a loopback port in its own process group, building the
// workbench URL that loads an extension under development, and stopping it.
// Used by the integration runner (run.mjs) and by `npm start` (scripts/start.mjs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = process.env.ALLOY_CODE_SERVER_VERSION || '4.100.3';
/** The VS Code that this code-server embeds; engines.vscode must not be newer. */
export const VSCODE_VERSION = '1.100.3';
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const INSTALL_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'install-vscode-test.sh');

/** User settings for a quiet, deterministic workbench (no tours, updates, telemetry, trust prompts). */
export const QUIET_USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.openRepositoryInParentFolders': 'never',
  'window.restoreWindows': 'none',
};

/** Install folders the installer may have finished, in the order it checks them. */
function installDirCandidates() {
  const cacheRoot = process.env.ALLOY_VSCODE_TEST_CACHE || path.join(os.homedir(), '.cache', 'alloy-vscode-test');
  return [
    path.join(cacheRoot, `code-server-${CODE_SERVER_VERSION}`),
    path.join(os.homedir(), '.cache', `code-server-${CODE_SERVER_VERSION}`),
  ];
}

/** The code-server binary: $ALLOY_CODE_SERVER_BIN, a finished install, or PATH; undefined if none. */
export function findCodeServer() {
  const explicit = process.env.ALLOY_CODE_SERVER_BIN;
  if (explicit) return fs.existsSync(explicit) ? explicit : undefined;
  for (const dir of installDirCandidates()) {
    const bin = path.join(dir, 'bin', 'code-server');
    if (fs.existsSync(path.join(dir, '.install-complete')) && fs.existsSync(bin)) return bin;
  }
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const bin = dir && path.join(dir, 'code-server');
    if (bin && fs.existsSync(bin)) return bin;
  }
  return undefined;
}

export function requireCodeServer() {
  const bin = findCodeServer();
  if (!bin) {
    throw new Error(`code-server ${CODE_SERVER_VERSION} not found: run \`bash ${path.relative(process.cwd(), INSTALL_SCRIPT)}\` ` +
      'once (or set ALLOY_CODE_SERVER_BIN)');
  }
  return bin;
}

/**
 * The environment for code-server and, through it, the extension host.
 * VSCODE_* variables are removed: inside a VS Code terminal VSCODE_IPC_HOOK_CLI
 * turns code-server into a client of that window. PORT would override --bind-addr.
 */
export function serverEnvironment(extra = {}) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE' || key === 'PORT') delete env[key];
  }
  env.EXTENSIONS_GALLERY ??= '{}'; // no marketplace: no lookups of unreachable hosts
  return { ...env, ...extra };
}

/** Writes the quiet settings (merged with `settings`) unless keepExisting and a file is there. */
export function writeUserSettings(userDataDir, settings = {}, { keepExisting = false } = {}) {
  const file = path.join(userDataDir, 'User', 'settings.json');
  if (keepExisting && fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ ...QUIET_USER_SETTINGS, ...settings }, null, 2)}\n`);
}

/** code-server's arguments; stateDir holds user data, extensions and its config file. */
export function codeServerArgs({ stateDir, host = '127.0.0.1', port = 0 }) {
  return ['--auth', 'none', '--bind-addr', `${host}:${port}`, '--disable-telemetry',
    '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--ignore-last-opened', '--config', path.join(stateDir, 'config.yaml'),
    '--user-data-dir', path.join(stateDir, 'user-data'),
    '--extensions-dir', path.join(stateDir, 'extensions')];
}

/**
 * Starts code-server in its own process group and resolves once it listens.
 * onLine(stream, line) receives its output ('stdout' | 'stderr'), which also
 * carries the extension host's stdout/stderr.
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, port: number, stop: () => Promise<void> }>}
 */
export function startCodeServer({ bin, stateDir, env, host, port, onLine, startTimeoutMs = 60_000 }) {
  fs.mkdirSync(path.join(stateDir, 'extensions'), { recursive: true });
  const child = spawn(bin, codeServerArgs({ stateDir, host, port }),
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () => stopProcessGroup(child);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error, listeningPort) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) stop().finally(() => reject(error));
      else resolve({ child, port: listeningPort, stop });
    };
    const timer = setTimeout(() => settle(new Error(`code-server did not listen within ${startTimeoutMs} ms`)), startTimeoutMs);
    const forward = (stream) => {
      let pending = '';
      return (chunk) => {
        const lines = (pending + chunk.toString()).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.trim()) continue;
          onLine?.(stream, line);
          const listening = /HTTP server listening on https?:\/\/[^\s]+:(\d+)/.exec(line);
          if (listening) settle(undefined, Number(listening[1]));
        }
      };
    };
    child.stdout.on('data', forward('stdout'));
    child.stderr.on('data', forward('stderr'));
    child.on('error', (error) => settle(error));
    child.on('exit', (code, signal) => settle(new Error(`code-server exited before listening (${code ?? signal})`)));
  });
}

/** SIGTERM to the whole process group, SIGKILL after 5 s and for anything left in the group. */
export async function stopProcessGroup(child) {
  if (!child?.pid) return;
  const kill = (signal) => {
    try { process.kill(-child.pid, signal); } catch { /* the group is gone */ }
  };
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    kill('SIGTERM');
    const forceTimer = setTimeout(() => kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(forceTimer);
  }
  kill('SIGKILL'); // leftovers in the group, e.g. the extension host's own children
}

/**
 * The workbench URL that opens `workspacePath` with the extension(s) under
 * development (and, for tests, the test module). Paths in the payload are
 * vscode-remote URIs whose authority must equal the page's host, so that they
 * resolve on the server and run in its Node extension host.
 */
export function workbenchUrl({ host = '127.0.0.1', port, extensionDevelopmentPath, extensionTestsPath, workspacePath }) {
  const authority = `${host}:${port}`;
  const remote = (p) => `vscode-remote://${authority}${p.split(path.sep).map(encodeURIComponent).join('/')}`;
  const payload = [
    ...[extensionDevelopmentPath].flat().map((p) => ['extensionDevelopmentPath', remote(p)]),
    ...(extensionTestsPath ? [['extensionTestsPath', remote(extensionTestsPath)]] : []),
    ['skipWelcome', 'true'],
    ['skipReleaseNotes', 'true'],
  ];
  const query = new URLSearchParams();
  if (workspacePath) query.set(workspacePath.endsWith('.code-workspace') ? 'workspace' : 'folder', workspacePath);
  else query.set('ew', 'true');
  query.set('payload', JSON.stringify(payload));
  return `http://${authority}/?${query}`;
}
