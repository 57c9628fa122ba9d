// The per-element logic of RoPE and of the F16 KV-cache store, shared by rope.metal,
// kv_store.metal and the fused rope_store.metal, so the three write the same bits.
//
// RoPE (CPU reference: rope_cache / rope_head in backend/cpu/cpu_kernels.cpp): for each head,
// pair i of the first n_rot values turns by theta_i = freq_scale * position * theta_scale^i,
// its cos and sin scaled by attn_factor. Normal mode pairs (x[2i], x[2i + 1]), NEOX mode
// (x[i], x[i + n_rot / 2]); values past n_rot stay as they are.
// Numerics: theta_i is accumulated as the CPU does (i float multiplications by theta_scale,
// which the host computes with the CPU's formula), so the angles are bit-identical; the
// rotation is the CPU's fma(x0, c, -(x1 * s)) / fma(x0, s, x1 * c). Only cos and sin differ:
// MSL's precise:: versions (at most 4 ulp, also for the large angles of late positions, where
// the fast:: ones lose all accuracy) against the CPU's libm. The tests bound the difference
// (kRopeUlps in tests/rope_reference.h).
//
// KV store (CPU reference: CpuBackend::store_kv in backend/cpu/cpu_backend.cpp): K as one row
// of n_embd_kv halves per position, V transposed - channel c of position p at
// v[c * capacity + p] - so attention reads a V channel's positions contiguously. The
// conversion is MSL's float -> half, which rounds to nearest even like the CPU's f32_to_f16
// (core/half.h): the cache holds the same bits on both backends.
#pragma once

#include "kernel_prelude.h"

// cos and sin of a pair's angle, both times attn_factor.
struct RopeTurn {
  float c;
  float s;
};

// The turn of pair i at `position`.
inline RopeTurn rope_turn(constant kargs::Rope & args, int position, int i) {
  float theta = float(position);
  for (int j = 0; j < i; ++j) {
    theta *= args.theta_scale;
  }
  const float angle = args.freq_scale * theta;
  RopeTurn turn;
  turn.c = precise::cos(angle) * args.attn_factor;
  turn.s = precise::sin(angle) * args.attn_factor;
  return turn;
}

// The offsets in a head of the two values pair i rotates.
inline int rope_first(constant kargs::Rope & args, int i) {
  return args.mode == kargs::kRopeModeNeox ? i : 2 * i;
}
inline int rope_second(constant kargs::Rope & args, int i) {
  return args.mode == kargs::kRopeModeNeox ? i + args.n_rot / 2 : 2 * i + 1;
}

// The rotated values of the pair (x0, x1).
inline float rope_rotated_first(float x0, float x1, RopeTurn turn) { return fma(x0, turn.c, -(x1 * turn.s)); }
inline float rope_rotated_second(float x0, float x1, RopeTurn turn) { return fma(x0, turn.s, x1 * turn.c); }

// Rotates pair i (< n_rot / 2) of one head in place.
inline void rope_pair_in_place(constant kargs::Rope & args, device_ptr<float> head, int position, int i) {
  const RopeTurn turn = rope_turn(args, position, i);
  const int i0 = rope_first(args, i);
  const int i1 = rope_second(args, i);
  const float x0 = head[i0];
  const float x1 = head[i1];
  head[i0] = rope_rotated_first(x0, x1, turn);
  head[i1] = rope_rotated_second(x0, x1, turn);
}

// Value e (< head_dim) of one head after RoPE, from the head's values before it: the bits
// rope_pair_in_place writes there.
inline float rope_element(constant kargs::Rope & args, device_ptr<const float> head, int position, int e) {
  if (e >= args.n_rot) {
    return head[e];
  }
  const int half_rot = args.n_rot / 2;
  const bool neox = args.mode == kargs::kRopeModeNeox;
  const int i = neox ? e % half_rot : e / 2;
  const bool second = neox ? e >= half_rot : (e & 1) != 0;
  const RopeTurn turn = rope_turn(args, position, i);
  const float x0 = head[rope_first(args, i)];
  const float x1 = head[rope_second(args, i)];
  return second ? rope_rotated_second(x0, x1, turn) : rope_rotated_first(x0, x1, turn);
}

// Channel c of token t's K and V values into the cache at position pos0 + t.
inline void kv_store_channel(constant kargs::KvStore & args, device_ptr<half> k_cache, device_ptr<half> v_cache, uint t,
                             int c, float k, float v) {
  const ulong pos = ulong(args.pos0) + t;
  k_cache[pos * ulong(args.n_embd_kv) + c] = half(k);
  v_cache[ulong(c) * ulong(args.capacity) + pos] = half(v);
}
