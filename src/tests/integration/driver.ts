// The tests' keyboard and camera. On the code-server route the runner (run.mjs) types into
// the workbench through Chromium's keyboard and takes screenshots (ALLOY_TEST_DRIVER). On the
// desktop route there is no such channel: typing falls back to VS Code's `type` command (the
// command real keystrokes end in) and Tab / Escape to the inline-suggestion commands they are
// bound to; screenshots are not available there.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const DRIVER_DIR = process.env['ALLOY_TEST_DRIVER'];
const REQUEST_TIMEOUT_MS = 30_000;
let requests = 0;

export const realKeyboard = DRIVER_DIR !== undefined;

type DriverRequest =
  | { kind: 'type'; text: string; delayMs: number }
  | { kind: 'press'; key: string }
  | { kind: 'screenshot'; name: string }
  | { kind: 'webviewClick'; selector: string }
  | { kind: 'webviewText'; selector: string };

/** Sends a request and returns the runner's answer (text for webviewText, else ''). */
async function send(request: DriverRequest): Promise<string> {
  if (!DRIVER_DIR) throw new Error('no test driver on this route');
  const n = ++requests;
  // Written under another name and renamed, so the runner never reads a half-written request.
  const file = path.join(DRIVER_DIR, `${n}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(request));
  fs.renameSync(`${file}.tmp`, file);
  const done = path.join(DRIVER_DIR, `${n}.done`);
  const failed = path.join(DRIVER_DIR, `${n}.error`);
  const deadline = Date.now() + REQUEST_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (fs.existsSync(done)) return fs.readFileSync(done, 'utf8');
    if (fs.existsSync(failed)) throw new Error(`driver: ${fs.readFileSync(failed, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`driver: no answer to ${JSON.stringify(request)} within ${REQUEST_TIMEOUT_MS} ms`);
}

/** Types text key by key into the focused editor. */
export async function typeKeys(text: string, delayMs = 40): Promise<void> {
  if (realKeyboard) {
    await send({ kind: 'type', text, delayMs });
    return;
  }
  for (const ch of text) {
    await vscode.commands.executeCommand('type', { text: ch });
    await new Promise((r) => setTimeout(r, delayMs));
  }
}

const KEY_COMMANDS: Record<string, string> = {
  Tab: 'editor.action.inlineSuggest.commit',
  Escape: 'editor.action.inlineSuggest.hide',
};

export async function pressKey(key: 'Tab' | 'Escape' | 'Enter' | 'Shift+Enter'): Promise<void> {
  if (realKeyboard) {
    await send({ kind: 'press', key });
    return;
  }
  await vscode.commands.executeCommand(KEY_COMMANDS[key] ?? key);
}

/** Saves a screenshot of the workbench; false when this route cannot take one. */
export async function screenshot(name: string): Promise<boolean> {
  if (!realKeyboard) return false;
  await send({ kind: 'screenshot', name });
  return true;
}

/** Clicks the first element matching `selector` inside a webview (code-server route only). */
export async function clickInWebview(selector: string): Promise<void> {
  await send({ kind: 'webviewClick', selector });
}

/** The text of the first element matching `selector` inside a webview (code-server route only). */
export async function webviewText(selector: string): Promise<string> {
  return send({ kind: 'webviewText', selector });
}
