// The Select Model list: downloaded files, then recent ones, then the demo; existing files only, each once.
import { describe, expect, it } from 'vitest';

import { modelChoices, withRecent } from '../../../extension/models/recent-models';

describe('recent models', () => {
  it('moves a model to the front and keeps the list short', () => {
    expect(withRecent(['/a', '/b', '/c'], '/b')).toEqual(['/b', '/a', '/c']);
    expect(withRecent(['/a', '/b'], '/c', 2)).toEqual(['/c', '/a']);
  });

  it('offers downloaded, then recent, then the demo, skipping duplicates and missing files', () => {
    const exists = (p: string): boolean => p !== '/gone.gguf';
    expect(modelChoices(['/m/x.gguf'], ['/gone.gguf', '/m/x.gguf', '/home/y.gguf'], '/ext/demo.gguf', exists)).toEqual([
      { path: '/m/x.gguf', origin: 'downloaded' },
      { path: '/home/y.gguf', origin: 'recent' },
      { path: '/ext/demo.gguf', origin: 'demo' },
    ]);
  });
});
