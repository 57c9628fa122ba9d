// Round statistics shared by the benchmarks: medians, and the rejection of rounds disturbed
// by other work on the machine (a shared machine: only ratios from one run mean anything).

// A round whose ours/llama.cpp ratio strays more than this from the median ratio is dropped.
export const DISTURBED_BAND = 0.25;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function round3(x) {
  return x === null || x === undefined ? null : Number(x.toFixed(3));
}

function within(x, mid) {
  return mid === 0 || Math.abs(x / mid - 1) <= DISTURBED_BAND;
}

// Judges one engine's rounds against their own median (when there is nothing to pair with).
function alone(xs) {
  if (xs.length === 0) return { kept: [], droppedRounds: [] };
  const mid = median(xs);
  const keep = xs.map((x) => within(x, mid));
  return { kept: xs.filter((_, i) => keep[i]), droppedRounds: indicesOf(keep, false) };
}

function indicesOf(flags, value) {
  return flags.flatMap((f, i) => (f === value ? [i] : []));
}

// Keeps the rounds whose ours/theirs ratio is within DISTURBED_BAND of the median ratio.
// When the engines do not have a figure for every round (one failed), each side's rounds are
// judged against their own median instead. droppedRounds: indices of the rounds dropped.
export function undisturbed(ours, theirs) {
  if (ours.length > 0 && ours.length === theirs.length) {
    const ratios = ours.map((o, i) => o / theirs[i]);
    const mid = median(ratios);
    const keep = ratios.map((r) => within(r, mid));
    const droppedRounds = indicesOf(keep, false);
    return {
      ours: ours.filter((_, i) => keep[i]),
      theirs: theirs.filter((_, i) => keep[i]),
      dropped: droppedRounds.length,
      droppedRounds,
    };
  }
  const o = alone(ours);
  const t = alone(theirs);
  const droppedRounds = [...new Set([...o.droppedRounds, ...t.droppedRounds])].sort((a, b) => a - b);
  return { ours: o.kept, theirs: t.kept, dropped: droppedRounds.length, droppedRounds };
}

// One figure for both engines from per-round entries (null: no run that round, else
// { value, disturbed }). Values measured while other processes used the CPU (disturbed) are
// left out; of the rounds where both engines have a value left, those whose ratio strays
// from the median ratio by more than DISTURBED_BAND are left out too; the figure is the
// median of what is left per engine. When an engine has no undisturbed value at all, both
// engines use all of their values instead (`fromDisturbed`), so that the ratio never sets a
// clean figure against a disturbed one. droppedRounds: the rounds left out; kept: how many
// values each engine's median is taken over.
export function pairedFigure(ours, theirs) {
  const hasClean = (entries) => entries.some((e) => e && !e.disturbed);
  const hasAny = (entries) => entries.some((e) => e);
  const fromDisturbed = [ours, theirs].some((entries) => hasAny(entries) && !hasClean(entries));
  const rounds = Math.max(ours.length, theirs.length);
  const dropped = new Set();
  const usable = (entries) =>
    [...Array(rounds).keys()].map((i) => {
      const e = entries[i];
      if (!e) return null;
      if (e.disturbed && !fromDisturbed) {
        dropped.add(i);
        return null;
      }
      return e.value;
    });
  const o = usable(ours);
  const t = usable(theirs);
  const both = [...Array(rounds).keys()].filter((i) => o[i] != null && t[i] != null);
  if (both.length > 0) {
    const mid = median(both.map((i) => o[i] / t[i]));
    for (const i of both) {
      if (!within(o[i] / t[i], mid)) {
        dropped.add(i);
        o[i] = null;
        t[i] = null;
      }
    }
  }
  const kept = (values) => values.filter((v) => v != null);
  const pick = (values) => (kept(values).length > 0 ? median(kept(values)) : null);
  const ov = pick(o);
  const tv = pick(t);
  return {
    value: { ours: round3(ov), llama_cpp: round3(tv), ratio: ov !== null && tv !== null && tv !== 0 ? round3(ov / tv) : null },
    droppedRounds: [...dropped].sort((a, b) => a - b),
    fromDisturbed,
    kept: { ours: kept(o).length, llama_cpp: kept(t).length },
  };
}
