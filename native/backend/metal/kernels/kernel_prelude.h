// The first include of every kernel source: MSL's standard library on the GPU, the emulator
// (backend/metal/emu/metal_emu.h) when a kernel is compiled as C++ on Linux, and the
// kernel-argument structs. Kernels declare buffers as device_ptr<T> and threadgroup memory as
// threadgroup_ptr<T>: plain `device T *` / `threadgroup T *` in MSL, bounds-checked views in
// the emulator, so one source serves both.
#pragma once

#if defined(__METAL_VERSION__)
#include <metal_stdlib>
using namespace metal;
template <typename T>
using device_ptr = device T *;
template <typename T>
using threadgroup_ptr = threadgroup T *;
#else
#if !defined(ALLOY_METAL_EMU_KERNEL_SCOPE)
#error "compile .metal sources as C++ between backend/metal/emu/kernel_begin.h and kernel_end.h"
#endif
using namespace ::metal;
using ::alloy::metal_emu::device_ptr;
using ::alloy::metal_emu::threadgroup_ptr;
#endif

#include "kernel_args.h"
