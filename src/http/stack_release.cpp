#include "stack_release.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace pgconn::http {
namespace {

// Left below the caller's frame: this function's own and madvise()'s few hundred bytes.
constexpr uintptr_t kMargin = 4096;

// The lowest usable address of this thread's stack (above its guard page), 0 if unknown.
// Cached: pthread_getattr_np costs a syscall, and the main thread's reads /proc/self/maps.
uintptr_t StackLow() {
  thread_local uintptr_t low = [] {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return uintptr_t{0};
    void* address = nullptr;
    size_t size = 0;
    const bool known = pthread_attr_getstack(&attr, &address, &size) == 0;
    pthread_attr_destroy(&attr);
    return known ? reinterpret_cast<uintptr_t>(address) : uintptr_t{0};
  }();
  return low;
}

}  // namespace

__attribute__((noinline)) size_t ReleaseStackBelowCaller() noexcept {
  const uintptr_t low = StackLow();
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (low == 0 || page == 0 || frame < low + kMargin + page) return 0;
  const uintptr_t begin = (low + page - 1) / page * page;
  const uintptr_t end = (frame - kMargin) / page * page;
  if (end <= begin) return 0;
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED) != 0) return 0;
  return end - begin;
}

}  // namespace pgconn::http
