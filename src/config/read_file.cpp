#include "read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace pgconn::config {
namespace {

std::string Reason(int error_number) { return std::generic_category().message(error_number); }

// Closes the descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::optional<std::string> ReadSmallFile(const std::string& path, std::size_t max_bytes,
                                         std::string* error) {
  // O_NONBLOCK: opening a FIFO without a writer must not hang; fstat then refuses it.
  const Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    *error = Reason(errno);
    return std::nullopt;
  }
  struct stat info {};
  if (fstat(fd.get(), &info) != 0) {
    *error = Reason(errno);
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode)) {
    *error =
        S_ISDIR(info.st_mode) ? Reason(EISDIR) : "not a regular file (a FIFO, socket or device)";
    return std::nullopt;
  }
  if (static_cast<std::size_t>(info.st_size) > max_bytes) {
    *error = "file too large (" + std::to_string(info.st_size) + " bytes, at most " +
             std::to_string(max_bytes) + ")";
    return std::nullopt;
  }
  std::string content;
  char buffer[8192];
  while (true) {
    const ssize_t n = read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = Reason(errno);
      return std::nullopt;
    }
    if (n == 0) return content;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      *error = "file too large (more than " + std::to_string(max_bytes) + " bytes)";
      return std::nullopt;
    }
  }
}

}  // namespace pgconn::config
