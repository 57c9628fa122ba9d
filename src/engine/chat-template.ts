// Turns a chat (system / user / assistant messages) into the prompt text a model expects, using
// the model's own Jinja chat template (GGUF `tokenizer.chat_template`) rendered by
// @huggingface/jinja, or ChatML when the model has no template.
//
// The rendered text may contain special-token text (`<|im_start|>`, the BOS text, ...): tokenize
// it with parseSpecial = true. Some templates emit `bos_token` themselves (Llama 3,
// DeepSeek-Coder); like llama.cpp, do not add a second BOS when the text already starts with it.
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatTemplateOptions {
  bosToken: string;
  eosToken: string;
  addGenerationPrompt: boolean;
}

/** The model's chat template failed to parse or to render. */
export class ChatTemplateError extends Error {
  readonly kind = 'chat_template_error';

  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'ChatTemplateError';
  }
}

/** Compiled templates kept at most (a process normally serves one or two models). */
const MAX_CACHED_TEMPLATES = 8;
const compiledTemplates = new Map<string, Template>();

/**
 * Renders with the model's own template (GGUF tokenizer.chat_template, jinja via
 * @huggingface/jinja); ChatML when template is null. Throws ChatTemplateError (kind
 * 'chat_template_error', message says what failed) when the template does not render.
 */
export function renderChatPrompt(template: string | null, messages: readonly ChatMessage[], options: ChatTemplateOptions): string {
  if (template === null) return renderChatMl(messages, options.addGenerationPrompt);
  const compiled = compileCached(template);
  try {
    // The variables Hugging Face's apply_chat_template passes; the library itself provides
    // raise_exception (throws), strftime_now, range, namespace and the true/false/none names.
    return compiled.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: options.addGenerationPrompt,
      bos_token: options.bosToken,
      eos_token: options.eosToken,
    });
  } catch (e) {
    throw new ChatTemplateError(
      `the model's chat template failed to render these ${messages.length} messages: ${describe(e)}. ` +
        'The template may expect other roles or message order (e.g. alternating user/assistant); adjust the conversation or use a model with a standard template.',
      { cause: e },
    );
  }
}

/** ChatML, as llama.cpp's built-in `chatml` template: no BOS, `<|im_start|>role\ncontent<|im_end|>\n` per message. */
function renderChatMl(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  let out = '';
  for (const m of messages) out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  if (addGenerationPrompt) out += '<|im_start|>assistant\n';
  return out;
}

function compileCached(text: string): Template {
  const hit = compiledTemplates.get(text);
  if (hit) {
    // Move to the back: the Map's insertion order is the eviction order (least recently used first).
    compiledTemplates.delete(text);
    compiledTemplates.set(text, hit);
    return hit;
  }
  let compiled: Template;
  try {
    compiled = new Template(text);
  } catch (e) {
    throw new ChatTemplateError(
      `the model's chat template (${text.length} chars) is not valid Jinja for the template engine: ${describe(e)}. ` +
        'Use a model whose GGUF carries a standard chat template.',
      { cause: e },
    );
  }
  compiledTemplates.set(text, compiled);
  if (compiledTemplates.size > MAX_CACHED_TEMPLATES) {
    const oldest = compiledTemplates.keys().next();
    if (!oldest.done) compiledTemplates.delete(oldest.value);
  }
  return compiled;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
