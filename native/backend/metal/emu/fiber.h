// A cooperatively scheduled execution context for one emulated GPU lane (metal_emu.h): its own
// stack, switched to and from the scheduler with ucontext. Deterministic (the scheduler alone
// decides who runs), single-threaded, and annotated for AddressSanitizer, which must be told
// about every stack switch (__sanitizer_start/finish_switch_fiber) or it reports false
// positives when a lane throws or when a stack is reused.
//
// Protocol: the scheduler calls start(entry) and then resume() until the fiber has called
// exit(); the entry function calls enter() first, then runs, calling suspend() to hand control
// back; it must not return (it ends with exit()). A fiber may also be abandoned while
// suspended (a dispatch that failed) and started again: start() cleans the stack.
#pragma once

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstddef>
#include <new>
#include <stdexcept>

#if defined(__SANITIZE_ADDRESS__)
#define ALLOY_METAL_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOY_METAL_EMU_ASAN 1
#endif
#endif
#if defined(ALLOY_METAL_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace alloy::metal_emu {

// Lanes run kernel code and, on a fault, the C++ exception machinery (and with ASan its report
// code); 256 KiB is ample and costs only the pages touched (the mapping is lazily committed).
constexpr size_t kFiberStackBytes = 256 * 1024;

class Fiber {
 public:
  explicit Fiber(size_t stack_bytes = kFiberStackBytes) : stack_size_(stack_bytes) {
    guard_size_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* mapping = mmap(nullptr, guard_size_ + stack_size_, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED) throw std::bad_alloc();
    mapping_ = static_cast<char*>(mapping);
    // The lowest page stays inaccessible: a stack overflow faults instead of corrupting memory.
    mprotect(mapping_, guard_size_, PROT_NONE);
  }
  ~Fiber() {
    unpoison_stack();
    munmap(mapping_, guard_size_ + stack_size_);
  }
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Prepares the fiber to run entry() from the beginning at the next resume().
  void start(void (*entry)()) {
    unpoison_stack();
    fake_stack_ = nullptr;
    if (getcontext(&context_) != 0) throw std::runtime_error("getcontext failed");
    context_.uc_stack.ss_sp = stack_base();
    context_.uc_stack.ss_size = stack_size_;
    context_.uc_link = nullptr;
    makecontext(&context_, entry, 0);
  }

  // Scheduler side: runs the fiber until it suspends or exits.
  void resume() {
    void* scheduler_fake_stack = nullptr;
    start_switch(&scheduler_fake_stack, stack_base(), stack_size_);
    swapcontext(&caller_, &context_);
    finish_switch(scheduler_fake_stack, nullptr, nullptr);
  }

  // Fiber side, first statement of the entry function.
  void enter() { finish_switch(nullptr, &caller_bottom_, &caller_size_); }
  // Fiber side: back to the scheduler; returns at the next resume().
  void suspend() {
    start_switch(&fake_stack_, caller_bottom_, caller_size_);
    swapcontext(&context_, &caller_);
    finish_switch(fake_stack_, &caller_bottom_, &caller_size_);
  }
  // Fiber side, last statement of the entry function: back to the scheduler for good.
  [[noreturn]] void exit() {
    start_switch(nullptr, caller_bottom_, caller_size_);  // null: this fiber's stack is done
    setcontext(&caller_);
    throw std::logic_error("setcontext returned");  // unreachable: setcontext does not return on success
  }

 private:
  char* stack_base() const { return mapping_ + guard_size_; }

  void unpoison_stack() {
#if defined(ALLOY_METAL_EMU_ASAN)
    // An abandoned fiber leaves the red zones of its frames poisoned in ASan's shadow.
    ASAN_UNPOISON_MEMORY_REGION(stack_base(), stack_size_);
#endif
  }
  static void start_switch(void** fake_stack_save, const void* bottom, size_t size) {
#if defined(ALLOY_METAL_EMU_ASAN)
    __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
    (void)fake_stack_save, (void)bottom, (void)size;
#endif
  }
  static void finish_switch(void* fake_stack_save, const void** bottom_old, size_t* size_old) {
#if defined(ALLOY_METAL_EMU_ASAN)
    __sanitizer_finish_switch_fiber(fake_stack_save, bottom_old, size_old);
#else
    (void)fake_stack_save, (void)bottom_old, (void)size_old;
#endif
  }

  ucontext_t context_{};
  ucontext_t caller_{};
  char* mapping_ = nullptr;
  size_t guard_size_ = 0;
  size_t stack_size_;
  void* fake_stack_ = nullptr;           // ASan: this fiber's fake stack while it is suspended
  const void* caller_bottom_ = nullptr;  // ASan: the scheduler's stack, learnt on each switch in
  size_t caller_size_ = 0;
};

}  // namespace alloy::metal_emu
