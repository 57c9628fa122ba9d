// StopMatcher: text stop sequences over a stream of generated pieces.
import { describe, expect, it } from 'vitest';

import { StopMatcher } from '../../engine/stop-rules';

/** Pushes every piece and collects what the matcher lets through (plus the flush when it did not stop). */
function run(stops: readonly string[], pieces: readonly string[]): { text: string; stopped: boolean; stoppedAt: number } {
  const matcher = new StopMatcher(stops);
  let text = '';
  for (const [i, piece] of pieces.entries()) {
    const { emit, stopped } = matcher.push(piece);
    text += emit;
    if (stopped) return { text, stopped, stoppedAt: i };
  }
  return { text: text + matcher.flush(), stopped: false, stoppedAt: -1 };
}

describe('StopMatcher', () => {
  it('passes text through unchanged without stop strings (empty ones are ignored)', () => {
    const matcher = new StopMatcher(['', '']);
    expect(matcher.push('hello ')).toEqual({ emit: 'hello ', stopped: false });
    expect(matcher.push('world')).toEqual({ emit: 'world', stopped: false });
    expect(matcher.flush()).toBe('');
  });

  it('stops inside one piece and drops the stop string and what follows', () => {
    const matcher = new StopMatcher(['\n\n']);
    expect(matcher.push('return x;\n\nfunction y')).toEqual({ emit: 'return x;', stopped: true });
  });

  it('stops on a stop string split across pushes, emitting nothing of it', () => {
    const matcher = new StopMatcher(['<|im_end|>']);
    expect(matcher.push('done<|im')).toEqual({ emit: 'done', stopped: false });
    expect(matcher.push('_en')).toEqual({ emit: '', stopped: false });
    expect(matcher.push('d|>tail')).toEqual({ emit: '', stopped: true });
  });

  it('releases a held tail as soon as it can no longer start a stop string', () => {
    const matcher = new StopMatcher(['END']);
    expect(matcher.push('abcE')).toEqual({ emit: 'abc', stopped: false });
    expect(matcher.push('N')).toEqual({ emit: '', stopped: false });
    expect(matcher.push('x')).toEqual({ emit: 'ENx', stopped: false });
    expect(matcher.flush()).toBe('');
  });

  it('flush returns the held tail at the end of generation, once', () => {
    const matcher = new StopMatcher(['</s>']);
    expect(matcher.push('value </')).toEqual({ emit: 'value ', stopped: false });
    expect(matcher.flush()).toBe('</');
    expect(matcher.flush()).toBe('');
  });

  it('stops at one character per push', () => {
    expect(run(['STOP'], [...'abcSTOPdef'])).toEqual({ text: 'abc', stopped: true, stoppedAt: 6 });
  });

  it('with several stop strings, the one that occurs first in the text wins', () => {
    expect(run(['world', 'lo w'], ['hello world'])).toEqual({ text: 'hel', stopped: true, stoppedAt: 0 });
    expect(run(['\n\n', '```'], ['x = 1\n', '``', '`\n\n'])).toEqual({ text: 'x = 1\n', stopped: true, stoppedAt: 2 });
  });

  it('handles stop strings that are prefixes of each other', () => {
    expect(run(['ab', 'abc'], ['xa', 'bc'])).toEqual({ text: 'x', stopped: true, stoppedAt: 1 });
    expect(run(['abcd', 'bc'], ['a', 'b', 'c'])).toEqual({ text: 'a', stopped: true, stoppedAt: 2 });
  });

  it('handles a stop string overlapping itself (aab inside aaab)', () => {
    expect(run(['aab'], ['a', 'a', 'a', 'b', 'z'])).toEqual({ text: 'a', stopped: true, stoppedAt: 3 });
    expect(run(['aab'], ['aaa', 'ac'])).toEqual({ text: 'aaaac', stopped: false, stoppedAt: -1 });
  });

  it('a partial match that fails keeps the text (nothing lost, nothing duplicated)', () => {
    const pieces = ['<|im', '_start|>', ' <|', 'im_e', 'nd', '!'];
    expect(run(['<|im_end|>'], pieces)).toEqual({ text: pieces.join(''), stopped: false, stoppedAt: -1 });
  });

  it('handles unicode stop strings and text (astral characters stay whole)', () => {
    expect(run(['🛑'], ['héllo ', '世界', '🛑', 'after'])).toEqual({ text: 'héllo 世界', stopped: true, stoppedAt: 2 });
    expect(run(['终止符'], ['数据', '终', '止', '符号'])).toEqual({ text: '数据', stopped: true, stoppedAt: 3 });
    const matcher = new StopMatcher(['😀😁']);
    expect(matcher.push('a😀')).toEqual({ emit: 'a', stopped: false });
    expect(matcher.push('😂')).toEqual({ emit: '😀😂', stopped: false });
  });

  it('drops everything pushed after a stop', () => {
    const matcher = new StopMatcher(['#']);
    expect(matcher.push('a#b')).toEqual({ emit: 'a', stopped: true });
    expect(matcher.push('more')).toEqual({ emit: '', stopped: true });
    expect(matcher.flush()).toBe('');
  });

  it('handles empty pushes', () => {
    const matcher = new StopMatcher(['xy']);
    expect(matcher.push('')).toEqual({ emit: '', stopped: false });
    expect(matcher.push('x')).toEqual({ emit: '', stopped: false });
    expect(matcher.push('')).toEqual({ emit: '', stopped: false });
    expect(matcher.push('y')).toEqual({ emit: '', stopped: true });
  });
});
