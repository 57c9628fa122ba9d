// llama.cpp (through node-llama-cpp) as the test oracle. Never used by the product.
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;

export function oracle(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return llama;
}

export async function loadOracleModel(modelPath: string, vocabOnly: boolean): Promise<LlamaModel> {
  const l = await oracle();
  return l.loadModel({ modelPath, vocabOnly });
}

/** llama.cpp's raw logits (indexed by token id) after evaluating `tokens` from an empty context. */
export async function oracleLastLogits(model: LlamaModel, tokens: number[], nVocab: number, threads = 1): Promise<Float32Array> {
  const context = await model.createContext({ contextSize: Math.max(64, tokens.length + 8), threads, batchSize: 64 });
  try {
    const sequence = context.getSequence();
    const input = tokens.map((t, i) => (i === tokens.length - 1 ? ([t, { generateNext: { logits: true } }] as const) : t));
    const out = await sequence.controlledEvaluate(input as never);
    const logits = out[tokens.length - 1]?.next?.logits;
    if (!logits) throw new Error('llama.cpp returned no logits');
    if (logits.size !== nVocab) throw new Error(`llama.cpp returned ${logits.size} logits, expected ${nVocab}`);
    const dense = new Float32Array(nVocab);
    for (const [token, value] of logits) dense[token as number] = value;
    return dense;
  } finally {
    await context.dispose();
  }
}
