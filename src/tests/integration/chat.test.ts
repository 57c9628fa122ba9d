/// <reference types="mocha" />
// The chat panel in a real VS Code with a tiny chat model in its own engine process
// (alloy.chat.model.path): the panel opens, a message typed with real keystrokes and sent with
// Enter streams an answer equal to the engine's greedy output for the rendered conversation,
// Stop ends a long answer, and screenshots of the panel are saved in light and dark themes.
// The answer shown in the panel is checked too. Typing into the webview needs the code-server route's driver; on the desktop route the
// message goes through the alloy.chat.send / alloy.chat.stop commands instead.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { EngineClient } from '../../engine/client';
import type { ChatViewState } from '../../extension/chat/chat-protocol';
import { DEFAULT_CHAT_SYSTEM_PROMPT } from '../../extension/settings-schema';
import { clickInWebview, pressKey, realKeyboard, screenshot, typeKeys, webviewText } from './driver';
import { waitFor as waitUntil } from './wait';

// A trained model (readable answers; no chat template, so ChatML), another file than the
// completion model: chat runs in its own engine process.
const CHAT_MODEL = path.join(process.env['ALLOY_SHARED_MODELS'] ?? '', 'stories260K.gguf');

async function state(): Promise<ChatViewState> {
  return vscode.commands.executeCommand<ChatViewState>('alloy.chat.state');
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return waitUntil(what, probe, async () => ({ chat: await state() }), 50);
}

async function send(text: string): Promise<void> {
  if (!realKeyboard) {
    void vscode.commands.executeCommand('alloy.chat.send', text);
    return;
  }
  await clickInWebview('#chat-input');
  await typeKeys(text, 20);
  await pressKey('Enter');
}

suite('Chat panel', () => {
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('alloy');
  let oracle: EngineClient;

  suiteSetup(async function () {
    this.timeout(60_000);
    await config().update('chat.model.path', CHAT_MODEL, vscode.ConfigurationTarget.Global);
    await config().update('chat.maxTokens', 32, vscode.ConfigurationTarget.Global);
    const extension = vscode.extensions.getExtension('alloy.alloy');
    assert.ok(extension, 'the extension is not installed');
    oracle = new EngineClient({ hostScript: path.join(extension.extensionPath, 'dist', 'engine-host.js'), clientName: 'chat-oracle' });
    await oracle.loadModel({ path: CHAT_MODEL, contextSize: 2048, threads: 1 });
    await vscode.commands.executeCommand('alloy.chat.newChat');
    await vscode.commands.executeCommand('alloy.chat.open');
    await waitFor('the chat model', async () => ((await state()).model === path.basename(CHAT_MODEL) ? true : undefined));
    // The webview loads after the view opens: until then the driver finds no element.
    if (realKeyboard) {
      await waitFor('the panel to show the model', async () => ((await webviewText('#chat-model').catch(() => '')).includes('stories260K') ? true : undefined));
    }
  });

  suiteTeardown(async () => {
    oracle.dispose();
    await config().update('chat.model.path', undefined, vscode.ConfigurationTarget.Global);
    await config().update('chat.maxTokens', undefined, vscode.ConfigurationTarget.Global);
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', undefined, vscode.ConfigurationTarget.Global);
  });

  test('a message typed in the panel streams the greedy answer of the chat model', async function () {
    this.timeout(60_000);
    const question = 'Tell me a long story.';
    await send(question);
    const answered = await waitFor('the answer', async () => {
      const s = await state();
      return !s.busy && s.messages.length === 2 ? s : undefined;
    });
    assert.equal(answered.messages[0]?.content, question);
    const expected = await oracle.chat({ messages: [{ role: 'system', content: DEFAULT_CHAT_SYSTEM_PROMPT }, { role: 'user', content: question }], maxTokens: 32 }).result;
    assert.ok(expected.text.length > 0, 'the greedy answer is empty: pick another question');
    assert.equal(answered.messages[1]?.content, expected.text, 'the streamed answer differs from the engine greedy output');
    if (realKeyboard) {
      const shown = await webviewText('.chat-message[data-role="assistant"] .chat-message-body');
      assert.ok(shown.trim().length > 0, `the answer is not shown in the panel: ${JSON.stringify({ content: answered.messages[1]?.content, shown })}`);
    }
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', 'Default Light Modern', vscode.ConfigurationTarget.Global);
    await new Promise((r) => setTimeout(r, 500));
    await screenshot('chat-light');
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', 'Default Dark Modern', vscode.ConfigurationTarget.Global);
    await new Promise((r) => setTimeout(r, 500));
    await screenshot('chat-dark');
  });

  test('Stop ends a long answer and keeps what streamed', async function () {
    this.timeout(60_000);
    await config().update('chat.maxTokens', 1500, vscode.ConfigurationTarget.Global);
    await send('Tell me another one.');
    await waitFor('the answer to start', async () => {
      const s = await state();
      return s.busy && (s.messages[3]?.content.length ?? 0) > 0 ? true : undefined;
    });
    if (realKeyboard) await clickInWebview('#chat-stop');
    else await vscode.commands.executeCommand('alloy.chat.stop');
    const stopped = await waitFor('the answer to stop', async () => {
      const s = await state();
      return !s.busy ? s : undefined;
    });
    assert.equal(stopped.messages[3]?.stopped, true);
    assert.ok((stopped.messages[3]?.content.length ?? 0) > 0);
  });

  test('Insert at Cursor puts a code block from the chat into the editor', async function () {
    this.timeout(60_000);
    await config().update('chat.maxTokens', 16, vscode.ConfigurationTarget.Global);
    const document = await vscode.workspace.openTextDocument({ language: 'python', content: '# start\n' });
    const editor = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preview: false });
    editor.selection = new vscode.Selection(1, 0, 1, 0);
    await vscode.commands.executeCommand('alloy.chat.open');
    if (realKeyboard) {
      // A message with a fenced code block (Shift+Enter adds lines); its block gets the buttons too.
      const before = (await state()).messages.length;
      await clickInWebview('#chat-input');
      for (const [i, line] of ['What does this print?', '```python', 'print(42)', '```'].entries()) {
        if (i > 0) await pressKey('Shift+Enter');
        await typeKeys(line, 15);
      }
      await pressKey('Enter');
      await waitFor('the answer', async () => {
        const s = await state();
        return !s.busy && s.messages.length === before + 2 ? true : undefined;
      });
      await clickInWebview('.chat-message[data-role="user"] .chat-code-btn[data-code-action="insert"]');
    } else {
      await vscode.commands.executeCommand('alloy.chat.insertCode', 'print(42)\n');
    }
    await waitFor('the code in the editor', async () => (document.getText().includes('# start\nprint(42)') ? true : undefined));
    await screenshot('chat-insert');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
