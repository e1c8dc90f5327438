// Where each target's server is: from its DSN (pure), and host names resolved (I/O).
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "pgconn/process_scan.h"
#include "process_scan_internal.h"
#include "text_parse.h"

namespace pgconn {
namespace {

constexpr const char* kDefaultPort = "5432";

bool IsSocketDirectory(const std::string& host) {
  return host.empty() || host[0] == '/' || host[0] == '@';
}

// Adds one DSN host to `out`; false when its port or address is not valid.
bool AddHost(const DsnHost& entry, const std::string& default_host, const std::string& default_port,
             TargetLocation& out) {
  const std::string port_text =
      !entry.port.empty() ? entry.port : (!default_port.empty() ? default_port : kDefaultPort);
  const auto port = text::ParseNumber<uint16_t>(port_text);
  if (!port || *port == 0) return false;
  if (out.endpoints.empty() && out.names.empty() && !out.unix_socket) out.port = *port;
  if (!entry.hostaddr.empty()) {
    const auto address = ParseIpAddress(entry.hostaddr);
    if (address) out.endpoints.push_back({*address, *port});
    return address.has_value();
  }
  const std::string host = entry.host.empty() ? default_host : entry.host;
  if (IsSocketDirectory(host)) {
    out.unix_socket = true;
  } else if (host == "localhost") {
    out.endpoints.push_back({*ParseIpAddress("127.0.0.1"), *port});
    out.endpoints.push_back({*ParseIpAddress("::1"), *port});
  } else if (const auto address = ParseIpAddress(host)) {
    out.endpoints.push_back({*address, *port});
  } else {
    out.names.emplace_back(host, *port);
  }
  return true;
}

IpAddress AddressOf(const addrinfo& info) {
  IpAddress out{};
  if (info.ai_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, info.ai_addr, sizeof(v4));
    out[10] = out[11] = 0xff;  // IPv4-mapped, as IpAddress keeps every IPv4 address
    std::memcpy(out.data() + 12, &v4.sin_addr, 4);
  } else if (info.ai_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, info.ai_addr, sizeof(v6));
    std::memcpy(out.data(), &v6.sin6_addr, 16);
  }
  return out;
}

struct AddrinfoFree {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};

}  // namespace

std::string LocalServerGroupName(const std::string& target) { return "postgres:" + target; }

std::optional<TargetLocation> LocateTarget(const std::string& target,
                                           const std::vector<DsnHost>& hosts,
                                           const std::string& default_host,
                                           const std::string& default_port) {
  TargetLocation out;
  out.target = target;
  for (const DsnHost& entry : hosts) {
    if (!AddHost(entry, default_host, default_port, out)) return std::nullopt;
  }
  return out;
}

bool IsLocal(const TargetLocation& location) {
  if (!location.names.empty()) return false;
  if (!location.unix_socket && location.endpoints.empty()) return false;
  return std::all_of(location.endpoints.begin(), location.endpoints.end(),
                     [](const SocketEndpoint& endpoint) { return IsLoopback(endpoint.address); });
}

namespace procscan {

TargetLocation ResolveNames(const TargetLocation& location, std::vector<ScanProblem>& problems) {
  TargetLocation out = location;
  out.names.clear();
  for (const auto& [name, port] : location.names) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* raw = nullptr;
    if (getaddrinfo(name.c_str(), nullptr, &hints, &raw) != 0) {
      problems.push_back({"", ReadStatus::kError, "resolving " + name});
      out.names.emplace_back(name, port);  // unresolved: the target cannot count as local
      continue;
    }
    const std::unique_ptr<addrinfo, AddrinfoFree> list(raw);
    for (const addrinfo* info = raw; info; info = info->ai_next) {
      if (info->ai_family == AF_INET || info->ai_family == AF_INET6) {
        out.endpoints.push_back({AddressOf(*info), port});
      }
    }
  }
  return out;
}

}  // namespace procscan
}  // namespace pgconn
