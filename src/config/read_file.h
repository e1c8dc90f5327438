// Reads small files (config, password files) with errno-based reasons for messages.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace pgconn::config {

// The whole file, or nullopt with *error set to a reason such as "No such file or directory".
// Files longer than max_bytes are refused, so a mistaken path like /dev/zero cannot hang us.
std::optional<std::string> ReadSmallFile(const std::string& path, std::size_t max_bytes,
                                         std::string* error);

}  // namespace pgconn::config
