// renderChatPrompt: ChatML fallback and published chat templates (fixtures: see their README).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { ChatTemplateError, renderChatPrompt, type ChatMessage, type ChatTemplateOptions } from '../../engine/chat-template';

function fixture(name: string): string {
  return fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'chat-templates', name), 'utf8');
}

const QWEN = fixture('qwen2.5-coder-instruct.jinja');
const LLAMA3 = fixture('llama-3-instruct.jinja');
const DEEPSEEK = fixture('deepseek-coder-instruct.jinja');

const ASK: readonly ChatMessage[] = [{ role: 'user', content: 'Write hello world in C.' }];
const CONVERSATION: readonly ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: '  Hello!  ' },
  { role: 'user', content: 'Sort [3,1,2].' },
];

const generate: ChatTemplateOptions = { bosToken: '<BOS>', eosToken: '<EOS>', addGenerationPrompt: true };
const noGenerate: ChatTemplateOptions = { ...generate, addGenerationPrompt: false };

describe('renderChatPrompt: ChatML fallback (no template)', () => {
  it('renders each message and the assistant turn, without BOS', () => {
    expect(renderChatPrompt(null, CONVERSATION, generate)).toBe(
      '<|im_start|>system\nYou are terse.<|im_end|>\n' +
        '<|im_start|>user\nHi<|im_end|>\n' +
        '<|im_start|>assistant\n  Hello!  <|im_end|>\n' +
        '<|im_start|>user\nSort [3,1,2].<|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
  });

  it('leaves the assistant turn out without addGenerationPrompt', () => {
    expect(renderChatPrompt(null, ASK, noGenerate)).toBe('<|im_start|>user\nWrite hello world in C.<|im_end|>\n');
  });
});

describe('renderChatPrompt: Qwen2.5-Coder-Instruct', () => {
  it('adds the default Qwen system prompt when there is no system message', () => {
    expect(renderChatPrompt(QWEN, ASK, generate)).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nWrite hello world in C.<|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
  });

  it('uses the given system message instead and keeps content untrimmed', () => {
    expect(renderChatPrompt(QWEN, CONVERSATION, generate)).toBe(
      '<|im_start|>system\nYou are terse.<|im_end|>\n' +
        '<|im_start|>user\nHi<|im_end|>\n' +
        '<|im_start|>assistant\n  Hello!  <|im_end|>\n' +
        '<|im_start|>user\nSort [3,1,2].<|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
  });

  it('ends after the last message without addGenerationPrompt', () => {
    expect(renderChatPrompt(QWEN, CONVERSATION, noGenerate)).toBe(
      '<|im_start|>system\nYou are terse.<|im_end|>\n' +
        '<|im_start|>user\nHi<|im_end|>\n' +
        '<|im_start|>assistant\n  Hello!  <|im_end|>\n' +
        '<|im_start|>user\nSort [3,1,2].<|im_end|>\n',
    );
  });
});

describe('renderChatPrompt: Llama 3 Instruct', () => {
  it('starts with the BOS text and trims message content', () => {
    expect(renderChatPrompt(LLAMA3, CONVERSATION, generate)).toBe(
      '<BOS><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nSort [3,1,2].<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('has no system turn of its own and no assistant header without addGenerationPrompt', () => {
    expect(renderChatPrompt(LLAMA3, ASK, noGenerate)).toBe('<BOS><|start_header_id|>user<|end_header_id|>\n\nWrite hello world in C.<|eot_id|>');
  });
});

describe('renderChatPrompt: DeepSeek-Coder Instruct', () => {
  it('adds BOS and the default system prompt when there is no system message', () => {
    expect(renderChatPrompt(DEEPSEEK, ASK, generate)).toBe(
      '<BOS>You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, ' +
        'and you only answer questions related to computer science. For politically sensitive questions, security and ' +
        'privacy issues, and other non-computer science questions, you will refuse to answer\n' +
        '### Instruction:\nWrite hello world in C.\n' +
        '### Response:\n',
    );
  });

  it('puts a given system message first and closes assistant turns with <|EOT|>', () => {
    expect(renderChatPrompt(DEEPSEEK, CONVERSATION, generate)).toBe(
      '<BOS>You are terse.' +
        '### Instruction:\nHi\n' +
        '### Response:\n  Hello!  \n<|EOT|>\n' +
        '### Instruction:\nSort [3,1,2].\n' +
        '### Response:\n',
    );
    expect(renderChatPrompt(DEEPSEEK, CONVERSATION, noGenerate)).toBe(
      '<BOS>You are terse.### Instruction:\nHi\n### Response:\n  Hello!  \n<|EOT|>\n### Instruction:\nSort [3,1,2].\n',
    );
  });
});

describe('renderChatPrompt: templates that fail', () => {
  it('a template that does not parse throws ChatTemplateError', () => {
    let caught: unknown;
    try {
      renderChatPrompt('{% for message in messages %}{{ message.content }}', ASK, generate);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ChatTemplateError);
    expect(caught).toMatchObject({ kind: 'chat_template_error', name: 'ChatTemplateError' });
    expect((caught as Error).message).toMatch(/not valid Jinja/);
  });

  it("a template's raise_exception becomes a ChatTemplateError carrying its message", () => {
    const strict = "{% if messages[0]['role'] != 'system' %}{{ raise_exception('Conversation must start with a system message') }}{% endif %}ok";
    expect(() => renderChatPrompt(strict, ASK, generate)).toThrow(ChatTemplateError);
    expect(() => renderChatPrompt(strict, ASK, generate)).toThrow(/failed to render.*Conversation must start with a system message/);
    expect(renderChatPrompt(strict, CONVERSATION, generate)).toBe('ok');
  });

  it('a template that fails while rendering (unknown filter) throws ChatTemplateError', () => {
    expect(() => renderChatPrompt('{{ messages | no_such_filter }}', ASK, generate)).toThrow(
      expect.objectContaining({ kind: 'chat_template_error' }) as Error,
    );
  });
});

describe('renderChatPrompt: compiled template cache', () => {
  it('renders the same text again after many other templates were compiled', () => {
    const first = renderChatPrompt(LLAMA3, ASK, generate);
    for (let i = 0; i < 20; i++) renderChatPrompt(`template ${i}: {{ messages | length }}`, ASK, generate);
    expect(renderChatPrompt(LLAMA3, ASK, generate)).toBe(first);
    expect(renderChatPrompt('{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}', ASK, noGenerate)).toBe('<BOS>|<EOS>|false');
  });
});
