// The model catalogue: every entry downloadable by the rules of the downloader, and the memory check.
import { describe, expect, it } from 'vitest';

import { CATALOGUE, CATALOGUE_HOSTS, describeFit, memoryFit, RECOMMENDED_ID } from '../../extension/models/catalogue';
import { safeModelFileName } from '../../extension/models/download-files';

const GiB = 2 ** 30;

describe('model catalogue', () => {
  it('lists base and instruct models in Q8_0 and Q4_K_M, all HTTPS on the catalogue host with safe GGUF names', () => {
    expect(new Set(CATALOGUE.map((e) => e.id)).size).toBe(CATALOGUE.length);
    expect(CATALOGUE.some((e) => e.id === RECOMMENDED_ID && e.use === 'completion')).toBe(true);
    for (const use of ['completion', 'chat'] as const) {
      for (const quant of ['Q8_0', 'Q4_K_M'] as const) expect(CATALOGUE.some((e) => e.use === use && e.quant === quant)).toBe(true);
    }
    for (const e of CATALOGUE) {
      const url = new URL(e.url);
      expect(url.protocol).toBe('https:');
      expect(CATALOGUE_HOSTS).toContain(url.host);
      expect(safeModelFileName(url.pathname)).toMatch(/\.gguf$/);
    }
  });

  it('says whether a model fits this machine', () => {
    expect(memoryFit(1.65e9, 16 * GiB)).toBe('fits');
    expect(memoryFit(8.1e9, 16 * GiB)).toBe('tight');
    expect(memoryFit(8.1e9, 8 * GiB)).toBe('too_large');
    const small = CATALOGUE.find((e) => e.id === RECOMMENDED_ID);
    expect(small && describeFit(small, 24 * GiB)).toBe('about 1.6 GB · fits this machine (24 GiB)');
  });
});
