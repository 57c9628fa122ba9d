// The editor of the typing benchmark: applies the trace's keystrokes one at a time and gives
// the cursor context the inline provider would build for each, and feeds the context ring as
// the extension's ContextTracker does (src/extension/context-tracker.ts): the whole document
// when its editor becomes active (visible from line 0: the trace's files fit on a screen), and
// the document around the edited line after every edit. Both sides of the benchmark go through
// this, so our session and the llama.cpp replay see the same documents and extra context.
import { applyKeystroke } from './typing-trace/trace.mjs';

/** The first visible line of an editor that was just opened on one of the trace's short files. */
const VISIBLE_TOP_LINE = 0;

function lineOf(text, offset) {
  let line = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

export class EditorSimulation {
  /**
   * modules: the bundle of typing-bundle.mjs; window: { prefixLines, suffixLines };
   * ring: a ContextRing, or null for no extra context.
   */
  constructor(trace, { modules, window, ring }) {
    this.trace = trace;
    this.modules = modules;
    this.window = window;
    this.ring = ring;
    this.texts = trace.files.map((f) => f.initialText);
    this.activeFile = -1;
  }

  /** Types keystroke `index` (in order); returns the cursor context after it. */
  type(index) {
    const key = this.trace.keystrokes[index];
    const file = this.trace.files[key.file];
    if (key.file !== this.activeFile) {
      this.activeFile = key.file;
      this.ring?.add(file.path, this.texts[key.file], VISIBLE_TOP_LINE);
    }
    const text = applyKeystroke(this.texts, key);
    this.ring?.add(file.path, text, lineOf(text, key.offset));
    return this.modules.cursorContext(text, key.offset + key.text.length, this.window, file.path, file.languageId);
  }

  /** The extra context the session sends with a request from `ctx` now. */
  chunksFor(ctx, chars) {
    return this.ring ? this.ring.chunks(ctx.filePath, chars) : [];
  }
}
