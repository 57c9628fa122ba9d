// The InlineCompletionItemProvider: turns the document around the cursor into a
// CursorContext, asks the completion session, and returns ghost text. VS Code cancels the
// previous call on the next keystroke; that aborts the session's request.
import * as vscode from 'vscode';

import type { CompletionSession, Suggestion } from './completion/completion-session';
import { cursorContext, type CursorContext } from './completion/cursor-context';
import type { AlloySettings } from './settings-schema';

export interface InlineProviderDeps {
  /** The session while a model is ready, else undefined (nothing is suggested). */
  session(): CompletionSession | undefined;
  settings(): AlloySettings;
  /** A request started (true) or ended (false): drives the status bar's "generating". */
  onActivity(generating: boolean): void;
  onError(error: unknown): void;
  /** A suggestion was returned for the editor to show. */
  onSuggestion?(ctx: CursorContext, suggestion: Suggestion): void;
}

/** The document around the position: at most the configured lines before and after. */
export function documentContext(document: vscode.TextDocument, position: vscode.Position, settings: AlloySettings): CursorContext {
  const { prefixLines, suffixLines } = settings.completions;
  const firstLine = Math.max(0, position.line - prefixLines);
  const lastLine = Math.min(document.lineCount - 1, position.line + suffixLines);
  const start = new vscode.Position(firstLine, 0);
  const text = document.getText(new vscode.Range(start, document.lineAt(lastLine).rangeIncludingLineBreak.end));
  const offset = document.offsetAt(position) - document.offsetAt(start);
  const filePath = vscode.workspace.asRelativePath(document.uri, false).replaceAll('\\', '/');
  return cursorContext(text, offset, { prefixLines, suffixLines }, filePath, document.languageId);
}

export class InlineProvider implements vscode.InlineCompletionItemProvider {
  constructor(private readonly deps: InlineProviderDeps) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    _context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const settings = this.deps.settings();
    if (!settings.completions.enabled || settings.completions.excludeLanguages.includes(document.languageId)) return undefined;
    const session = this.deps.session();
    if (!session || token.isCancellationRequested) return undefined;
    const ctx = documentContext(document, position, settings);
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort());
    this.deps.onActivity(true);
    try {
      const suggestion = await session.suggest(ctx, controller.signal);
      if (!suggestion || token.isCancellationRequested) return undefined;
      session.shown(ctx, suggestion);
      this.deps.onSuggestion?.(ctx, suggestion);
      return [new vscode.InlineCompletionItem(suggestion.text, new vscode.Range(position, position))];
    } catch (error) {
      this.deps.onError(error);
      return undefined;
    } finally {
      subscription.dispose();
      this.deps.onActivity(false);
    }
  }
}
