// Issue 15: the statements of one poll as data, and the settings cache. Internal to
// src/sources (postgres_session.cpp sends them in one round trip).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pg_rows.h"

namespace pgconn {

// One collector's reader of a statement's rows (the activity statement has two: the churn
// figures ride on the same pg_stat_activity read).
struct Reader {
  const char* collector;
  std::function<void(const Rows&)> read;
};

// One statement of a poll: a prepared statement's name, its text with $1.. parameters (text
// values, NULL as nullopt) and the collectors that read its result.
struct Statement {
  std::string name;
  std::string sql;
  std::vector<std::optional<std::string>> params;
  std::vector<Reader> readers;
};

// The statement with its parameters as quoted literals, for a multi-statement simple query
// (which takes no parameters). Parameters are numbers and keys read from the server.
inline std::string InlineParameters(const Statement& statement) {
  std::string sql = statement.sql;
  for (size_t i = statement.params.size(); i > 0; --i) {
    const auto& param = statement.params[i - 1];
    std::string literal = "NULL";
    if (param) {
      literal = "'";
      for (char c : *param) literal += c == '\'' ? std::string("''") : std::string(1, c);
      literal += "'";
    }
    const std::string placeholder = "$" + std::to_string(i);
    for (size_t at = sql.find(placeholder); at != std::string::npos;
         at = sql.find(placeholder, at + literal.size())) {
      sql.replace(at, placeholder.size(), literal);
    }
  }
  return sql;
}

// A value read only when the settings key changed, with the key it was read at.
template <typename Value>
struct Cached {
  std::optional<Value> value;
  std::optional<std::string> key;
};

// A gated statement (queries::GatedByKey) returns no row while its key is unchanged: the
// cached value stands. Rows mean it changed (or nothing was cached): read and keep them.
template <typename Value>
void ReadGated(const Rows& rows, Cached<Value>& cache, std::optional<Value>& out,
               const std::function<Value(const Rows&)>& read) {
  if (rows.size() > 0) {
    cache.value = read(rows);
    cache.key = rows.Text(0, "cache_key");
  } else if (!cache.value) {
    cache.value = read(rows);  // nothing cached and nothing to read (no names configured)
  }
  out = cache.value;
}

}  // namespace pgconn
