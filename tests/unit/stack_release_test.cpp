#include "../../src/http/stack_release.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace {

constexpr size_t kDepth = 256 * 1024;

struct Span {
  uintptr_t begin = 0;
  uintptr_t end = 0;
};

// Touches kDepth bytes of stack below the caller; returns their page-aligned inner range and
// a checksum (so the writes cannot be optimized away).
__attribute__((noinline)) Span TouchStack(unsigned& checksum) {
  volatile unsigned char deep[kDepth];
  for (size_t i = 0; i < kDepth; i += 512) deep[i] = static_cast<unsigned char>(i / 512);
  for (size_t i = 0; i < kDepth; i += 512) checksum += deep[i];
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<uintptr_t>(&deep[0]);
  return {(first + page - 1) / page * page, (first + kDepth) / page * page};
}

size_t ResidentPages(Span span) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> flags((span.end - span.begin) / page);
  if (mincore(reinterpret_cast<void*>(span.begin), span.end - span.begin, flags.data()) != 0) {
    return SIZE_MAX;
  }
  size_t resident = 0;
  for (unsigned char flag : flags) resident += flag & 1;
  return resident;
}

TEST(StackRelease, PagesTouchedBelowTheCallerLeaveTheResidentSet) {
  size_t before = 0, after = 0, released = 0, total = 0;
  unsigned first_sum = 0, second_sum = 0;
  std::thread([&] {
    const Span span = TouchStack(first_sum);
    before = ResidentPages(span);
    total = (span.end - span.begin) / static_cast<size_t>(sysconf(_SC_PAGESIZE));
    released = pgconn::http::ReleaseStackBelowCaller();
    after = ResidentPages(span);
    TouchStack(second_sum);  // the released stack is usable again
  }).join();
  ASSERT_GT(total, 32u);
  EXPECT_EQ(before, total);
  EXPECT_GE(released, kDepth - 32 * 1024);
  // Gone but for the page or two within the margin below the caller.
  EXPECT_LE(after, 2u);
  EXPECT_EQ(first_sum, second_sum);
}

}  // namespace
