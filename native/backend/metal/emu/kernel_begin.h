// Opens a region in which .metal kernel sources compile as C++ (see metal_emu.h); close it
// with kernel_end.h. Include it (not guarded: once per region) inside a namespace of your own,
// after metal_emu.h and kernels/kernel_args.h have been included at global scope:
//   namespace my_kernels {
//   #include "backend/metal/emu/kernel_begin.h"
//   #include "backend/metal/kernels/rms_norm.metal"
//   #include "backend/metal/emu/kernel_end.h"
//   }
// The macros stand for MSL's keywords only while a kernel source is read, so they never touch
// standard headers or the code around the region.
#if !defined(ALLOY_METAL_EMU_H)
#error "include backend/metal/emu/metal_emu.h at global scope before kernel_begin.h"
#endif
#if defined(ALLOY_METAL_EMU_KERNEL_SCOPE)
#error "kernel_begin.h twice without kernel_end.h"
#endif
#define ALLOY_METAL_EMU_KERNEL_SCOPE 1

// MSL attributes such as [[buffer(0)]] or [[thread_index_in_simdgroup]] are unknown to C++.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattributes"

#define kernel
#define constant const
#define thread
// Raw address-space pointers would escape the bounds checks: declare them with device_ptr<T>
// and threadgroup_ptr<T> (kernels/kernel_prelude.h) instead; these names fail to compile.
#define device use_device_ptr_so_the_emulator_checks_bounds
#define threadgroup use_threadgroup_ptr_so_the_emulator_checks_bounds
