// SuggestionCache: least recently used eviction, refresh on get and set, resize, clear.
import { describe, expect, it } from 'vitest';

import { SuggestionCache } from '../../../extension/completion/suggestion-cache';

describe('SuggestionCache', () => {
  it('stores and returns suggestions, undefined for an unknown key', () => {
    const cache = new SuggestionCache(2);
    cache.set('a', 'return a;');
    expect(cache.get('a')).toBe('return a;');
    expect(cache.get('b')).toBeUndefined();
  });

  it('keeps an empty suggestion (nothing worth showing) as a hit', () => {
    const cache = new SuggestionCache(2);
    cache.set('a', '');
    expect(cache.get('a')).toBe('');
  });

  it('drops the least recently used entry beyond the capacity', () => {
    const cache = new SuggestionCache(2);
    cache.set('a', '1');
    cache.set('b', '2');
    cache.set('c', '3');
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, '2', '3']);
    expect(cache.size).toBe(2);
  });

  it('counts a get as a use', () => {
    const cache = new SuggestionCache(2);
    cache.set('a', '1');
    cache.set('b', '2');
    cache.get('a');
    cache.set('c', '3');
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['1', undefined, '3']);
  });

  it('replaces the text of a key set again and counts it as a use', () => {
    const cache = new SuggestionCache(2);
    cache.set('a', '1');
    cache.set('b', '2');
    cache.set('a', 'one');
    cache.set('c', '3');
    expect([cache.get('a'), cache.get('b')]).toEqual(['one', undefined]);
    expect(cache.size).toBe(2);
  });

  it('resizes, dropping the least recently used entries', () => {
    const cache = new SuggestionCache(3);
    for (const key of ['a', 'b', 'c']) cache.set(key, key);
    cache.resize(1);
    expect([cache.size, cache.get('c')]).toEqual([1, 'c']);
    cache.resize(2);
    cache.set('d', 'd');
    expect([cache.get('c'), cache.get('d')]).toEqual(['c', 'd']);
  });

  it('holds nothing with a capacity of zero, a negative one or NaN', () => {
    for (const capacity of [0, -4, Number.NaN]) {
      const cache = new SuggestionCache(capacity);
      cache.set('a', '1');
      expect(cache.get('a')).toBeUndefined();
      expect(cache.size).toBe(0);
    }
  });

  it('is empty after clear', () => {
    const cache = new SuggestionCache(4);
    cache.set('a', '1');
    cache.clear();
    expect([cache.size, cache.get('a')]).toEqual([0, undefined]);
  });
});
