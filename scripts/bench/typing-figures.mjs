// The typing benchmark's latency figures, the same definition for every side.
//
// An answer for keystroke k is the side's reply for the document as it was right after
// keystroke k: ours, session.suggest() resolving before the next keystroke aborted it (a
// suggestion, or null when there is nothing worth showing); llama.cpp, the end of the request
// made for keystroke k. answers[k] = { ms } (time from the replay's start) or null (none: ours
// was aborted by the next keystroke, or llama.cpp dropped the request).
//
// Counted keystrokes (the same set for every side):
//   * every keystroke after which the typist pauses long enough to look at the screen: the
//     next keystroke comes LOOKING_GAP_MS or more later, or never (the last one); and
//   * every keystroke for which our session returned a suggestion (not null) in time.
// Latency of a counted keystroke k, per side: from keystroke k (its scheduled time in the
// trace) to the first answer the side gives for the state after keystroke k or any later
// state. When the side answered for k itself this is simply keystroke-to-answer; when it gave
// no answer for k (cancelled, dropped), it is how long the typist waited, from keystroke k,
// before the side had anything current to show. A side whose replay was cut off at a time
// limit (llama.cpp in order, when its backlog outgrows the budget) has no answer for the
// keystrokes it never reached: their latency is counted as the time from the keystroke to the
// cut-off, a lower bound (`lower_bounds`), which only flatters that side.
// p50/p95 are nearest-rank percentiles.
import { round3 } from './stats.mjs';

export const LOOKING_GAP_MS = 300;

export function percentile(xs, p) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** The counted keystrokes (indices, ascending); gaps from gapsAfter(trace). */
export function countedKeystrokes(gaps, oursAnswers) {
  return gaps.flatMap((gap, k) => (gap >= LOOKING_GAP_MS || oursAnswers[k]?.suggestion ? [k] : []));
}

/**
 * Latency per counted keystroke: { index, ms (null when the side never answered at or after
 * k), own (the answer was for k itself), lowerBound (ms runs to the cut-off) }.
 * cutOffAtMs: when the side's replay was cut off, else null.
 */
export function latencies(trace, answers, counted, cutOffAtMs = null) {
  // firstFrom[k]: the earliest answer time for any state >= k (answers come in keystroke
  // order for every pattern measured here, but the minimum makes no such assumption).
  const n = trace.keystrokes.length;
  const firstFrom = new Array(n + 1).fill(Infinity);
  for (let k = n - 1; k >= 0; k--) firstFrom[k] = Math.min(firstFrom[k + 1], answers[k]?.ms ?? Infinity);
  return counted.map((k) => {
    const t = trace.keystrokes[k].t_ms;
    const at = firstFrom[k];
    if (Number.isFinite(at)) return { index: k, ms: at - t, own: answers[k] != null, lowerBound: false };
    if (cutOffAtMs !== null) return { index: k, ms: Math.max(0, cutOffAtMs - t), own: false, lowerBound: true };
    return { index: k, ms: null, own: false, lowerBound: false };
  });
}

/** p50/p95/max over the counted keystrokes; unanswered ones (if any) are reported, not hidden. */
export function latencySummary(list) {
  const ms = list.map((l) => l.ms).filter((x) => x !== null);
  const unanswered = list.length - ms.length;
  // A keystroke never answered is slower than any answered one: it sorts last.
  const withMisses = [...ms, ...Array(unanswered).fill(Infinity)];
  const finite = (x) => (x === null || !Number.isFinite(x) ? null : round3(x));
  return {
    p50_ms: finite(percentile(withMisses, 50)),
    p95_ms: finite(percentile(withMisses, 95)),
    max_ms: finite(percentile(withMisses, 100)),
    answered_for_own_state: list.filter((l) => l.own).length,
    lower_bounds: list.filter((l) => l.lowerBound).length,
    never_answered: unanswered,
  };
}

export function ratio(ours, theirs) {
  return ours === null || theirs === null || theirs === 0 ? null : round3(ours / theirs);
}
