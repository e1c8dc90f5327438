// Splitting a fleet between exporter replicas: `[exporter] shard = "i/n"` keeps the targets
// whose name hashes to shard i of n. Pure functions, stable across builds and machines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"

namespace pgconn {

// 64-bit FNV-1a of the bytes of `text` (not std::hash, whose value may change per build).
std::uint64_t Fnv1a64(std::string_view text);

// The shard (0 .. count-1) a target name belongs to; count must be at least 1.
std::uint32_t ShardOf(std::string_view target_name, std::uint32_t count);

// "i/n" with 0 <= i < n and n >= 1, digits only; nullopt otherwise.
std::optional<ShardConfig> ParseShard(std::string_view text);

// "i/n", for logs and messages.
std::string FormatShard(const ShardConfig& shard);

// The targets of `shard`, in their original order.
std::vector<TargetConfig> TargetsInShard(const std::vector<TargetConfig>& targets,
                                         const ShardConfig& shard);

}  // namespace pgconn
