// @vitest-environment jsdom
// jsdom, not happy-dom: DOMPurify does not support happy-dom (it sanitises wrongly there).
// The chat's markdown rendering: sanitised (no scripts, handlers, javascript: links, images),
// code blocks with Copy / Insert at Cursor buttons carrying the raw code, highlighted python.
import { describe, expect, it } from 'vitest';
import { codeActionOf, markdownToHtml, renderMarkdown } from '../../../webview/chat/markdown';

function rendered(text: string): HTMLElement {
  const el = document.createElement('div');
  renderMarkdown(el, text);
  return el;
}

describe('chat markdown sanitising', () => {
  it('never creates script elements: raw HTML shows as text', () => {
    const el = rendered('Hello\n\n<script>alert(1)</script>\n\ninline <script>alert(2)</script> too');
    expect(el.querySelector('script')).toBeNull();
    expect(el.innerHTML).not.toMatch(/<script/i);
    expect(el.textContent).toContain('<script>alert(1)</script>');
    expect(el.textContent).toContain('inline <script>alert(2)</script> too');
  });

  it('never creates on* event handler attributes', () => {
    const el = rendered('<p onclick="steal()">x</p> <a href="https://example.com" onmouseover="steal()">y</a>\n\n<img src=x onerror=steal()>');
    const all = [el, ...Array.from(el.querySelectorAll('*'))];
    expect(all.flatMap((e) => e.getAttributeNames()).filter((n) => n.startsWith('on'))).toEqual([]);
    expect(el.querySelector('img')).toBeNull();
  });

  it('removes javascript: links but keeps their text, keeps https links', () => {
    const el = rendered('[bad](javascript:alert(1)) and [good](https://example.com/x) and [worse](JaVaScRiPt:alert(2)) and ![pic](javascript:alert(3))');
    const links = Array.from(el.querySelectorAll('a'));
    expect(links.map((a) => a.textContent)).toEqual(['bad', 'good', 'worse', 'pic']);
    expect(links.map((a) => a.getAttribute('href'))).toEqual([null, 'https://example.com/x', null, null]);
    expect(el.innerHTML).not.toMatch(/javascript:/i);
  });

  it('removes relative and data: links, renders images as links', () => {
    const el = rendered('[rel](./file.ts) [data](data:text/html,hi) ![logo](https://example.com/a.png)');
    expect(Array.from(el.querySelectorAll('a')).map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
      ['rel', null],
      ['data', null],
      ['logo', 'https://example.com/a.png'],
    ]);
    expect(el.querySelector('img')).toBeNull();
  });

  it('keeps angle brackets that are text, not markup', () => {
    expect(rendered('A Vec<T> holds many T; a <div> is a block.').textContent?.trim()).toBe('A Vec<T> holds many T; a <div> is a block.');
  });

  it('keeps ordinary markdown structure', () => {
    const el = rendered('# Title\n\n- **bold** item\n- `inline` code\n\n| a | b |\n|---|---|\n| 1 | 2 |');
    expect(el.querySelector('h1')?.textContent).toBe('Title');
    expect(el.querySelector('li strong')?.textContent).toBe('bold');
    expect(el.querySelector('li code')?.textContent).toBe('inline');
    expect(el.querySelectorAll('td')).toHaveLength(2);
    expect(markdownToHtml('**b**')).toBe('<p><strong>b</strong></p>\n');
  });
});

describe('chat markdown code blocks', () => {
  const code = 'def add(a, b):\n    return a + b  # <sum> & "done"';

  it('wraps each block with Copy and Insert at Cursor buttons over the raw code', () => {
    const el = rendered(`Here:\n\n\`\`\`python\n${code}\n\`\`\`\n\nand\n\n\`\`\`\nplain <b>text</b>\n\`\`\``);
    const blocks = el.querySelectorAll('.chat-code-block');
    expect(blocks).toHaveLength(2);
    const buttons = Array.from(blocks[0]!.querySelectorAll('button.chat-code-btn'));
    expect(buttons.map((b) => [b.getAttribute('data-code-action'), b.textContent])).toEqual([
      ['copy', 'Copy'],
      ['insert', 'Insert at Cursor'],
    ]);
    expect(blocks[0]!.querySelector('pre > code')?.textContent).toBe(code);
    expect(codeActionOf(buttons[1]!)).toEqual({ action: 'insert', code });
    expect(codeActionOf(buttons[0]!)).toEqual({ action: 'copy', code });
    expect(codeActionOf(blocks[1]!.querySelector('button[data-code-action="insert"]'))).toEqual({ action: 'insert', code: 'plain <b>text</b>' });
    expect(blocks[1]!.querySelector('b')).toBeNull();
  });

  it('highlights a python block', () => {
    const el = rendered(`\`\`\`python\n${code}\n\`\`\``);
    const codeEl = el.querySelector('pre > code');
    expect(codeEl?.classList.contains('language-python')).toBe(true);
    expect(el.querySelector('.chat-code-lang')?.textContent).toBe('python');
    const keywords = Array.from(codeEl!.querySelectorAll('.hljs-keyword')).map((s) => s.textContent);
    expect(keywords).toEqual(['def', 'return']);
    expect(codeEl!.querySelector('.hljs-comment')?.textContent).toBe('# <sum> & "done"');
    expect(codeEl!.querySelector('.hljs-title.function_')?.textContent).toBe('add');
  });

  it('ignores clicks that are not on a code button', () => {
    const el = rendered('```js\nx()\n```');
    expect(codeActionOf(el.querySelector('pre'))).toBeUndefined();
    expect(codeActionOf(null)).toBeUndefined();
  });

  it('renders an unterminated fence while streaming', () => {
    const el = rendered('Start:\n\n```ts\nconst x = 1;\nconst y');
    expect(el.querySelector('.chat-code-block pre > code')?.textContent).toBe('const x = 1;\nconst y');
  });
});
