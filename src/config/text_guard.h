// Checks on raw config text before toml++ sees it, and a safe way to quote values in messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "toml_reader.h"

namespace pgconn::config {

// toml++ recurses per nesting level and per dotted-key part; beyond these it can overflow
// the stack (a 50,000-part header crashes it).
inline constexpr std::size_t kMaxNesting = 32;
inline constexpr std::size_t kMaxKeyParts = 32;
inline constexpr std::size_t kMaxBareToken = 1024;

// Fails (ConfigError, "path:line:column: ...") on: a UTF-16/UTF-32 file (named), a NUL byte,
// bytes that are not UTF-8, nesting deeper than kMaxNesting, dotted keys with more than
// kMaxKeyParts parts, bare keys or values longer than kMaxBareToken.
void CheckConfigText(std::string_view text, const ConfigSource& source);

// `value` for a message: double-quoted, control bytes escaped (\n, \x00), cut to `max` bytes
// with the full size named ("..." (100000 bytes)).
std::string ShowValue(std::string_view value, std::size_t max = 64);

// The same without quotes (for whole messages, e.g. toml++'s): escaped and cut to `max`.
std::string Escaped(std::string_view value, std::size_t max = 200, bool note_size = true);

// Fails on a NUL or other control byte (tab allowed) in a string that ends up in a C API.
bool HasControlByte(std::string_view value, bool allow_tab = true);

}  // namespace pgconn::config
