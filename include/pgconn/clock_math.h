// Adding a configured duration to a clock without signed overflow (UBSan): saturates at max.
#pragma once

#include <chrono>

namespace pgconn {

template <typename Clock, typename Rep, typename Period>
typename Clock::time_point SaturatingAdd(typename Clock::time_point at,
                                         std::chrono::duration<Rep, Period> delay) {
  using Duration = typename Clock::duration;
  const auto headroom = Clock::time_point::max() - at;
  if (delay <= std::chrono::duration<Rep, Period>::zero()) return at;
  if (std::chrono::duration_cast<std::chrono::duration<double>>(delay) >=
      std::chrono::duration_cast<std::chrono::duration<double>>(headroom)) {
    return Clock::time_point::max();
  }
  return at + std::chrono::duration_cast<Duration>(delay);
}

}  // namespace pgconn
