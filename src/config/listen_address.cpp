#include "listen_address.h"

#include <optional>

#include "pgconn/config.h"

namespace pgconn {
namespace config {
namespace {

constexpr std::string_view kExample = "use e.g. 0.0.0.0:10432, 127.0.0.1:10432 or :10432";

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Dotted quad only; leading zeros are rejected because some parsers read them as octal.
bool IsIpv4(std::string_view host) {
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = host.find('.');
    const std::string_view octet = host.substr(0, dot);
    if (!AllDigits(octet) || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) {
      return false;
    }
    if (std::stoi(std::string(octet)) > 255) return false;
    if ((dot == std::string_view::npos) != (part == 3)) return false;
    host.remove_prefix(dot == std::string_view::npos ? host.size() : dot + 1);
  }
  return true;
}

std::optional<std::string> NormalizeHost(std::string_view host) {
  if (host.empty()) return "0.0.0.0";  // Go style ":PORT" means all interfaces
  if (host == "localhost") return "127.0.0.1";
  if (IsIpv4(host)) return std::string(host);
  return std::nullopt;
}

std::optional<int> ParsePort(std::string_view port) {
  if (!AllDigits(port) || port.size() > 5 || (port.size() > 1 && port[0] == '0')) {
    return std::nullopt;
  }
  const int value = std::stoi(std::string(port));
  if (value > 65535) return std::nullopt;
  return value;
}

ListenAddressCheck Reject(std::string message) { return {"", std::move(message)}; }

}  // namespace

ListenAddressCheck CheckListenAddress(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.find('[') != std::string_view::npos || text.find(':') != text.rfind(':')) {
    return Reject("IPv6 address " + quoted +
                  " is not supported (this civetweb build has no IPv6); use an IPv4 address, " +
                  "e.g. 0.0.0.0:10432");
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Reject("missing port in " + quoted + " (" + std::string(kExample) + ")");
  }
  const auto port = ParsePort(text.substr(colon + 1));
  if (!port) {
    return Reject("invalid port in " + quoted +
                  ": must be a number from 0 to 65535 (0 = any free port)");
  }
  const auto host = NormalizeHost(text.substr(0, colon));
  if (!host) {
    return Reject("invalid host in " + quoted +
                  ": use an IPv4 address, localhost, or nothing for all interfaces (" +
                  std::string(kExample) + ")");
  }
  return {*host + ":" + std::to_string(*port), ""};
}

}  // namespace config

std::optional<std::string> NormalizeListenAddress(std::string_view text) {
  auto check = config::CheckListenAddress(text);
  if (!check.error.empty()) return std::nullopt;
  return std::move(check.address);
}

}  // namespace pgconn
