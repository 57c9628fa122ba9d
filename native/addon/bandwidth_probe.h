// measureReadBandwidth({mib?, threads?, repeats?}): the machine's memory read bandwidth, for
// the benchmark's bound on decode speed (a decode step reads every weight matrix once).
// Allocates `mib` MiB (default 1024, far beyond any cache), writes it once so every page is
// resident, then reads all of it with `threads` threads (default: the hardware threads), each
// a contiguous slice, `repeats` times (default 5) after one untimed pass. Returns
// { best_gbs, median_gbs, samples_gbs: number[], mib, threads, repeats } in GB/s (1e9 bytes).
// Synchronous: it blocks the calling thread for the whole measurement (about a second per
// GiB and repeat on a slow machine); the buffer is freed before it returns.
#pragma once

#include <napi.h>

#include <cstddef>
#include <vector>

namespace alloy_addon {

// The measurement itself (no JS): GB/s of each timed pass, in pass order.
std::vector<double> measure_read_bandwidth(size_t mib, int threads, int repeats);

Napi::Value measure_read_bandwidth_js(const Napi::CallbackInfo& info);

}  // namespace alloy_addon
