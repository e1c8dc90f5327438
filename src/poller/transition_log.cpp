#include "pgconn/transition_log.h"

namespace pgconn {

std::optional<uint64_t> TransitionLog::Admit(const std::string& key, Clock::time_point now,
                                             bool force) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_.emplace(key, Entry{now, 0});
    return 0;
  }
  Entry& entry = it->second;
  if (!force && now - entry.last < window_) {
    ++entry.suppressed;
    return std::nullopt;
  }
  const uint64_t suppressed = entry.suppressed;
  entry = Entry{now, 0};
  return suppressed;
}

std::string SuppressedNote(uint64_t suppressed) {
  if (suppressed == 0) return "";
  return " (" + std::to_string(suppressed) + " similar lines suppressed since the last one)";
}

}  // namespace pgconn
