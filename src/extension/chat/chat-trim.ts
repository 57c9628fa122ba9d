// Which messages of a conversation go into the prompt, with no vscode import. When the
// conversation outgrows the context, the oldest turns are left out whole (never cut mid-message),
// starting the kept part at a user message (templates expect user/assistant alternation); the
// system prompt and the newest user message are always kept.

export interface TrimInput {
  systemTokens: number;
  /** Every message in order, oldest first; the last one is the user message being sent. */
  messages: ReadonlyArray<{ role: 'user' | 'assistant'; tokens: number }>;
  /** Tokens of the attachments that go with the newest message. */
  attachmentTokens: number;
  /** Template tokens around each message (role headers, end markers). */
  perMessageTokens: number;
  /** Context positions for the prompt: the context minus the room kept for the reply. */
  budget: number;
}

export type TrimResult =
  | { ok: true; first: number; usedTokens: number }
  | { ok: false; usedTokens: number; reason: string };

function cost(input: TrimInput, first: number): number {
  let used = input.systemTokens + input.attachmentTokens + input.perMessageTokens;
  for (let i = first; i < input.messages.length; i++) used += (input.messages[i]?.tokens ?? 0) + input.perMessageTokens;
  return used;
}

/** The first message to keep and the prompt tokens that makes, or why even the newest message alone does not fit. */
export function trimConversation(input: TrimInput): TrimResult {
  const n = input.messages.length;
  let first = 0;
  let used = cost(input, first);
  while (used > input.budget && first < n - 1) {
    // Drop one whole turn: past the next message, then to the next user message.
    first += 1;
    while (first < n - 1 && input.messages[first]?.role !== 'user') first += 1;
    used = cost(input, first);
  }
  if (used > input.budget) {
    return {
      ok: false,
      usedTokens: used,
      reason: `the message and its attachments need ${used} tokens but the context has room for ${input.budget}: remove attachments, shorten the message, or load the chat model with a larger context`,
    };
  }
  return { ok: true, first, usedTokens: used };
}
