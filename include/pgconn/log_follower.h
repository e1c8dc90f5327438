// Follows one log file like `tail -F`: the first open starts at the end (no replay of
// history); a rename (rotation) or a new file at the path is followed from its start after
// the old file is drained; truncation rewinds; a file missing at start is picked up when it
// appears. Memory is bounded whatever the line length: a line longer than max_line_bytes is
// delivered cut to its first max_line_bytes bytes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pgconn {

struct LogFollowerStats {
  bool open = false;             // a file is being followed now
  uint64_t lines = 0;            // complete lines delivered
  uint64_t truncated_lines = 0;  // lines cut to max_line_bytes
  uint64_t rotations = 0;        // a different file appeared at the path
  uint64_t truncations = 0;      // the file shrank under us
  int open_errno = 0;            // why the last open failed (ENOENT, EACCES...); 0 when open
};

class LogFollower {
 public:
  using OnLine = std::function<void(std::string_view)>;
  static constexpr size_t kDefaultMaxLineBytes = 64 * 1024;

  // Opens the file at its end if it exists now; never throws for a missing file.
  explicit LogFollower(std::string path, size_t max_line_bytes = kDefaultMaxLineBytes);
  ~LogFollower();
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;

  // Reads what was appended since the last call (at most max_read_bytes), handles rotation
  // and truncation, and calls on_line for every complete line. Returns the lines delivered.
  size_t Poll(const OnLine& on_line, size_t max_read_bytes = 64 * 1024 * 1024);
  const LogFollowerStats& stats() const { return stats_; }
  const std::string& path() const { return path_; }

 private:
  bool Open(bool at_end);
  void Close();
  // Reads to EOF or max bytes; true when EOF was reached.
  bool Drain(const OnLine& on_line, size_t& budget, size_t& delivered);
  void Split(const char* data, size_t size, const OnLine& on_line, size_t& delivered);
  void FlushPartial(const OnLine& on_line, size_t& delivered);

  std::string path_;
  size_t max_line_bytes_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t offset_ = 0;
  std::string partial_;    // the start of an unfinished line, at most max_line_bytes_
  bool overflow_ = false;  // partial_ was cut; skip to the next newline
  std::vector<char> chunk_;
  LogFollowerStats stats_;
};

}  // namespace pgconn
