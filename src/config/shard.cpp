#include "pgconn/shard.h"

#include <charconv>
#include <system_error>

namespace pgconn {
namespace {

constexpr std::uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;
constexpr std::uint32_t kMaxShards = 1000000;

// Digits only (no sign, no spaces), at most kMaxShards.
std::optional<std::uint32_t> ParseCount(std::string_view text) {
  if (text.empty() || text.size() > 7) return std::nullopt;
  std::uint32_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > kMaxShards) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::uint64_t Fnv1a64(std::string_view text) {
  std::uint64_t hash = kFnvOffsetBasis;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

std::uint32_t ShardOf(std::string_view target_name, std::uint32_t count) {
  if (count == 0) return 0;
  return static_cast<std::uint32_t>(Fnv1a64(target_name) % count);
}

std::optional<ShardConfig> ParseShard(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto index = ParseCount(text.substr(0, slash));
  const auto count = ParseCount(text.substr(slash + 1));
  if (!index || !count || *count == 0 || *index >= *count) return std::nullopt;
  return ShardConfig{*index, *count};
}

std::string FormatShard(const ShardConfig& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

std::vector<TargetConfig> TargetsInShard(const std::vector<TargetConfig>& targets,
                                         const ShardConfig& shard) {
  std::vector<TargetConfig> kept;
  for (const TargetConfig& target : targets) {
    if (ShardOf(target.name, shard.count) == shard.index) kept.push_back(target);
  }
  return kept;
}

}  // namespace pgconn
