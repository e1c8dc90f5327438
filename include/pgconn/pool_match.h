// Which [[pool]] a pg_stat_activity group belongs to, and which app instance. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/sample.h"

namespace pgconn {

// Pool of the sessions no [[pool]] matches; user pool names may not take it.
inline constexpr const char* kUnpooledPool = "__unpooled__";
// Instance label of sessions without the identifying field (Unix socket, no application_name).
inline constexpr const char* kLocalInstance = "local";
inline constexpr const char* kUnnamedInstance = "__unnamed__";

// "10.1.2.3", "10.0.0.0/8", "::1", "fd00::/8"; nullopt when invalid (host bits may be set).
std::optional<AddressRange> ParseAddressRange(std::string_view text);

// True when `address` (host() text, as pg_stat_activity gives it) lies in `range`.
bool AddressInRange(std::string_view address, const AddressRange& range);

// Shell glob (fnmatch: * ? [...]); without wildcards it is an exact comparison.
bool GlobMatch(const std::string& pattern, const std::string& text);

// Every match key the pool sets holds for the group (a pool without keys matches all).
bool PoolMatches(const PoolConfig& pool, const ActivityGroup& group);

// The first pool in file order that matches; nullopt means the session is unpooled.
std::optional<std::size_t> FindPool(const std::vector<PoolConfig>& pools,
                                    const ActivityGroup& group);

// The instance label for a group of `pool`; "" when the pool is not split by instance.
std::string InstanceOf(const PoolConfig& pool, const ActivityGroup& group);

}  // namespace pgconn
