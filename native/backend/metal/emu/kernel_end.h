// Closes the region opened by kernel_begin.h: MSL's keywords are C++ names again.
#if !defined(ALLOY_METAL_EMU_KERNEL_SCOPE)
#error "kernel_end.h without kernel_begin.h"
#endif
#undef ALLOY_METAL_EMU_KERNEL_SCOPE
#undef kernel
#undef constant
#undef thread
#undef device
#undef threadgroup
#pragma GCC diagnostic pop
