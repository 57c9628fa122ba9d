// The engine the chat panel talks to, with no vscode import: the completion engine when the
// chat model setting is empty or names the same file (one file loaded once), else a second
// engine host with the chat model (an instruct model beside a base model for completions).
import * as path from 'node:path';

import { EngineError } from '../../engine/client';
import { EngineController, type EngineControllerOptions } from '../engine-controller';
import type { AlloySettings } from '../settings-schema';
import type { ChatEngine, ChatEngineMessage, ChatFailure } from './chat-session';

export class ChatEngineSelector implements ChatEngine {
  private own: EngineController | undefined;

  constructor(
    private readonly completion: EngineController,
    private readonly makeController: (options: Pick<EngineControllerOptions, 'log' | 'onStatus'>) => EngineController,
    private readonly log: (line: string) => void,
  ) {}

  /** The controller chat uses now. */
  get controller(): EngineController {
    return this.own ?? this.completion;
  }

  /** Follows the settings: a separate chat model gets its own engine host, else the completion engine serves chat. */
  async apply(settings: AlloySettings, force = false): Promise<void> {
    const chatPath = settings.chat.modelPath;
    const separate = chatPath !== '' && chatPath !== settings.model.path;
    if (!separate) {
      this.own?.dispose();
      this.own = undefined;
      return;
    }
    this.own ??= this.makeController({ log: (line) => this.log(`[chat] ${line}`), onStatus: () => undefined });
    await this.own.apply({ ...settings, model: { path: chatPath } }, force);
  }

  dispose(): void {
    this.own?.dispose();
    this.own = undefined;
  }

  model(): { name: string; contextSize: number } | undefined {
    const info = this.controller.model;
    return info ? { name: path.basename(info.path), contextSize: info.contextSize } : undefined;
  }

  async countTokens(text: string): Promise<number> {
    return (await this.controller.client.tokenize({ text, addSpecial: false })).tokens.length;
  }

  async chat(messages: ChatEngineMessage[], maxTokens: number, signal: AbortSignal, onText: (text: string) => void): Promise<void> {
    const stream = this.controller.client.chat({ messages, maxTokens }, { signal });
    for await (const chunk of stream) if (chunk.text) onText(chunk.text);
    await stream.result;
  }
}

/** An engine failure as the chat panel shows it, with the action that helps. */
export function describeChatError(error: unknown): ChatFailure {
  const message = error instanceof Error ? error.message : String(error);
  const kind = error instanceof EngineError ? error.kind : ((error as { kind?: unknown } | null)?.kind as string | undefined);
  switch (kind) {
    case 'no_model':
      return { message: `No chat model: ${message}. Load one to chat.`, action: 'loadModel' };
    case 'engine_crashed':
    case 'engine_failed':
    case 'engine_stopped':
      return { message: `The engine stopped: ${message}`, action: 'restartEngine' };
    case 'prompt_too_long':
      return { message: `The context is too small: ${message}`, action: 'showDiagnostics' };
    default:
      return { message, action: 'showDiagnostics' };
  }
}
