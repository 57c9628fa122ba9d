# Cross build for AArch64 Linux with Debian's cross compiler (g++-aarch64-linux-gnu), its
# tests run under qemu-user (qemu-user's qemu-aarch64, or qemu-user-static's
# qemu-aarch64-static) with the cross sysroot as the dynamic loader's root. This is how the
# NEON kernels (Apple Silicon's CPU path) are built and tested on an x86-64 machine.
#   cmake -S native -B build/native-arm64 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=native/cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(ALLOY_AARCH64_SYSROOT /usr/aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Armv8.2-A with the dot-product and half-precision extensions: what Apple M1 and later
# implement, so the NEON kernels (vec_dot_neon.cpp) are compiled in.
set(CMAKE_C_FLAGS_INIT "-march=armv8.2-a+dotprod+fp16")
set(CMAKE_CXX_FLAGS_INIT "-march=armv8.2-a+dotprod+fp16")

# Libraries and headers come from the cross sysroot only; programs from the host.
set(CMAKE_FIND_ROOT_PATH ${ALLOY_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(ALLOY_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static REQUIRED)
# -cpu max: every extension qemu implements, dot product and FP16 included.
set(CMAKE_CROSSCOMPILING_EMULATOR ${ALLOY_QEMU_AARCH64} -L ${ALLOY_AARCH64_SYSROOT} -cpu max)
