/// <reference types="mocha" />
// After the window reloads (the code-server runner reloads it once the other suites passed): the
// chat conversation the chat suite had comes back, in the session and in the panel.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import type { ChatViewState } from '../../extension/chat/chat-protocol';
import { webviewText } from './driver';
import { waitFor } from './wait';

suite('After a window reload', () => {
  test('the chat history survives: the last conversation is back in the panel', async function () {
    this.timeout(60_000);
    const s = await vscode.commands.executeCommand<ChatViewState>('alloy.chat.state');
    assert.equal(s.messages[0]?.content, 'Tell me a long story.', JSON.stringify(s.messages.map((m) => m.content.slice(0, 30))));
    assert.ok(s.messages.length >= 6, `only ${s.messages.length} messages came back`);
    await vscode.commands.executeCommand('alloy.chat.open');
    await waitFor('the panel to show the restored conversation', async () =>
      (await webviewText('.chat-message[data-role="user"] .chat-message-body').catch(() => '')).includes('Tell me a long story.') ? true : undefined,
    );
  });

  test('Chat History reopens an earlier conversation of the workspace', async () => {
    const before = await vscode.commands.executeCommand<ChatViewState>('alloy.chat.state');
    await vscode.commands.executeCommand('alloy.chat.newChat');
    assert.equal((await vscode.commands.executeCommand<ChatViewState>('alloy.chat.state')).messages.length, 0);
    const picking = vscode.commands.executeCommand('alloy.chat.history');
    await new Promise((r) => setTimeout(r, 500));
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await picking;
    const after = await vscode.commands.executeCommand<ChatViewState>('alloy.chat.state');
    assert.deepEqual(after.messages.map((m) => m.content), before.messages.map((m) => m.content));
  });
});
