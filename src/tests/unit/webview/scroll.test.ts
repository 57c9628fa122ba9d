// @vitest-environment jsdom
// Scroll following: changes keep the list at the bottom while it is there, leave it alone once
// the user scrolled up, and follow() forces the next change to the bottom (after sending).
import { describe, expect, it } from 'vitest';
import { FOLLOW_SLACK_PX, ScrollFollower } from '../../../webview/chat/scroll';

/** A list element with a scripted layout (jsdom does none): content height and viewport. */
function fakeList(contentHeight: number, viewport: number): { el: HTMLElement; grow(by: number): void } {
  const el = document.createElement('div');
  let height = contentHeight;
  let top = 0;
  Object.defineProperty(el, 'scrollHeight', { get: () => height });
  Object.defineProperty(el, 'clientHeight', { get: () => viewport });
  Object.defineProperty(el, 'scrollTop', { get: () => top, set: (v: number) => (top = Math.max(0, Math.min(v, height - viewport))) });
  return { el, grow: (by) => (height += by) };
}

describe('ScrollFollower', () => {
  it('follows growth while at the bottom', () => {
    const list = fakeList(1000, 300);
    list.el.scrollTop = 700;
    const s = new ScrollFollower(list.el);
    s.update(() => list.grow(200));
    expect(list.el.scrollTop).toBe(900);
  });

  it('stays put after the user scrolled up, until follow()', () => {
    const list = fakeList(1000, 300);
    list.el.scrollTop = 700 - FOLLOW_SLACK_PX - 1;
    const s = new ScrollFollower(list.el);
    s.update(() => list.grow(200));
    expect(list.el.scrollTop).toBe(700 - FOLLOW_SLACK_PX - 1);
    s.follow();
    s.update(() => list.grow(50));
    expect(list.el.scrollTop).toBe(950);
  });

  it('counts a position within the slack as the bottom', () => {
    const list = fakeList(1000, 300);
    list.el.scrollTop = 700 - FOLLOW_SLACK_PX;
    const s = new ScrollFollower(list.el);
    expect(s.atBottom()).toBe(true);
    s.update(() => list.grow(10));
    expect(list.el.scrollTop).toBe(710);
  });
});
