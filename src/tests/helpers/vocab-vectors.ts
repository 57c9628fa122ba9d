// Reads llama.cpp's tokenizer test vectors (`.gguf.inp` / `.gguf.out`, format in
// ../shared/models/README.md).
import * as fs from 'node:fs';

export interface VocabVector {
  text: string;
  ids: number[];
}

const SEPARATOR = '\n__ggml_vocab_test__\n';

export function readVocabVectors(ggufPath: string): VocabVector[] {
  const texts = fs.readFileSync(`${ggufPath}.inp`, 'utf8').split(SEPARATOR);
  if (texts[texts.length - 1] === '') texts.pop();
  const lines = fs.readFileSync(`${ggufPath}.out`, 'utf8').split('\n');
  return texts.map((text, i) => {
    const line = lines[i] ?? '';
    const ids = line.trim() === '' ? [] : line.trim().split(/\s+/).map(Number);
    return { text, ids };
  });
}
