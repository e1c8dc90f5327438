#include "text_guard.h"

#include <cstdio>

namespace pgconn::config {
namespace {

// Walks the text tracking line and column for messages.
class Cursor {
 public:
  Cursor(std::string_view text, const ConfigSource& source) : text_(text), source_(source) {}
  bool done() const { return i_ >= text_.size(); }
  char peek(std::size_t ahead = 0) const {
    return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0';
  }
  bool starts(std::string_view s) const { return text_.substr(i_, s.size()) == s; }
  void next() {
    if (text_[i_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++i_;
  }
  [[noreturn]] void Fail(const std::string& message) const {
    source_.Fail({static_cast<toml::source_index>(line_), static_cast<toml::source_index>(column_)},
                 message);
  }

 private:
  std::string_view text_;
  const ConfigSource& source_;
  std::size_t i_ = 0;
  std::size_t line_ = 1;
  std::size_t column_ = 1;
};

void CheckEncoding(std::string_view text, const ConfigSource& source) {
  const auto starts = [&](std::string_view bom) { return text.substr(0, bom.size()) == bom; };
  if (starts(std::string_view("\xFF\xFE\0\0", 4)) || starts(std::string_view("\0\0\xFE\xFF", 4))) {
    source.Fail({1, 1}, "file is UTF-32 (byte order mark); save it as UTF-8");
  }
  if (starts("\xFF\xFE") || starts("\xFE\xFF")) {
    source.Fail({1, 1}, "file is UTF-16 (byte order mark); save it as UTF-8");
  }
  if (text.size() >= 2 && (text[0] == '\0') != (text[1] == '\0')) {
    source.Fail({1, 1}, "file looks like UTF-16 without a byte order mark; save it as UTF-8");
  }
}

// Length of the UTF-8 sequence at `s` (1-4), or 0 when it is not valid UTF-8.
std::size_t Utf8Length(std::string_view s) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  if (lead >= 0xE0 && lead <= 0xEF) length = 3;
  if (lead >= 0xF0 && lead <= 0xF4) length = 4;
  if (length == 0 || s.size() < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

void SkipString(Cursor& c) {
  const char quote = c.peek();
  const bool multi = c.peek(1) == quote && c.peek(2) == quote;
  const std::string close(multi ? 3 : 1, quote);
  for (std::size_t k = 0; k < close.size(); ++k) c.next();
  while (!c.done() && !c.starts(close)) {
    if (!multi && c.peek() == '\n') return;  // toml++ reports the unterminated string
    if (quote == '"' && c.peek() == '\\') c.next();
    if (!c.done()) c.next();
  }
  for (std::size_t k = 0; k < close.size() && !c.done(); ++k) c.next();
}

bool IsBareChar(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '_' || ch == '-' || ch == '+' || ch == ':';
}

// Nesting, dotted-key parts and token sizes, outside strings and comments.
void CheckStructure(std::string_view text, const ConfigSource& source) {
  Cursor c(text, source);
  std::size_t depth = 0;
  std::size_t dots = 0;  // since the last newline, '=' or ','
  std::size_t token = 0;
  while (!c.done()) {
    const char ch = c.peek();
    if (ch == '"' || ch == '\'') {
      SkipString(c);
      continue;
    }
    if (ch == '#') {
      while (!c.done() && c.peek() != '\n') c.next();
      continue;
    }
    token = IsBareChar(ch) ? token + 1 : 0;
    if (token > kMaxBareToken) c.Fail("key or value too large (more than 1024 characters)");
    if (ch == '[' || ch == '{') {
      if (++depth > kMaxNesting) c.Fail("nesting too deep (more than 32 levels)");
    } else if (ch == ']' || ch == '}') {
      depth = depth > 0 ? depth - 1 : 0;
    } else if (ch == '.') {
      if (++dots >= kMaxKeyParts) c.Fail("dotted key too long (more than 32 parts)");
    } else if (ch == '\n' || ch == '=' || ch == ',') {
      dots = 0;
    }
    c.next();
  }
}

}  // namespace

void CheckConfigText(std::string_view text, const ConfigSource& source) {
  CheckEncoding(text, source);
  Cursor c(text, source);
  std::string_view rest = text;
  while (!rest.empty()) {
    if (rest.front() == '\0') c.Fail("NUL byte in the file");
    const std::size_t length = Utf8Length(rest);
    if (length == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(rest.front()));
      c.Fail(std::string("file is not UTF-8 (byte ") + hex +
             "; Latin-1 or Windows-1252?); save it as UTF-8");
    }
    for (std::size_t k = 0; k < length; ++k) c.next();
    rest.remove_prefix(length);
  }
  CheckStructure(text, source);
}

std::string ShowValue(std::string_view value, std::size_t max) {
  std::string out = "\"" + Escaped(value.substr(0, max), value.size() + 1, false) + "\"";
  if (value.size() > max) out += "... (" + std::to_string(value.size()) + " bytes)";
  return out;
}

std::string Escaped(std::string_view value, std::size_t max, bool note_size) {
  std::string out;
  for (std::size_t i = 0; i < value.size() && i < max; ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\r') {
      out += "\\r";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (!note_size && (byte == '"' || byte == '\\')) {
      out += '\\';
      out += static_cast<char>(byte);
    } else if (byte < 0x20 || byte == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", byte);
      out += hex;
    } else {
      out += static_cast<char>(byte);
    }
  }
  if (note_size && value.size() > max) out += "... (" + std::to_string(value.size()) + " bytes)";
  return out;
}

bool HasControlByte(std::string_view value, bool allow_tab) {
  for (const char ch : value) {
    const auto byte = static_cast<unsigned char>(ch);
    if ((byte < 0x20 && !(allow_tab && byte == '\t')) || byte == 0x7F) return true;
  }
  return false;
}

}  // namespace pgconn::config
