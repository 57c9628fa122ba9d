/// <reference types="mocha" />
// After the window reloads (the code-server runner reloads it once the other suites passed): the
// chat conversation the chat suite had comes back, in the session and in the panel.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import type { ChatViewState } from '../../extension/chat/chat-protocol';
import { webviewText } from './driver';

const WAIT_MS = 30_000;

suite('After a window reload', () => {
  test('the chat history survives: the last conversation is back in the panel', async function () {
    this.timeout(60_000);
    const s = await vscode.commands.executeCommand<ChatViewState>('alloy.chat.state');
    assert.equal(s.messages[0]?.content, 'Tell me a long story.', JSON.stringify(s.messages.map((m) => m.content.slice(0, 30))));
    assert.ok(s.messages.length >= 6, `only ${s.messages.length} messages came back`);
    await vscode.commands.executeCommand('alloy.chat.open');
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const shown = await webviewText('.chat-message[data-role="user"] .chat-message-body').catch(() => '');
      if (shown.includes('Tell me a long story.')) break;
      assert.ok(Date.now() < deadline, `the panel does not show the restored conversation (shows "${shown}")`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
