#!/usr/bin/env node
// `npm start`: opens the extension under development in VS Code on the sample
// workspace (src/tests/integration/workspace).
//   1. `npm run build` when dist/extension.js or the native addon is missing;
//   2. a `code` CLI on PATH: `code --extensionDevelopmentPath=<root> <workspace>`;
//      otherwise code-server (scripts/install-vscode-test.sh installs it when
//      missing) on 127.0.0.1 with the extension loaded; prints the URL and runs
//      until Ctrl+C. Its state (settings, extensions) stays in .vscode-test/start/.
//
// Environment:
//   ALLOY_START_DRY_RUN=1    print what would run, then exit
//   ALLOY_START_WITH=code|code-server   choose instead of looking for `code`
//   ALLOY_START_PORT         code-server's port (default 8400)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  INSTALL_SCRIPT, PROJECT_ROOT, codeServerArgs, findCodeServer, serverEnvironment,
  startCodeServer, workbenchUrl, writeUserSettings,
} from '../src/tests/integration/code-server.mjs';

const WORKSPACE = path.join(PROJECT_ROOT, 'src', 'tests', 'integration', 'workspace');
const STATE_DIR = path.join(PROJECT_ROOT, '.vscode-test', 'start');
const HOST = '127.0.0.1';
const DRY_RUN = process.env.ALLOY_START_DRY_RUN === '1';
const PORT = Number(process.env.ALLOY_START_PORT || 8400);
const EDITOR = process.env.ALLOY_START_WITH || (findOnPath('code') ? 'code' : 'code-server');

const log = (...args) => console.log('[start]', ...args);
const quote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`);
const commandLine = (cmd, args) => [cmd, ...args].map(quote).join(' ');

function findOnPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const file = dir && path.join(dir, name);
    if (file && fs.existsSync(file)) return file;
  }
  return undefined;
}

/** Runs a command to completion with inherited output (or only prints it in a dry run). */
function runStep(cmd, args, { captureStdout = false } = {}) {
  log(`${DRY_RUN ? 'would run' : 'running'}: ${commandLine(cmd, args)}`);
  if (DRY_RUN) return '';
  const result = spawnSync(cmd, args, { cwd: PROJECT_ROOT, stdio: ['inherit', captureStdout ? 'pipe' : 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${cmd} failed (${result.error?.message ?? result.status ?? result.signal})`);
  return captureStdout ? result.stdout.toString().trim() : '';
}

function addonBuilt() {
  return ['dist', path.join('build', 'Release')].some((dir) =>
    fs.existsSync(path.join(PROJECT_ROOT, dir, 'alloy.node')));
}

function buildIfNeeded() {
  if (fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'extension.js')) && addonBuilt()) return;
  runStep('npm', ['run', 'build']);
}

function openInDesktopCode() {
  const args = [`--extensionDevelopmentPath=${PROJECT_ROOT}`, WORKSPACE];
  runStep('code', args);
}

async function openInCodeServer() {
  const bin = findCodeServer() ?? runStep('bash', [INSTALL_SCRIPT], { captureStdout: true });
  const args = codeServerArgs({ stateDir: STATE_DIR, host: HOST, port: PORT });
  const url = workbenchUrl({ host: HOST, port: PORT, extensionDevelopmentPath: PROJECT_ROOT, workspacePath: WORKSPACE });
  if (DRY_RUN) {
    log(`would run: ${commandLine(bin || '<code-server from install-vscode-test.sh>', args)}`);
    log(`would open: ${url}`);
    return 0;
  }
  writeUserSettings(path.join(STATE_DIR, 'user-data'), {}, { keepExisting: true });
  log(`running: ${commandLine(bin, args)}`);
  const server = await startCodeServer({
    bin, stateDir: STATE_DIR, env: serverEnvironment(), host: HOST, port: PORT,
    onLine: (_stream, line) => console.log(`[code-server] ${line}`),
  });
  console.log(`\n  Alloy is loaded in VS Code (code-server) at:\n\n  ${url}\n\n  Press Ctrl+C to stop.\n`);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping code-server`);
      server.stop().then(() => resolve(0));
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stop);
    server.child.once('exit', (code, signal) => {
      if (stopping) return;
      log(`code-server exited on its own (${code ?? signal})`);
      resolve(code || 1);
    });
  });
}

async function main() {
  buildIfNeeded();
  switch (EDITOR) {
    case 'code': openInDesktopCode(); return 0;
    case 'code-server': return openInCodeServer();
    default: throw new Error(`ALLOY_START_WITH must be code or code-server, not ${EDITOR}`);
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`[start] ${error.message}`);
  process.exitCode = 1;
}
