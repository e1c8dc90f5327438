#include "pgconn/log_follower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgconn {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;

}  // namespace

LogFollower::LogFollower(std::string path, size_t max_line_bytes)
    : path_(std::move(path)), max_line_bytes_(max_line_bytes), chunk_(kChunkBytes) {
  Open(/*at_end=*/true);
}

LogFollower::~LogFollower() { Close(); }

bool LogFollower::Open(bool at_end) {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    stats_.open_errno = errno;
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    stats_.open_errno = EISDIR;  // not a regular file
    return false;
  }
  stats_.open_errno = 0;
  fd_ = fd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  offset_ = at_end ? st.st_size : 0;
  if (::lseek(fd_, offset_, SEEK_SET) < 0) offset_ = 0;
  partial_.clear();
  overflow_ = false;
  stats_.open = true;
  return true;
}

void LogFollower::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  stats_.open = false;
}

size_t LogFollower::Poll(const OnLine& on_line, size_t max_read_bytes) {
  size_t delivered = 0;
  size_t budget = max_read_bytes;
  // A file that was missing at start is read from its beginning once it appears.
  if (fd_ < 0 && !Open(/*at_end=*/false)) return 0;
  if (!Drain(on_line, budget, delivered)) return delivered;  // more to read next time
  struct stat at_path {};
  if (::stat(path_.c_str(), &at_path) != 0) return delivered;  // renamed away, not yet replaced
  if (at_path.st_dev != dev_ || at_path.st_ino != ino_) {
    // Rotated: finish the old file (lines written before the switch), then follow the new one.
    if (!Drain(on_line, budget, delivered)) return delivered;
    FlushPartial(on_line, delivered);
    Close();
    if (Open(/*at_end=*/false)) {
      ++stats_.rotations;
      Drain(on_line, budget, delivered);
    }
    return delivered;
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && st.st_size < offset_) {
    // Truncated in place (copytruncate): what is there now is new.
    ++stats_.truncations;
    offset_ = 0;
    ::lseek(fd_, 0, SEEK_SET);
    partial_.clear();
    overflow_ = false;
    Drain(on_line, budget, delivered);
  }
  return delivered;
}

bool LogFollower::Drain(const OnLine& on_line, size_t& budget, size_t& delivered) {
  while (budget > 0) {
    const ssize_t got = ::read(fd_, chunk_.data(), std::min(chunk_.size(), budget));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return true;  // EOF (or an error: retried on the next poll)
    offset_ += got;
    budget -= static_cast<size_t>(got);
    Split(chunk_.data(), static_cast<size_t>(got), on_line, delivered);
  }
  return false;
}

void LogFollower::Split(const char* data, size_t size, const OnLine& on_line, size_t& delivered) {
  while (size > 0) {
    const auto* newline = static_cast<const char*>(std::memchr(data, '\n', size));
    const size_t length = newline ? static_cast<size_t>(newline - data) : size;
    if (newline && partial_.empty() && !overflow_) {
      // The common case: a whole line inside the chunk, delivered without a copy.
      const size_t kept = std::min(length, max_line_bytes_);
      if (kept < length) ++stats_.truncated_lines;
      on_line(std::string_view(data, kept));
      ++stats_.lines;
      ++delivered;
    } else {
      const size_t room = max_line_bytes_ - partial_.size();
      if (length > room) overflow_ = true;
      partial_.append(data, std::min(length, room));
      if (newline) FlushPartial(on_line, delivered);
    }
    if (!newline) return;
    data = newline + 1;
    size -= length + 1;
  }
}

void LogFollower::FlushPartial(const OnLine& on_line, size_t& delivered) {
  if (partial_.empty() && !overflow_) return;
  if (overflow_) ++stats_.truncated_lines;
  on_line(partial_);
  ++stats_.lines;
  ++delivered;
  partial_.clear();
  overflow_ = false;
}

}  // namespace pgconn
