// Strict little helpers for parsing procfs text: whole tokens only, no locale, no exceptions.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pgconn::text {

// A whole token in base `base`; nullopt for empty, signs where not allowed, or trailing junk.
template <typename T = int64_t>
std::optional<T> ParseNumber(std::string_view token, int base = 10) {
  if (token.empty()) return std::nullopt;
  T value{};
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value, base);
  if (error != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return value;
}

inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Tokens separated by runs of spaces and tabs (and newlines).
inline std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// Complete lines (without their '\n'). A last line without '\n' was cut short: *truncated
// is set and that line is left out, since its last field may be a prefix of the real one.
inline std::vector<std::string_view> Lines(std::string_view text, bool* truncated) {
  std::vector<std::string_view> lines;
  *truncated = false;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      *truncated = true;
      break;
    }
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

}  // namespace pgconn::text
