// Rate limit for state-change log lines: at most one line per key per window, and the next
// line that gets through says how many were held back. Pure (time is passed in).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace pgconn {

class TransitionLog {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TransitionLog(std::chrono::seconds window = std::chrono::seconds(60))
      : window_(window) {}

  // nullopt: hold this line back. Otherwise log it, noting the count held back before it.
  // `force` lets a line through regardless (a recovery after a logged failure: the log must
  // not end on a state that is over).
  std::optional<uint64_t> Admit(const std::string& key, Clock::time_point now, bool force = false);

 private:
  struct Entry {
    Clock::time_point last;
    uint64_t suppressed = 0;
  };
  std::chrono::seconds window_;
  std::map<std::string, Entry> entries_;
};

// " (N similar lines suppressed)" or "".
std::string SuppressedNote(uint64_t suppressed);

}  // namespace pgconn
