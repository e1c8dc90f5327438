#include "toml_reader.h"

#include <filesystem>
#include <tuple>

#include "text_guard.h"

namespace pgconn::config {
namespace {

bool Before(const toml::source_position& a, const toml::source_position& b) {
  return std::tie(a.line, a.column) < std::tie(b.line, b.column);
}

// Keys carry their own position since toml++ 3; fall back to the value for built tables.
toml::source_position KeyPosition(const toml::key& key, const toml::node& value) {
  return key.source().begin ? key.source().begin : value.source().begin;
}

// Long or odd keys (a 100 KB name, a control byte) are shortened and escaped.
std::string Quoted(std::string_view text) { return "'" + Escaped(text, 64) + "'"; }

}  // namespace

void ConfigSource::Fail(const toml::source_position& position, std::string_view message) const {
  throw ConfigError(path_ + ":" + std::to_string(position.line) + ":" +
                    std::to_string(position.column) + ": " + std::string(message));
}

void ConfigSource::Warn(const toml::source_position& position, std::string_view message) const {
  warnings_.push_back(path_ + ":" + std::to_string(position.line) + ":" +
                      std::to_string(position.column) + ": " + std::string(message));
}

std::string ConfigSource::ResolvePath(std::string_view path) const {
  const std::filesystem::path relative(path);
  if (relative.is_absolute()) return relative.string();
  return (std::filesystem::path(path_).parent_path() / relative).string();
}

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

TableReader::TableReader(const toml::table& table, std::string where, const ConfigSource& source)
    : table_(table), where_(std::move(where)), source_(source) {}

const toml::node* TableReader::Find(std::string_view key) const { return table_.get(key); }

const toml::node* TableReader::Take(std::string_view key) {
  taken_.emplace(key);
  return Find(key);
}

bool TableReader::Has(std::string_view key) const { return Find(key) != nullptr; }

toml::source_position TableReader::PositionOf(std::string_view key) const {
  const toml::node* node = Find(key);
  return node ? node->source().begin : table_.source().begin;
}

void TableReader::Fail(std::string_view key, std::string_view message) const {
  source_.Fail(PositionOf(key), std::string(key) + ": " + std::string(message));
}

void TableReader::FailAtElement(std::string_view key, std::size_t index,
                                std::string_view message) const {
  const toml::array* array = Find(key) ? Find(key)->as_array() : nullptr;
  const auto position =
      array && index < array->size() ? array->get(index)->source().begin : PositionOf(key);
  source_.Fail(position,
               std::string(key) + "[" + std::to_string(index) + "]: " + std::string(message));
}

void TableReader::Warn(std::string_view key, std::string_view message) const {
  source_.Warn(PositionOf(key), std::string(key) + ": " + std::string(message));
}

void TableReader::FailAtHeader(std::string_view message) const {
  source_.Fail(table_.source().begin, message);
}

std::string TableReader::RequireString(std::string_view key) {
  auto value = OptionalString(key);
  if (!value) FailAtHeader("missing required key " + Quoted(key) + " in " + where_);
  return std::move(*value);
}

std::optional<std::string> TableReader::OptionalString(std::string_view key) {
  const toml::node* node = Take(key);
  if (!node) return std::nullopt;
  if (!node->is_string()) Fail(key, "expected a string, got " + std::string(TypeName(*node)));
  return node->as_string()->get();
}

std::optional<bool> TableReader::OptionalBool(std::string_view key) {
  const toml::node* node = Take(key);
  if (!node) return std::nullopt;
  if (!node->is_boolean()) Fail(key, "expected a boolean, got " + std::string(TypeName(*node)));
  return node->as_boolean()->get();
}

std::optional<std::int64_t> TableReader::OptionalInteger(std::string_view key, std::int64_t min,
                                                         std::int64_t max) {
  const toml::node* node = Take(key);
  if (!node) return std::nullopt;
  if (!node->is_integer()) Fail(key, "expected an integer, got " + std::string(TypeName(*node)));
  const std::int64_t value = node->as_integer()->get();
  if (value < min) {
    Fail(key, "must be >= " + std::to_string(min) + ", got " + std::to_string(value));
  }
  if (value > max) {
    Fail(key, "must be <= " + std::to_string(max) + ", got " + std::to_string(value));
  }
  return value;
}

std::optional<Millis> TableReader::OptionalDuration(std::string_view key, Millis min) {
  const toml::node* node = Take(key);
  if (!node) return std::nullopt;
  if (!node->is_string()) {
    Fail(key, "expected a duration string such as \"15s\", got " + std::string(TypeName(*node)));
  }
  const std::string& text = node->as_string()->get();
  const auto value = ParseDuration(text);
  // Zeros cannot overflow: if the text parses with its digits zeroed, only the size was wrong.
  std::string zeroed = text;
  for (char& c : zeroed) c = (c >= '0' && c <= '9') ? '0' : c;
  const bool syntax_ok = ParseDuration(zeroed).has_value();
  if (!value && syntax_ok) {
    Fail(key, "duration too large: " + ShowValue(text) + " (at most " +
                  FormatDuration(kMaxDuration) + ")");
  }
  if (!value) Fail(key, "invalid duration " + ShowValue(text) + " (use e.g. 500ms, 15s, 1m)");
  if (*value > kMaxDuration) {
    Fail(key, "duration too large: " + ShowValue(text) + " (at most " +
                  FormatDuration(kMaxDuration) + ")");
  }
  if (*value < min) {
    Fail(key, "must be at least " + FormatDuration(min) + ", got " + ShowValue(text));
  }
  return value;
}

std::optional<std::vector<std::string>> TableReader::OptionalStringArray(std::string_view key) {
  const toml::node* node = Take(key);
  if (!node) return std::nullopt;
  const toml::array* array = node->as_array();
  if (!array) Fail(key, "expected an array of strings, got " + std::string(TypeName(*node)));
  std::vector<std::string> values;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (!element.is_string()) {
      FailAtElement(key, i, "expected a string, got " + std::string(TypeName(element)));
    }
    values.push_back(element.as_string()->get());
  }
  return values;
}

void TableReader::HintIfUnknown(std::string_view key, std::string_view hint) {
  hints_.emplace_back(key, hint);
}

void TableReader::RejectUnknownKeys() const {
  const toml::key* first = nullptr;
  toml::source_position first_position{};
  for (const auto& [key, value] : table_) {
    if (taken_.count(key.str()) > 0) continue;
    const auto position = KeyPosition(key, value);
    if (!first || Before(position, first_position)) {
      first = &key;
      first_position = position;
    }
  }
  if (!first) return;
  std::string message = "unknown key " + Quoted(first->str()) + " in " + where_;
  for (const auto& [hinted_key, hint] : hints_) {
    if (hinted_key == first->str()) message += " (" + hint + ")";
  }
  source_.Fail(first_position, message);
}

void ReadTable(const toml::node& node, std::string_view name, const ConfigSource& source,
               const std::function<void(TableReader&)>& read) {
  const std::string where = "[" + std::string(name) + "]";
  const toml::table* table = node.as_table();
  if (!table) {
    source.Fail(node.source().begin, std::string(name) + ": expected a " + where + " table, got " +
                                         std::string(TypeName(node)));
  }
  TableReader reader(*table, where, source);
  read(reader);
  reader.RejectUnknownKeys();
}

void ReadTableArray(const toml::node& node, std::string_view name, const ConfigSource& source,
                    const std::function<void(TableReader&)>& read) {
  const std::string where = "[[" + std::string(name) + "]]";
  const toml::array* array = node.as_array();
  if (!array || (!array->empty() && !array->is_array_of_tables())) {
    source.Fail(node.source().begin, std::string(name) + ": expected " + where +
                                         " (an array of tables), got " +
                                         std::string(TypeName(node)));
  }
  for (const toml::node& element : *array) {
    TableReader reader(*element.as_table(), where, source);
    read(reader);
    reader.RejectUnknownKeys();
  }
}

}  // namespace pgconn::config
