// Markdown → sanitised DOM for the chat's assistant messages: marked parses (GitHub flavour),
// highlight.js colours fenced code in the few languages registered below. Raw HTML in the text is
// shown as text, not interpreted (a model writing `Vec<T>` or `<script>` means the characters;
// it also keeps event-handler attributes out of the parser, where Chromium would report them as
// CSP violations), and images render as links. DOMPurify then removes anything active that is
// left (javascript: and other non-web links, styles, forms, ids, data-* attributes, foreign
// classes) before the result touches the document, and each code block gets a toolbar with Copy
// and Insert at Cursor buttons (built with the DOM after sanitising, so text can never forge one).
import DOMPurify, { type Config, type DOMPurify as Purifier } from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import typescript from 'highlight.js/lib/languages/typescript';
import { Marked, type Tokens } from 'marked';

import { button, element } from './dom';

const LANGUAGES = { bash, c, cpp, go, java, javascript, json, markdown, python, rust, typescript };
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language);

/** What a code block's toolbar button does (its `data-code-action`). */
export type CodeAction = 'copy' | 'insert';

const SAFE_LANG = /^[\w+#.-]{1,32}$/;
/** Links VS Code opens outside the webview; any other href is removed (the text stays). */
const OPENABLE_LINK = /^(https?:|mailto:)/i;
/** The only classes kept from the rendered HTML: our code highlighting's. */
const OWN_CLASS = /^(hljs[\w-]*|language-[\w+#.-]+|[\w-]+_)$/;

const PURIFY_CONFIG: Config = {
  FORBID_TAGS: ['style', 'img', 'svg', 'math', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'object', 'embed', 'video', 'audio', 'source', 'picture', 'link', 'meta'],
  FORBID_ATTR: ['style', 'id', 'name', 'target', 'srcset', 'action', 'formaction'],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
};

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The block's language if it names a registered one (by name or alias), else undefined. */
function languageOf(info: string | undefined): string | undefined {
  const lang = (info ?? '').trim().split(/\s+/)[0] ?? '';
  return SAFE_LANG.test(lang) && hljs.getLanguage(lang) ? lang.toLowerCase() : undefined;
}

const marked = new Marked({ gfm: true, breaks: false });
marked.use({
  renderer: {
    code(token: Tokens.Code): string {
      const lang = languageOf(token.lang);
      const body = lang ? hljs.highlight(token.text, { language: lang, ignoreIllegals: true }).value : escapeHtml(token.text);
      const cls = lang ? `hljs language-${lang}` : 'hljs';
      return `<pre><code class="${cls}">${body}</code></pre>\n`;
    },
    html(token: Tokens.HTML | Tokens.Tag): string {
      return token.block ? `<p>${escapeHtml(token.text)}</p>\n` : escapeHtml(token.text);
    },
    image(token: Tokens.Image): string {
      return `<a href="${escapeHtml(token.href)}">${escapeHtml(token.text || token.href)}</a>`;
    },
  },
});

let purifier: Purifier | undefined;

/** One DOMPurify instance of our own (its hooks do not leak into any other user of the library). */
function purify(): Purifier {
  if (purifier) return purifier;
  const p = DOMPurify(window);
  p.addHook('uponSanitizeAttribute', (_node, data) => {
    if (data.attrName === 'class') {
      const kept = data.attrValue.split(/\s+/).filter((c) => OWN_CLASS.test(c));
      data.attrValue = kept.join(' ');
      if (kept.length === 0) data.keepAttr = false;
    }
  });
  p.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName !== 'A') return;
    const href = node.getAttribute('href') ?? '';
    if (OPENABLE_LINK.test(href)) {
      node.setAttribute('title', href);
    } else {
      node.removeAttribute('href');
    }
  });
  purifier = p;
  return p;
}

/** The markdown as sanitised HTML (no code block toolbars). */
export function markdownToHtml(text: string): string {
  return purify().sanitize(marked.parse(text, { async: false }), PURIFY_CONFIG);
}

function codeButton(action: CodeAction, label: string): HTMLButtonElement {
  const b = button('chat-code-btn', { text: label, title: label });
  b.dataset['codeAction'] = action;
  return b;
}

/** Wraps each `pre > code` under `root` in a `.chat-code-block` with its toolbar. */
function addCodeToolbars(root: ParentNode): void {
  for (const pre of Array.from(root.querySelectorAll('pre'))) {
    const code = pre.querySelector('code');
    if (!code || pre.parentElement?.classList.contains('chat-code-block')) continue;
    const block = element('div', 'chat-code-block');
    const bar = element('div', 'chat-code-toolbar');
    const language = Array.from(code.classList).find((c) => c.startsWith('language-'))?.slice('language-'.length);
    const lang = element('span', 'chat-code-lang', { text: language ?? '' });
    bar.append(lang, codeButton('copy', 'Copy'), codeButton('insert', 'Insert at Cursor'));
    pre.replaceWith(block);
    block.append(bar, pre);
  }
}

/** Replaces `target`'s content with the rendered markdown, code blocks with their toolbars. */
export function renderMarkdown(target: HTMLElement, text: string): void {
  const fragment = purify().sanitize(marked.parse(text, { async: false }), { ...PURIFY_CONFIG, RETURN_DOM_FRAGMENT: true });
  addCodeToolbars(fragment);
  target.replaceChildren(fragment);
}

/** For a click on a code toolbar button: its action and the block's raw code, else undefined. */
export function codeActionOf(target: EventTarget | null): { action: CodeAction; code: string } | undefined {
  if (!(target instanceof Element)) return undefined;
  const button = target.closest('button.chat-code-btn');
  const action = button?.getAttribute('data-code-action');
  if (!button || (action !== 'copy' && action !== 'insert')) return undefined;
  const code = button.closest('.chat-code-block')?.querySelector('pre > code');
  return code ? { action, code: code.textContent ?? '' } : undefined;
}
