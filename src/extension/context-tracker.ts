// Feeds the completion context ring from what the user works with in other files: documents
// opened or shown, the lines around edits, and text copied to the clipboard (read at most
// every few seconds, when a completion is requested: VS Code has no clipboard event).
import * as vscode from 'vscode';

import type { ContextRing } from './completion/context-ring';

const CLIPBOARD_CHECK_MS = 3000;
/** Edits in the same region of a document are sampled at most this often (not per keystroke). */
const EDIT_SAMPLE_MS = 2000;
const EDIT_REGION_LINES = 16;
const MAX_CLIPBOARD_CHARS = 20_000;
const MAX_DOCUMENT_CHARS = 2_000_000;

function relativePath(document: vscode.TextDocument): string {
  return vscode.workspace.asRelativePath(document.uri, false).replaceAll('\\', '/');
}

function trackedScheme(document: vscode.TextDocument): boolean {
  return document.uri.scheme === 'file' || document.uri.scheme === 'untitled';
}

/** Adds the lines around `line` to the ring (one read of the document; huge documents are skipped). */
function addAround(ring: ContextRing, document: vscode.TextDocument, line: number): void {
  if (!trackedScheme(document)) return;
  const text = document.getText();
  if (text.length <= MAX_DOCUMENT_CHARS) ring.add(relativePath(document), text, line);
}

export class ContextTracker implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[] = [];
  private lastClipboardCheck = 0;
  private lastClipboard = '';
  private readonly lastEdit = new Map<string, { line: number; at: number }>();

  constructor(private readonly ring: ContextRing) {
    this.subscriptions.push(
      vscode.window.onDidChangeActiveTextEditor((editor) => editor && this.addVisible(editor)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        const change = event.contentChanges[0];
        if (change) this.addEdit(event.document, change.range.start.line);
      }),
      vscode.workspace.onDidCloseTextDocument((document) => this.lastEdit.delete(document.uri.toString())),
    );
    const editor = vscode.window.activeTextEditor;
    if (editor) this.addVisible(editor);
  }

  /**
   * Called before each completion request: picks up newly copied text now and then. Desktop
   * only: in a browser (code-server, vscode.dev) every read asks for clipboard permission and
   * shows an error when it is not granted.
   */
  checkClipboard(): void {
    if (vscode.env.uiKind !== vscode.UIKind.Desktop) return;
    const now = Date.now();
    if (now - this.lastClipboardCheck < CLIPBOARD_CHECK_MS) return;
    this.lastClipboardCheck = now;
    void vscode.env.clipboard.readText().then(
      (text) => {
        if (text === this.lastClipboard || text.trim() === '' || text.length > MAX_CLIPBOARD_CHARS) return;
        this.lastClipboard = text;
        this.ring.add('clipboard', text);
      },
      () => undefined,
    );
  }

  private addEdit(document: vscode.TextDocument, line: number): void {
    const key = document.uri.toString();
    const now = Date.now();
    const last = this.lastEdit.get(key);
    if (last && Math.abs(last.line - line) < EDIT_REGION_LINES && now - last.at < EDIT_SAMPLE_MS) return;
    this.lastEdit.set(key, { line, at: now });
    addAround(this.ring, document, line);
  }

  private addVisible(editor: vscode.TextEditor): void {
    addAround(this.ring, editor.document, editor.visibleRanges[0]?.start.line ?? editor.selection.active.line);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
