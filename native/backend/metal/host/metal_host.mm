// The Metal host (metal_host.h): Objective-C++ with ARC (-fobjc-arc, set in native/CMakeLists.txt),
// built on macOS arm64 only. Everything the plan decides (which kernels, grids, bindings) was
// computed and checked in C++ (forward_plan.h, plan_encoding.h); this file only hands it to
// Metal, so each function is a short loop over plain structs.
//
// NOTE: written on Linux, where there is no Metal SDK: this file has NOT been compiled there.
// It is compiled and run on macOS by the macos-metal workflow (.github/workflows/macos-metal.yml).
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "backend/metal/host/metal_host.h"

// Written by scripts/embed-metal.mjs at build time (build/.../generated/alloy_metal_source.cpp).
extern const char kAlloyMetalSource[];
extern const unsigned long kAlloyMetalSourceLength;

// ARC releases the Metal objects when the context is deleted.
struct AlloyMetalContext {
  id<MTLDevice> device = nil;
  id<MTLCommandQueue> queue = nil;
  std::vector<id<MTLComputePipelineState>> pipelines;
  id<MTLBuffer> buffers[kAlloyMetalMaxBuffers];  // nil until set (ARC initialises strong pointers)
  uint64_t lengths[kAlloyMetalMaxBuffers] = {};  // the bytes a binding may start below
  uint64_t dispatch_count = 0;
};

namespace {

AlloyMetalStatus fail(AlloyMetalError* error, const char* format, ...) __attribute__((format(printf, 2, 3)));
AlloyMetalStatus fail(AlloyMetalError* error, const char* format, ...) {
  if (error != nullptr) {
    va_list args;
    va_start(args, format);
    std::vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
  }
  return ALLOY_METAL_FAILED;
}

const char* describe(NSError* e) {
  return e != nil && e.localizedDescription != nil ? e.localizedDescription.UTF8String : "no description from Metal";
}

void copy_string(char* out, size_t size, NSString* s) {
  std::snprintf(out, size, "%s", s != nil ? s.UTF8String : "");
}

// A buffer id that can be filled: in range and not yet set. (Never name a variable `id`: it is
// Objective-C's object type.)
AlloyMetalStatus check_new_buffer(const AlloyMetalContext* c, uint32_t buffer_id, uint64_t bytes, AlloyMetalError* error) {
  if (buffer_id >= kAlloyMetalMaxBuffers) return fail(error, "Metal buffer id %u out of range", buffer_id);
  if (c->buffers[buffer_id] != nil) return fail(error, "Metal buffer id %u set twice", buffer_id);
  if (bytes == 0) return fail(error, "Metal buffer %u: zero bytes", buffer_id);
  if (bytes > c->device.maxBufferLength) {
    // DEBT: a model file larger than maxBufferLength (about half the RAM) needs splitting into
    // several buffers with the plan's weight offsets rebased; removed by a split in plan_encoding.
    return fail(error, "Metal buffer %u: %llu bytes exceed the device's maxBufferLength %llu", buffer_id,
                static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(c->device.maxBufferLength));
  }
  return ALLOY_METAL_OK;
}

// Everything alloy_metal_run needs to be true before it encodes anything.
AlloyMetalStatus check_dispatch(const AlloyMetalContext* c, const AlloyMetalDispatch& d, uint32_t index, AlloyMetalError* error) {
  if (d.pipeline >= c->pipelines.size()) return fail(error, "dispatch %u: pipeline index %u unknown", index, d.pipeline);
  id<MTLComputePipelineState> p = c->pipelines[d.pipeline];
  const uint64_t threads = uint64_t(d.threads_per_threadgroup[0]) * d.threads_per_threadgroup[1] * d.threads_per_threadgroup[2];
  if (threads == 0 || threads > p.maxTotalThreadsPerThreadgroup) {
    return fail(error, "dispatch %u: %llu threads per threadgroup, pipeline %u allows %llu", index, (unsigned long long)threads,
                d.pipeline, (unsigned long long)p.maxTotalThreadsPerThreadgroup);
  }
  if (d.args_bytes > kAlloyMetalMaxArgsBytes) return fail(error, "dispatch %u: %u args bytes", index, d.args_bytes);
  for (uint32_t i = 0; i < d.n_bindings; ++i) {
    const AlloyMetalBinding& b = d.bindings[i];
    if (b.buffer >= kAlloyMetalMaxBuffers || c->buffers[b.buffer] == nil) return fail(error, "dispatch %u: buffer %u not set", index, b.buffer);
    if (b.offset >= c->lengths[b.buffer]) return fail(error, "dispatch %u: offset %llu past buffer %u", index, (unsigned long long)b.offset, b.buffer);
  }
  uint64_t memory = 0;
  for (uint32_t i = 0; i < d.n_threadgroup_memory; ++i) memory += d.threadgroup_memory[i];
  if (memory > c->device.maxThreadgroupMemoryLength) return fail(error, "dispatch %u: %llu bytes of threadgroup memory", index, (unsigned long long)memory);
  return ALLOY_METAL_OK;
}

void encode(id<MTLComputeCommandEncoder> encoder, const AlloyMetalContext* c, const AlloyMetalDispatch& d) {
  [encoder setComputePipelineState:c->pipelines[d.pipeline]];
  if (d.args_bytes > 0) [encoder setBytes:d.args length:d.args_bytes atIndex:0];
  for (uint32_t i = 0; i < d.n_bindings; ++i) {
    [encoder setBuffer:c->buffers[d.bindings[i].buffer] offset:d.bindings[i].offset atIndex:d.bindings[i].slot];
  }
  for (uint32_t i = 0; i < d.n_threadgroup_memory; ++i) [encoder setThreadgroupMemoryLength:d.threadgroup_memory[i] atIndex:i];
  [encoder dispatchThreadgroups:MTLSizeMake(d.threadgroups[0], d.threadgroups[1], d.threadgroups[2])
          threadsPerThreadgroup:MTLSizeMake(d.threads_per_threadgroup[0], d.threads_per_threadgroup[1], d.threads_per_threadgroup[2])];
}

}  // namespace

AlloyMetalContext* alloy_metal_context_create(AlloyMetalDeviceInfo* info, AlloyMetalError* error) {
  @autoreleasepool {
    id<MTLDevice> device = MTLCreateSystemDefaultDevice();
    if (device == nil) {
      fail(error, "no Metal device (MTLCreateSystemDefaultDevice returned nil)");
      return nullptr;
    }
    // The kernels use SIMD-group reductions and shuffles (simd_sum, simd_max): Apple7 (M1) and later.
    if (![device supportsFamily:MTLGPUFamilyApple7]) {
      fail(error, "%s lacks MTLGPUFamilyApple7 (SIMD-group reductions)", device.name.UTF8String);
      return nullptr;
    }
    id<MTLCommandQueue> queue = [device newCommandQueue];
    if (queue == nil) {
      fail(error, "%s: newCommandQueue returned nil", device.name.UTF8String);
      return nullptr;
    }
    if (info != nullptr) {
      copy_string(info->name, sizeof info->name, device.name);
      info->unified_memory = device.hasUnifiedMemory ? 1 : 0;
      info->max_threadgroup_memory = static_cast<uint32_t>(device.maxThreadgroupMemoryLength);
      info->max_buffer_bytes = device.maxBufferLength;
      info->recommended_working_set = device.recommendedMaxWorkingSetSize;
    }
    AlloyMetalContext* c = new AlloyMetalContext();
    c->device = device;
    c->queue = queue;
    return c;
  }
}

void alloy_metal_context_destroy(AlloyMetalContext* context) { delete context; }

AlloyMetalStatus alloy_metal_create_pipelines(AlloyMetalContext* c, const char* const* names, uint32_t n_names, AlloyMetalError* error) {
  @autoreleasepool {
    if (!c->pipelines.empty()) return fail(error, "Metal pipelines created twice");
    NSString* source = [[NSString alloc] initWithBytes:kAlloyMetalSource length:kAlloyMetalSourceLength encoding:NSUTF8StringEncoding];
    if (source == nil) return fail(error, "the embedded Metal source is not UTF-8");
    MTLCompileOptions* options = [MTLCompileOptions new];
    // IEEE math: the kernels mask with -INFINITY and match the emulator's IEEE results within
    // the tests' tolerances; fast math may assume no infinities.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
    options.fastMathEnabled = NO;  // mathMode replaces it from the macOS 15 SDK on
#pragma clang diagnostic pop
    NSError* e = nil;
    id<MTLLibrary> library = [c->device newLibraryWithSource:source options:options error:&e];
    if (library == nil) return fail(error, "the Metal library failed to compile: %s", describe(e));
    std::vector<id<MTLComputePipelineState>> pipelines;
    pipelines.reserve(n_names);
    for (uint32_t i = 0; i < n_names; ++i) {
      id<MTLFunction> function = [library newFunctionWithName:[NSString stringWithUTF8String:names[i]]];
      if (function == nil) return fail(error, "Metal pipeline %s: no such kernel in the library", names[i]);
      id<MTLComputePipelineState> pipeline = [c->device newComputePipelineStateWithFunction:function error:&e];
      if (pipeline == nil) return fail(error, "Metal pipeline %s: %s", names[i], describe(e));
      pipelines.push_back(pipeline);
    }
    c->pipelines = std::move(pipelines);
    return ALLOY_METAL_OK;
  }
}

AlloyMetalStatus alloy_metal_wrap_buffer(AlloyMetalContext* c, uint32_t buffer_id, const void* base, uint64_t bytes, AlloyMetalError* error) {
  @autoreleasepool {
    const uint64_t page = static_cast<uint64_t>(getpagesize());
    const uint64_t length = (bytes + page - 1) / page * page;  // the mapping spans whole pages
    if (check_new_buffer(c, buffer_id, length, error) != ALLOY_METAL_OK) return ALLOY_METAL_FAILED;
    if (reinterpret_cast<uintptr_t>(base) % page != 0) return fail(error, "Metal buffer %u: %p is not page-aligned", buffer_id, base);
    // The GPU only reads the weights; Metal's API takes a non-const pointer.
    id<MTLBuffer> buffer = [c->device newBufferWithBytesNoCopy:const_cast<void*>(base)
                                                         length:length
                                                        options:MTLResourceStorageModeShared
                                                    deallocator:nil];
    if (buffer == nil) return fail(error, "Metal buffer %u: newBufferWithBytesNoCopy refused %llu bytes", buffer_id, (unsigned long long)length);
    c->buffers[buffer_id] = buffer;
    c->lengths[buffer_id] = bytes;
    return ALLOY_METAL_OK;
  }
}

AlloyMetalStatus alloy_metal_alloc_buffer(AlloyMetalContext* c, uint32_t buffer_id, uint64_t bytes, void** contents, AlloyMetalError* error) {
  @autoreleasepool {
    if (check_new_buffer(c, buffer_id, bytes, error) != ALLOY_METAL_OK) return ALLOY_METAL_FAILED;
    id<MTLBuffer> buffer = [c->device newBufferWithLength:bytes options:MTLResourceStorageModeShared];
    if (buffer == nil) return fail(error, "Metal buffer %u: newBufferWithLength failed for %llu bytes", buffer_id, (unsigned long long)bytes);
    std::memset(buffer.contents, 0, bytes);  // the KV cache's invariant: unwritten positions hold zeros
    c->buffers[buffer_id] = buffer;
    c->lengths[buffer_id] = bytes;
    if (contents != nullptr) *contents = buffer.contents;
    return ALLOY_METAL_OK;
  }
}

AlloyMetalStatus alloy_metal_release_buffer(AlloyMetalContext* c, uint32_t buffer_id, AlloyMetalError* error) {
  if (buffer_id >= kAlloyMetalMaxBuffers) return fail(error, "Metal buffer id %u out of range", buffer_id);
  c->buffers[buffer_id] = nil;
  c->lengths[buffer_id] = 0;
  return ALLOY_METAL_OK;
}

AlloyMetalStatus alloy_metal_run(AlloyMetalContext* c, const AlloyMetalDispatch* dispatches, uint32_t n, AlloyMetalRunReport* report,
                                 AlloyMetalError* error) {
  for (uint32_t i = 0; i < n; ++i) {
    if (check_dispatch(c, dispatches[i], i, error) != ALLOY_METAL_OK) return ALLOY_METAL_FAILED;
  }
  @autoreleasepool {
    // Unretained references: every buffer and pipeline is owned by the context for its lifetime.
    id<MTLCommandBuffer> command_buffer = [c->queue commandBufferWithUnretainedReferences];
    // Serial dispatch (the default): each dispatch sees the writes of the ones before it.
    id<MTLComputeCommandEncoder> encoder = [command_buffer computeCommandEncoder];
    for (uint32_t i = 0; i < n; ++i) encode(encoder, c, dispatches[i]);
    [encoder endEncoding];
    [command_buffer commit];
    [command_buffer waitUntilCompleted];
    c->dispatch_count += n;
    if (command_buffer.status != MTLCommandBufferStatusCompleted) {
      return fail(error, "Metal command buffer of %u dispatches failed (status %ld): %s", n, static_cast<long>(command_buffer.status),
                  describe(command_buffer.error));
    }
    if (report != nullptr) {
      report->dispatches = n;
      report->gpu_ms = (command_buffer.GPUEndTime - command_buffer.GPUStartTime) * 1000.0;
    }
    return ALLOY_METAL_OK;
  }
}

uint64_t alloy_metal_dispatch_count(const AlloyMetalContext* context) { return context->dispatch_count; }
