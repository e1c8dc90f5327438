#include "pgconn/pool_match.h"

#include <arpa/inet.h>
#include <fnmatch.h>

#include <algorithm>

namespace pgconn {
namespace {

// inet_pton for either family; false when `text` is neither.
bool ParseAddress(const std::string& text, int* family, std::array<unsigned char, 16>* bytes) {
  bytes->fill(0);
  if (inet_pton(AF_INET, text.c_str(), bytes->data()) == 1) {
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes->data()) == 1) {
    *family = AF_INET6;
    return true;
  }
  return false;
}

bool PrefixEqual(const std::array<unsigned char, 16>& a, const std::array<unsigned char, 16>& b,
                 int prefix_length) {
  const int whole = prefix_length / 8;
  if (!std::equal(a.begin(), a.begin() + whole, b.begin())) return false;
  const int rest = prefix_length % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a[static_cast<std::size_t>(whole)] & mask) == (b[static_cast<std::size_t>(whole)] & mask);
}

std::optional<int> ParsePrefixLength(std::string_view text, int max) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

}  // namespace

std::optional<AddressRange> ParseAddressRange(std::string_view text) {
  AddressRange range;
  range.text = std::string(text);
  const std::size_t slash = text.find('/');
  if (!ParseAddress(std::string(text.substr(0, slash)), &range.family, &range.bytes)) {
    return std::nullopt;
  }
  const int max = range.family == AF_INET ? 32 : 128;
  range.prefix_length = max;
  if (slash != std::string_view::npos) {
    const auto length = ParsePrefixLength(text.substr(slash + 1), max);
    if (!length) return std::nullopt;
    range.prefix_length = *length;
  }
  return range;
}

bool AddressInRange(std::string_view address, const AddressRange& range) {
  int family = 0;
  std::array<unsigned char, 16> bytes{};
  if (address.empty() || !ParseAddress(std::string(address), &family, &bytes)) return false;
  return family == range.family && PrefixEqual(bytes, range.bytes, range.prefix_length);
}

bool GlobMatch(const std::string& pattern, const std::string& text) {
  return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

bool PoolMatches(const PoolConfig& pool, const ActivityGroup& group) {
  if (pool.application_name && !GlobMatch(*pool.application_name, group.application)) {
    return false;
  }
  if (pool.user && *pool.user != group.user) return false;
  if (pool.database && *pool.database != group.database) return false;
  if (pool.client_addr && !AddressInRange(group.client_addr, *pool.client_addr)) return false;
  return true;
}

std::optional<std::size_t> FindPool(const std::vector<PoolConfig>& pools,
                                    const ActivityGroup& group) {
  for (std::size_t i = 0; i < pools.size(); ++i) {
    if (PoolMatches(pools[i], group)) return i;
  }
  return std::nullopt;
}

std::string InstanceOf(const PoolConfig& pool, const ActivityGroup& group) {
  switch (pool.instance_by) {
    case InstanceBy::kClientAddr:
      return group.client_addr.empty() ? kLocalInstance : group.client_addr;
    case InstanceBy::kApplicationName:
      return group.application.empty() ? kUnnamedInstance : group.application;
    case InstanceBy::kNone:
      break;
  }
  return "";
}

}  // namespace pgconn
