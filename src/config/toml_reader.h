// Strict reading of TOML tables: typed getters that remember which keys were read, so that
// every key nobody asked for is reported as unknown with its file:line:column.
//
// Adding a section ([[pool]], [[process]], ...) is one reader function, usually in
// src/config/<name>_section.cpp, registered in kSections in src/config/config.cpp:
//
//   void ReadPoolSections(const toml::node& node, const ConfigSource& source, Config& out) {
//     ReadTableArray(node, "pool", source, [&](TableReader& table) {
//       PoolConfig pool;
//       pool.name = table.RequireString("name");
//       if (auto v = table.OptionalDuration("interval", Millis{100})) pool.interval = *v;
//       out.pools.push_back(std::move(pool));
//     });  // unknown keys are rejected after the callback returns
//   }
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgconn/config.h"

namespace pgconn::config {

// Every interval and timeout is at most a day, so adding one to a clock cannot overflow.
inline constexpr Millis kMaxDuration{24 * 3600 * 1000};

// The file being read: formats errors as "path:line:column: message".
class ConfigSource {
 public:
  explicit ConfigSource(std::string path, bool secrets_optional = false)
      : path_(std::move(path)), secrets_optional_(secrets_optional) {}

  const std::string& path() const { return path_; }
  // --check-config: missing password sources are warnings (LoadOptions).
  bool secrets_optional() const { return secrets_optional_; }
  [[noreturn]] void Fail(const toml::source_position& position, std::string_view message) const;
  // Collected and handed to Config::warnings.
  void Warn(const toml::source_position& position, std::string_view message) const;
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Relative paths inside the config (password_file, ...) are relative to the config's directory.
  std::string ResolvePath(std::string_view path) const;

 private:
  std::string path_;
  bool secrets_optional_ = false;
  mutable std::vector<std::string> warnings_;
};

// "string", "integer", "float", "boolean", "array", "table", "date", "time", "date-time".
std::string_view TypeName(const toml::node& node);

class TableReader {
 public:
  // `where` names the table in messages: "[exporter]", "[[target]]".
  TableReader(const toml::table& table, std::string where, const ConfigSource& source);

  // Getters mark the key as read. Wrong types and out-of-range values fail with
  // "key: ..." at the value's position; a missing required key fails at the table header.
  std::string RequireString(std::string_view key);
  std::optional<std::string> OptionalString(std::string_view key);
  std::optional<bool> OptionalBool(std::string_view key);
  std::optional<std::int64_t> OptionalInteger(std::string_view key, std::int64_t min,
                                              std::int64_t max);
  // A Go-style duration string ("15s"); values below `min` or above kMaxDuration are rejected.
  std::optional<Millis> OptionalDuration(std::string_view key, Millis min);
  std::optional<std::vector<std::string>> OptionalStringArray(std::string_view key);
  // One of a fixed set of strings, e.g. {{"text", LogFormat::kText}, {"json", LogFormat::kJson}}.
  template <typename T>
  std::optional<T> OptionalEnum(std::string_view key,
                                const std::vector<std::pair<std::string_view, T>>& choices);
  // Raw access for shapes the getters do not cover (nested tables, mixed arrays).
  const toml::node* Take(std::string_view key);

  bool Has(std::string_view key) const;
  // Position of the key's value, or of the table header when the key is absent.
  toml::source_position PositionOf(std::string_view key) const;
  [[noreturn]] void Fail(std::string_view key, std::string_view message) const;
  [[noreturn]] void FailAtElement(std::string_view key, std::size_t index,
                                  std::string_view message) const;
  [[noreturn]] void FailAtHeader(std::string_view message) const;
  void Warn(std::string_view key, std::string_view message) const;
  // Appends "(hint)" to the unknown-key error for `key`, for keys people are likely to try.
  void HintIfUnknown(std::string_view key, std::string_view hint);
  // Fails on the first key (in file order) that no getter took. ReadTable/ReadTableArray
  // call this after the section's callback.
  void RejectUnknownKeys() const;

  const toml::table& table() const { return table_; }
  const std::string& where() const { return where_; }
  const ConfigSource& source() const { return source_; }

 private:
  const toml::node* Find(std::string_view key) const;

  const toml::table& table_;
  std::string where_;
  const ConfigSource& source_;
  std::set<std::string, std::less<>> taken_;
  std::vector<std::pair<std::string, std::string>> hints_;
};

// Runs `read` on the [name] table, then rejects the keys it did not take.
void ReadTable(const toml::node& node, std::string_view name, const ConfigSource& source,
               const std::function<void(TableReader&)>& read);
// Runs `read` on each [[name]] table in file order, rejecting unknown keys after each.
// An empty inline array (name = []) runs it zero times.
void ReadTableArray(const toml::node& node, std::string_view name, const ConfigSource& source,
                    const std::function<void(TableReader&)>& read);

template <typename T>
std::optional<T> TableReader::OptionalEnum(
    std::string_view key, const std::vector<std::pair<std::string_view, T>>& choices) {
  const auto text = OptionalString(key);
  if (!text) return std::nullopt;
  std::string names;
  for (const auto& [name, value] : choices) {
    if (name == *text) return value;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  Fail(key, "invalid value \"" + *text + "\" (expected one of: " + names + ")");
}

}  // namespace pgconn::config
