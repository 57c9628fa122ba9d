/* The Metal host: the only code that talks to Metal, behind this plain C interface (opaque
 * handles, fixed-size error strings, no Objective-C types) so that the C++ engine can call it
 * and the logic around it stays testable on Linux. Implemented in metal_host.mm (Objective-C++,
 * ARC, built on macOS arm64 only); the plan it runs comes from backend/metal/plan/forward_plan.h
 * through plan_encoding.h, which converts it into the structs below.
 *
 * Life of a context, all on one thread:
 *   1. alloy_metal_context_create: the default GPU, its command queue, and its facts.
 *   2. alloy_metal_create_pipelines: compiles the embedded library (kAlloyMetalSource, written
 *      by scripts/embed-metal.mjs at build time) and one compute pipeline per name; dispatches
 *      refer to a pipeline by its index in that list.
 *   3. alloy_metal_wrap_buffer (the mapped model file and each sequence's KV cache memory, no
 *      copy) and alloy_metal_alloc_buffer (scratch: once, at load) fill the buffer table, ids
 *      0 .. kAlloyMetalMaxBuffers-1; alloy_metal_release_buffer frees an id for another KV cache.
 *   4. alloy_metal_run per step: every dispatch encoded into one command buffer, committed,
 *      waited for; nothing is allocated on the host side per step beyond Metal's own command
 *      buffer and encoder.
 * A function that returns AlloyMetalStatus returns ALLOY_METAL_OK, or ALLOY_METAL_FAILED with the
 * reason in *error (error may be NULL); one that returns a handle returns NULL on failure.
 *
 * NOTE: this header compiles anywhere (it is included by plan_encoding.cpp on every platform);
 * metal_host.mm needs the macOS SDK and was never compiled on the Linux machines this was
 * written on. */
#ifndef ALLOY_METAL_HOST_H
#define ALLOY_METAL_HOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  kAlloyMetalMaxBuffers = 16,     /* buffer ids are 0 .. kAlloyMetalMaxBuffers - 1 */
  kAlloyMetalMaxSlots = 31,       /* [[buffer(n)]] slots per dispatch (Metal's limit) */
  kAlloyMetalMaxArgsBytes = 4096, /* setBytes:length:atIndex: limit */
  kAlloyMetalErrorChars = 4096,
  kAlloyMetalNameChars = 256
};

typedef enum AlloyMetalStatus { ALLOY_METAL_OK = 0, ALLOY_METAL_FAILED = 1 } AlloyMetalStatus;

/* Why a call failed, NUL-terminated (truncated to fit). */
typedef struct AlloyMetalError {
  char message[kAlloyMetalErrorChars];
} AlloyMetalError;

typedef struct AlloyMetalDeviceInfo {
  char name[kAlloyMetalNameChars];   /* MTLDevice.name, e.g. "Apple M2 Pro" */
  int32_t unified_memory;            /* MTLDevice.hasUnifiedMemory */
  uint32_t max_threadgroup_memory;   /* MTLDevice.maxThreadgroupMemoryLength, bytes */
  uint64_t max_buffer_bytes;         /* MTLDevice.maxBufferLength */
  uint64_t recommended_working_set;  /* MTLDevice.recommendedMaxWorkingSetSize, bytes */
} AlloyMetalDeviceInfo;

/* One [[buffer(slot)]] of a dispatch: buffer id `buffer` from byte `offset`. */
typedef struct AlloyMetalBinding {
  uint32_t slot;
  uint32_t buffer;
  uint64_t offset;
} AlloyMetalBinding;

/* One compute dispatch: forward_plan.h's Dispatch with names resolved to indices. The args
 * bytes are bound at slot 0 with setBytes; threadgroup_memory[i] is the byte length of
 * [[threadgroup(i)]] (a multiple of 16). Pointers stay owned by the caller. */
typedef struct AlloyMetalDispatch {
  uint32_t pipeline;  /* index into the names given to alloy_metal_create_pipelines */
  uint32_t threadgroups[3];
  uint32_t threads_per_threadgroup[3];
  const uint8_t* args;
  uint32_t args_bytes;
  uint32_t n_bindings;
  const AlloyMetalBinding* bindings;
  const uint32_t* threadgroup_memory;
  uint32_t n_threadgroup_memory;
} AlloyMetalDispatch;

typedef struct AlloyMetalRunReport {
  uint32_t dispatches;  /* encoded into this step's command buffer */
  double gpu_ms;        /* GPUEndTime - GPUStartTime of the command buffer */
} AlloyMetalRunReport;

typedef struct AlloyMetalContext AlloyMetalContext;

/* The system's default GPU; NULL with the reason if there is none or it lacks SIMD-group
 * reductions (MTLGPUFamilyApple7, M1 and later). info may be NULL. */
AlloyMetalContext* alloy_metal_context_create(AlloyMetalDeviceInfo* info, AlloyMetalError* error);
void alloy_metal_context_destroy(AlloyMetalContext* context);

/* Compiles the embedded library and creates a pipeline for each of names[0 .. n_names); on
 * failure the message names the failing kernel (or says the library failed) and quotes Metal's
 * error. Call once per context. */
AlloyMetalStatus alloy_metal_create_pipelines(AlloyMetalContext* context, const char* const* names, uint32_t n_names,
                                              AlloyMetalError* error);

/* Makes buffer `buffer_id` the `bytes` bytes at `base` without copying (newBufferWithBytesNoCopy).
 * Precondition: base is page-aligned and the mapping it belongs to spans `bytes` rounded up to
 * the page size (true of an mmap of a whole file, as core/mapped_file.h makes); the memory
 * must outlive the context. */
AlloyMetalStatus alloy_metal_wrap_buffer(AlloyMetalContext* context, uint32_t buffer_id, const void* base, uint64_t bytes,
                                         AlloyMetalError* error);

/* Allocates buffer `buffer_id` of `bytes` bytes in shared (CPU and GPU visible) memory, zeroed;
 * *contents receives its CPU address (for ids, positions, logits). Once per id, at load. */
AlloyMetalStatus alloy_metal_alloc_buffer(AlloyMetalContext* context, uint32_t buffer_id, uint64_t bytes, void** contents,
                                          AlloyMetalError* error);

/* Forgets buffer `buffer_id` (ARC releases it; wrapped memory stays the caller's) so the id can
 * be wrapped or allocated again: how the KV caches of more sequences than free ids take turns.
 * A no-op for an id that is not set. Not while a run is in flight (runs wait, so never). */
AlloyMetalStatus alloy_metal_release_buffer(AlloyMetalContext* context, uint32_t buffer_id, AlloyMetalError* error);

/* Encodes dispatches[0 .. n) in order into one command buffer (one compute encoder, serial
 * dispatch: each dispatch sees the previous ones' writes), commits it and waits. Fails before
 * encoding on an unknown pipeline or buffer id, a binding past its buffer, too many threads
 * for a pipeline, and after waiting on a GPU error (its description in *error). report may be
 * NULL. */
AlloyMetalStatus alloy_metal_run(AlloyMetalContext* context, const AlloyMetalDispatch* dispatches, uint32_t n,
                                 AlloyMetalRunReport* report, AlloyMetalError* error);

/* Dispatches encoded by this context since it was created. */
uint64_t alloy_metal_dispatch_count(const AlloyMetalContext* context);

#ifdef __cplusplus
}
#endif

#endif /* ALLOY_METAL_HOST_H */
