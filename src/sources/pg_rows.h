// libpq helpers shared by the sessions in src/sources: owned results and a row reader.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

namespace pgconn {

struct ResultFree {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

// libpq's messages end in a newline; log lines and labels should not.
inline std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Read access to a result by column name; throws on a missing column.
class Rows {
 public:
  explicit Rows(const PGresult* result) : result_(result) {}
  int size() const { return PQntuples(result_); }
  std::string Text(int row, const char* column) const {
    return PQgetvalue(result_, row, Column(column));
  }
  std::string Text(int row, int column) const { return PQgetvalue(result_, row, column); }
  int64_t Int(int row, const char* column) const { return std::stoll(Text(row, column)); }
  int64_t Int(int row, int column) const { return std::stoll(Text(row, column)); }
  double Double(int row, const char* column) const { return std::stod(Text(row, column)); }
  bool Bool(int row, int column) const { return Text(row, column) == "t"; }
  bool IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  bool IsNull(int row, const char* column) const {
    return PQgetisnull(result_, row, Column(column)) != 0;
  }
  // A NULL counter (a database with no sessions yet on some versions) reads as `fallback`.
  int64_t IntOr(int row, const char* column, int64_t fallback) const {
    return IsNull(row, column) ? fallback : Int(row, column);
  }
  double DoubleOr(int row, const char* column, double fallback) const {
    return IsNull(row, column) ? fallback : Double(row, column);
  }
  // Lenient reads for results whose columns differ by version (PgBouncer's SHOW commands): a
  // missing column or NULL reads as "" and an unparsable number as 0.
  std::string TextIfAny(int row, const char* column) const {
    const int col = PQfnumber(result_, column);
    if (col < 0 || PQgetisnull(result_, row, col)) return "";
    return PQgetvalue(result_, row, col);
  }
  int64_t IntIfAny(int row, const char* column) const {
    return std::strtoll(TextIfAny(row, column).c_str(), nullptr, 10);
  }

 private:
  int Column(const char* name) const {
    const int column = PQfnumber(result_, name);
    if (column < 0) throw std::runtime_error(std::string("result has no column ") + name);
    return column;
  }
  const PGresult* result_;
};

}  // namespace pgconn
