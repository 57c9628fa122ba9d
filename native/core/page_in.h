// Paging a mapped model file in at load time, so the first request does not stall on page
// faults while it walks the weights for the first time.
#pragma once

#include <cstdint>
#include <functional>

#include "mapped_file.h"

namespace alloy {

// Asks the kernel to read `bytes` ahead, then reads one byte of every page (volatile reads
// inside the span only). progress(done, total) is called after each chunk of a few MiB and
// at the end; returning false from it stops early. Best effort: advice failures are ignored.
void page_in(ByteSpan bytes, const std::function<bool(uint64_t done, uint64_t total)>& progress);

}  // namespace alloy
