// Go-style durations ("500ms", "1m30s", "1.5s"), restricted to ms, s, m and h.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pgconn/config.h"

namespace pgconn {
namespace {

constexpr std::int64_t kNanosPerMilli = 1'000'000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Nanoseconds per unit; "ms" is tried before "m".
std::optional<std::int64_t> TakeUnit(std::string_view& text) {
  struct Unit {
    std::string_view name;
    std::int64_t nanos;
  };
  static constexpr Unit kUnits[] = {{"ms", kNanosPerMilli},
                                    {"s", 1000 * kNanosPerMilli},
                                    {"m", 60'000 * kNanosPerMilli},
                                    {"h", 3'600'000 * kNanosPerMilli}};
  for (const Unit& unit : kUnits) {
    if (text.substr(0, unit.name.size()) == unit.name) {
      text.remove_prefix(unit.name.size());
      return unit.nanos;
    }
  }
  return std::nullopt;
}

// Reads the digits of "12" or "1.5" into whole and fraction parts.
bool TakeNumber(std::string_view& text, std::string_view& whole, std::string_view& fraction) {
  std::size_t i = 0;
  while (i < text.size() && IsDigit(text[i])) ++i;
  whole = text.substr(0, i);
  fraction = {};
  if (i < text.size() && text[i] == '.') {
    const std::size_t start = ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    fraction = text.substr(start, i - start);
  }
  text.remove_prefix(i);
  return !whole.empty() || !fraction.empty();
}

// One "<number><unit>" component in nanoseconds; nullopt on syntax error or overflow.
std::optional<std::int64_t> TakeComponent(std::string_view& text) {
  std::string_view whole;
  std::string_view fraction;
  if (!TakeNumber(text, whole, fraction)) return std::nullopt;
  const auto unit = TakeUnit(text);
  if (!unit) return std::nullopt;
  std::int64_t total = 0;
  for (char c : whole) {
    if (__builtin_mul_overflow(total, 10, &total) ||
        __builtin_add_overflow(total, c - '0', &total)) {
      return std::nullopt;
    }
  }
  if (__builtin_mul_overflow(total, *unit, &total)) return std::nullopt;
  std::int64_t scale = *unit;
  for (char c : fraction) {  // digits finer than 1ns are dropped, as in Go
    scale /= 10;
    if (__builtin_add_overflow(total, (c - '0') * scale, &total)) return std::nullopt;
  }
  return total;
}

}  // namespace

std::optional<Millis> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t nanos = 0;
  while (!text.empty()) {
    const auto component = TakeComponent(text);
    if (!component || __builtin_add_overflow(nanos, *component, &nanos)) return std::nullopt;
  }
  return Millis(nanos / kNanosPerMilli);
}

std::string FormatDuration(Millis duration) {
  std::int64_t ms = duration.count();
  if (ms == 0) return "0s";
  if (ms < 0) return "-" + FormatDuration(Millis(-ms));
  std::string out;
  if (ms >= 3'600'000) out += std::to_string(ms / 3'600'000) + "h";
  ms %= 3'600'000;
  if (ms >= 60'000) out += std::to_string(ms / 60'000) + "m";
  ms %= 60'000;
  if (ms == 0) return out;
  if (ms < 1000 && out.empty()) return std::to_string(ms) + "ms";
  out += std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string fraction = std::to_string(1000 + ms % 1000).substr(1);  // zero-padded
    while (fraction.back() == '0') fraction.pop_back();
    out += "." + fraction;
  }
  return out + "s";
}

}  // namespace pgconn
