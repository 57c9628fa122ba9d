// The prompt tokens of `complete` (fill-in-the-middle) and `chat` (the model's chat template),
// checked against the slot's context.
import { renderChatPrompt } from '../chat-template';
import { buildFimPrompt, MIN_FIM_BUDGET } from '../fim-prompt';
import type { NativeModel } from '../native';
import type { ChatParams, CompleteParams } from '../protocol';
import { HostError } from './host-error';

/**
 * The FIM prompt, cut to leave `maxTokens` positions for the completion: the prefix is
 * shortened and context chunks dropped as needed, so only a maxTokens that leaves no room
 * is refused (prompt_too_long).
 */
export function completionPrompt(model: NativeModel, contextSize: number, params: CompleteParams): number[] {
  const budget = contextSize - params.maxTokens;
  if (budget < MIN_FIM_BUDGET) {
    throw new HostError(
      'prompt_too_long',
      `maxTokens ${params.maxTokens} leaves ${budget} of the context's ${contextSize} positions for the prompt (at least ${MIN_FIM_BUDGET} needed): lower maxTokens or load the model with a larger contextSize`,
    );
  }
  const input = {
    prefix: params.prefix,
    suffix: params.suffix,
    chunks: params.chunks ?? [],
    ...(params.filePath !== undefined ? { filePath: params.filePath } : {}),
    ...(params.repoName !== undefined ? { repoName: params.repoName } : {}),
  };
  return buildFimPrompt(model, input, budget).tokens;
}

/** A special token's text ('' when the vocabulary has none). */
function specialText(model: NativeModel, id: number): string {
  return id >= 0 ? model.tokenToPiece(id, true).toString('utf8') : '';
}

/**
 * The chat rendered with the model's template and tokenized as llama.cpp does
 * (common/chat.cpp + the server): templates write `bos_token` themselves, so when the
 * vocabulary adds BOS a leading BOS text is removed (and a trailing EOS text when it adds
 * EOS), then the text is tokenized with addSpecial (the vocabulary's BOS) and parseSpecial
 * (the template's control tokens). Refused when the prompt leaves no position to generate.
 */
export function chatPrompt(model: NativeModel, contextSize: number, params: ChatParams): number[] {
  const special = model.specialTokens();
  const bosToken = specialText(model, special.bos);
  const eosToken = specialText(model, special.eos);
  let text = renderChatPrompt(model.chatTemplate(), params.messages, { bosToken, eosToken, addGenerationPrompt: true });
  if (special.addBos && bosToken !== '' && text.startsWith(bosToken)) text = text.slice(bosToken.length);
  if (special.addEos && eosToken !== '' && text.endsWith(eosToken)) text = text.slice(0, text.length - eosToken.length);
  const tokens = Array.from(model.tokenize(text, true, true));
  if (tokens.length >= contextSize) {
    throw new HostError(
      'prompt_too_long',
      `the chat prompt has ${tokens.length} tokens but the context holds ${contextSize}: drop earlier messages or load the model with a larger contextSize`,
    );
  }
  return tokens;
}
