// Bytes of weights a decode step reads, from a GGUF file's tensor list (node-llama-cpp's GGUF
// reader: header only, no tensor data). A decode step multiplies every 2-D weight matrix once;
// token_embd is only gathered (one row) unless it doubles as the output matrix (tied output,
// no output.weight), in which case it is read whole like the others. 1-D tensors (norms,
// biases) are left out: they are a few KiB against hundreds of MiB.
import { stat } from 'node:fs/promises';

// [elements per block, bytes per block] of the ggml types a bench model can hold, by ggml
// type id (GgmlType in node-llama-cpp, ggml_type in ggml.h).
const BLOCKS = {
  0: ['F32', 1, 4],
  1: ['F16', 1, 2],
  2: ['Q4_0', 32, 18],
  3: ['Q4_1', 32, 20],
  6: ['Q5_0', 32, 22],
  7: ['Q5_1', 32, 24],
  8: ['Q8_0', 32, 34],
  10: ['Q2_K', 256, 84],
  11: ['Q3_K', 256, 110],
  12: ['Q4_K', 256, 144],
  13: ['Q5_K', 256, 176],
  14: ['Q6_K', 256, 210],
  30: ['BF16', 1, 2],
};

function tensorBytes(t) {
  const block = BLOCKS[t.ggmlType];
  if (!block) throw new Error(`tensor ${t.name}: ggml type ${t.ggmlType} has no size in weight-bytes.mjs`);
  const [name, elems, bytes] = block;
  const dims = t.dimensions.map(Number);
  if (dims[0] % elems !== 0) throw new Error(`tensor ${t.name}: rows of ${dims[0]} are not whole ${name} blocks`);
  return (dims.reduce((a, b) => a * b, 1) / elems) * bytes;
}

// { bytes_read_per_token, matrices: count, by_type: { TYPE: bytes } } for the file. Checks
// every size against the gap to the next tensor's offset (the writer pads to the alignment).
export async function decodeReadBytes(file) {
  const { readGgufFileInfo } = await import('node-llama-cpp');
  const info = await readGgufFileInfo(file, { logWarnings: false, sourceType: 'filesystem' });
  const tensors = info.fullTensorInfo ?? [];
  const fileSize = (await stat(file)).size;
  const alignment = Number(info.metadata?.general?.alignment ?? 32);
  const byOffset = [...tensors].sort((a, b) => Number(a.fileOffset) - Number(b.fileOffset));
  byOffset.forEach((t, i) => {
    const end = i + 1 < byOffset.length ? Number(byOffset[i + 1].fileOffset) : fileSize;
    const gap = end - Number(t.fileOffset);
    const size = tensorBytes(t);
    if (size > gap || gap - size >= alignment) {
      throw new Error(`tensor ${t.name}: computed ${size} bytes, but the file gives it ${gap}`);
    }
  });
  const tied = !tensors.some((t) => t.name === 'output.weight');
  const read = tensors.filter((t) => t.dimensions.length === 2 && (t.name !== 'token_embd.weight' || tied));
  const byType = {};
  let total = 0;
  for (const t of read) {
    const bytes = tensorBytes(t);
    const name = BLOCKS[t.ggmlType][0];
    byType[name] = (byType[name] ?? 0) + bytes;
    total += bytes;
  }
  return { bytes_read_per_token: total, matrices: read.length, tied_output: tied, by_type: byType };
}
