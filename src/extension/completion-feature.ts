// Inline completions, assembled: the completion session over the engine (made anew for
// each loaded model), the context ring and its tracker, the provider, and the status bar's
// activity and figures. Settings changes reach the session without a reload.
import * as vscode from 'vscode';

import { ContextRing } from './completion/context-ring';
import { CompletionSession, type EngineFigures } from './completion/completion-session';
import { ClientCompletionEngine } from './completion/engine-adapter';
import { RING_OPTIONS, sessionOptions } from './completion/session-defaults';
import { ContextTracker } from './context-tracker';
import type { EngineController } from './engine-controller';
import { InlineProvider } from './inline-provider';
import type { AlloySettings } from './settings-schema';
import type { CompletionActivity } from './status-view';

export interface CompletionFeatureEvents {
  onActivity(activity: CompletionActivity): void;
  onFigures(figures: EngineFigures): void;
  onError(error: unknown): void;
}

export class CompletionFeature implements vscode.Disposable {
  private readonly ring = new ContextRing(RING_OPTIONS);
  private readonly tracker: ContextTracker;
  private readonly engine: ClientCompletionEngine;
  private session: CompletionSession | undefined;
  private readonly registration: vscode.Disposable;
  private running = 0;
  private last: { text: string; source: string; count: number; linePrefix: string } = { text: '', source: '', count: 0, linePrefix: '' };

  constructor(
    private readonly controller: EngineController,
    private settings: () => AlloySettings,
    private readonly events: CompletionFeatureEvents,
  ) {
    this.tracker = new ContextTracker(this.ring);
    this.engine = new ClientCompletionEngine(controller.client);
    const provider = new InlineProvider({
      session: () => this.currentSession(),
      settings,
      onActivity: (generating) => this.activity(generating),
      onError: (error) => events.onError(error),
      onSuggestion: (ctx, suggestion) => {
        const linePrefix = ctx.prefix.slice(ctx.prefix.lastIndexOf('\n') + 1);
        this.last = { text: suggestion.text, source: suggestion.source, count: this.last.count + 1, linePrefix };
      },
    });
    this.registration = vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, provider);
  }

  /** Counters of the current session (tests, diagnostics). */
  get stats(): CompletionSession['stats'] | undefined {
    return this.session?.stats;
  }

  /** The last suggestion returned to the editor, how many have been, and the text before the cursor on its line. */
  get lastSuggestion(): { text: string; source: string; count: number; linePrefix: string } {
    return { ...this.last };
  }

  settingsChanged(): void {
    this.session?.updateOptions(sessionOptions(this.settings()));
  }

  /** The model changed or went away: cached suggestions belong to the old one. */
  modelChanged(): void {
    this.session = undefined;
  }

  private currentSession(): CompletionSession | undefined {
    if (this.controller.current.kind !== 'ready') return undefined;
    this.tracker.checkClipboard();
    this.session ??= new CompletionSession(this.engine, sessionOptions(this.settings()), this.ring, (f) => this.events.onFigures(f));
    return this.session;
  }

  private activity(generating: boolean): void {
    this.running += generating ? 1 : -1;
    this.events.onActivity(this.running > 0 ? 'generating' : 'idle');
  }

  dispose(): void {
    this.registration.dispose();
    this.tracker.dispose();
  }
}
