// Element builders for the chat webview: the class, id, text and (for buttons) type and title
// that the view's elements are created with, in one place.

export interface ElementOptions {
  id?: string;
  text?: string;
  title?: string;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  options: ElementOptions = {},
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className !== '') e.className = className;
  if (options.id !== undefined) e.id = options.id;
  if (options.text !== undefined) e.textContent = options.text;
  if (options.title !== undefined) e.title = options.title;
  return e;
}

/** A button that never submits a form (type "button"). */
export function button(className: string, options: ElementOptions = {}): HTMLButtonElement {
  const b = element('button', className, options);
  b.type = 'button';
  return b;
}
