// Pure parsers over procfs text (see include/pgconn/procfs.h); no I/O here.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "pgconn/procfs.h"
#include "text_parse.h"

namespace pgconn {
namespace {

constexpr uint8_t kMaxTcpState = static_cast<uint8_t>(TcpState::kNewSynRecv);

bool IsMappedV4(const IpAddress& address) {
  return address[10] == 0xff && address[11] == 0xff &&
         std::all_of(address.begin(), address.begin() + 10, [](uint8_t byte) { return byte == 0; });
}

IpAddress MappedV4(const uint8_t (&bytes)[4]) {
  IpAddress address{};
  address[10] = 0xff;
  address[11] = 0xff;
  std::memcpy(address.data() + 12, bytes, 4);
  return address;
}

// One 32-bit word as printed by the kernel ("%08X" of the word in host order) -> its bytes.
std::optional<std::array<uint8_t, 4>> HexWord(std::string_view hex, ByteOrder order) {
  const auto value = text::ParseNumber<uint32_t>(hex, 16);
  if (!value || hex.size() != 8) return std::nullopt;
  std::array<uint8_t, 4> bytes{};
  for (int i = 0; i < 4; ++i) {
    const int shift = order == ByteOrder::kLittle ? 8 * i : 8 * (3 - i);
    bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(*value >> shift);
  }
  return bytes;
}

std::optional<IpAddress> HexAddress(std::string_view hex, ByteOrder order) {
  if (hex.size() == 8) {
    const auto word = HexWord(hex, order);
    if (!word) return std::nullopt;
    const uint8_t bytes[4] = {(*word)[0], (*word)[1], (*word)[2], (*word)[3]};
    return MappedV4(bytes);
  }
  if (hex.size() != 32) return std::nullopt;
  IpAddress address{};
  for (size_t i = 0; i < 4; ++i) {
    const auto word = HexWord(hex.substr(8 * i, 8), order);
    if (!word) return std::nullopt;
    std::memcpy(address.data() + 4 * i, word->data(), 4);
  }
  return address;
}

// "0100007F:1538": address in the kernel's words, port as a plain 16-bit number.
std::optional<SocketEndpoint> HexEndpoint(std::string_view token, ByteOrder order) {
  const size_t colon = token.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto address = HexAddress(token.substr(0, colon), order);
  const std::string_view port_hex = token.substr(colon + 1);
  const auto port = text::ParseNumber<uint16_t>(port_hex, 16);
  if (!address || !port || port_hex.size() != 4) return std::nullopt;
  return SocketEndpoint{*address, *port};
}

std::optional<TcpSocket> ParseTcpLine(std::string_view line, ByteOrder order) {
  const auto fields = text::Fields(line);
  if (fields.size() < 10 || fields[0].back() != ':') return std::nullopt;
  const auto local = HexEndpoint(fields[1], order);
  const auto remote = HexEndpoint(fields[2], order);
  const auto state = text::ParseNumber<uint8_t>(fields[3], 16);
  const auto inode = text::ParseNumber<uint64_t>(fields[9]);
  if (!local || !remote || !state || !inode || *state == 0 || *state > kMaxTcpState) {
    return std::nullopt;
  }
  return TcpSocket{*local, *remote, static_cast<TcpState>(*state), *inode};
}

// The single complete line of a /proc/sys file, split into fields.
std::optional<std::vector<std::string_view>> SingleLineFields(std::string_view text, size_t count) {
  bool truncated = false;
  const auto lines = text::Lines(text, &truncated);
  if (truncated || lines.size() != 1) return std::nullopt;
  auto fields = text::Fields(lines[0]);
  if (fields.size() != count) return std::nullopt;
  return fields;
}

std::optional<int64_t> NonNegative(std::string_view token) {
  const auto value = text::ParseNumber(token);
  if (!value || *value < 0) return std::nullopt;
  return value;
}

std::vector<std::string_view> SplitArgs(std::string_view raw) {
  std::vector<std::string_view> args;
  while (!raw.empty()) {
    const size_t end = raw.find('\0');
    args.push_back(raw.substr(0, end));
    if (end == std::string_view::npos) break;
    raw.remove_prefix(end + 1);
  }
  return args;
}

}  // namespace

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  const std::string copy(text);
  uint8_t v4[4];
  if (inet_pton(AF_INET, copy.c_str(), v4) == 1) return MappedV4(v4);
  IpAddress v6{};
  if (inet_pton(AF_INET6, copy.c_str(), v6.data()) == 1) return v6;
  return std::nullopt;
}

bool IsLoopback(const IpAddress& address) {
  static const IpAddress kV6Loopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return address == kV6Loopback || (IsMappedV4(address) && address[12] == 127);
}

std::string FormatIpAddress(const IpAddress& address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (IsMappedV4(address)) {
    inet_ntop(AF_INET, address.data() + 12, buffer, sizeof(buffer));
  } else {
    inet_ntop(AF_INET6, address.data(), buffer, sizeof(buffer));
  }
  return buffer;
}

std::string_view TcpStateName(TcpState state) {
  static constexpr std::string_view kNames[] = {
      "unknown", "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2",   "time_wait",
      "close",   "close_wait",  "last_ack", "listen",   "closing",   "new_syn_recv"};
  const auto index = static_cast<size_t>(state);
  return index < std::size(kNames) ? kNames[index] : "unknown";
}

ByteOrder NativeByteOrder() {
  const uint16_t probe = 1;
  uint8_t first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1 ? ByteOrder::kLittle : ByteOrder::kBig;
}

std::optional<std::vector<TcpSocket>> ParseNetTcp(std::string_view text, ByteOrder order) {
  bool truncated = false;
  const auto lines = text::Lines(text, &truncated);
  if (truncated || lines.empty()) return std::nullopt;
  const auto header = text::Fields(lines[0]);
  if (header.empty() || header[0] != "sl") return std::nullopt;
  std::vector<TcpSocket> sockets;
  sockets.reserve(lines.size() - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    auto socket = ParseTcpLine(lines[i], order);
    if (!socket) return std::nullopt;
    sockets.push_back(*socket);
  }
  return sockets;
}

std::optional<FileNr> ParseFileNr(std::string_view text) {
  const auto fields = SingleLineFields(text, 3);
  if (!fields) return std::nullopt;
  const auto allocated = NonNegative((*fields)[0]);
  const auto unused = NonNegative((*fields)[1]);
  const auto max = NonNegative((*fields)[2]);
  if (!allocated || !unused || !max || *unused > *allocated) return std::nullopt;
  return FileNr{*allocated, *unused, *max};
}

std::optional<int64_t> ParseFileMax(std::string_view text) {
  const auto fields = SingleLineFields(text, 1);
  return fields ? NonNegative((*fields)[0]) : std::nullopt;
}

std::optional<PortRange> ParsePortRange(std::string_view text) {
  const auto fields = SingleLineFields(text, 2);
  if (!fields) return std::nullopt;
  const auto low = NonNegative((*fields)[0]);
  const auto high = NonNegative((*fields)[1]);
  if (!low || !high || *low < 1 || *low > *high || *high > 65535) return std::nullopt;
  return PortRange{*low, *high};
}

std::optional<PostmasterPid> ParsePostmasterPid(std::string_view text) {
  bool truncated = false;
  const auto lines = text::Lines(text, &truncated);
  // Lines 1-4 (pid, data directory, start time, port) are written together at start-up.
  if (lines.size() < 4) return std::nullopt;
  PostmasterPid out;
  const auto pid = text::ParseNumber(lines[0]);
  const auto start = text::ParseNumber(lines[2]);
  const auto port = text::ParseNumber<int>(lines[3]);
  if (!pid || *pid <= 0 || !start || !port || *port < 1 || *port > 65535) return std::nullopt;
  if (lines[1].empty() || lines[1][0] != '/') return std::nullopt;
  out.pid = *pid;
  out.data_dir = std::string(lines[1]);
  out.start_time_unix = *start;
  out.port = *port;
  if (lines.size() > 4) out.socket_dir = std::string(lines[4]);
  if (lines.size() > 5) out.listen_address = std::string(lines[5]);
  return out;
}

std::optional<int64_t> ParsePidFile(std::string_view text) {
  const auto fields = text::Fields(text.substr(0, text.find('\n')));
  if (fields.size() != 1) return std::nullopt;
  const auto pid = text::ParseNumber(fields[0]);
  if (!pid || *pid <= 0) return std::nullopt;
  return pid;
}

std::optional<uint64_t> ParseSocketInode(std::string_view link_target) {
  constexpr std::string_view kPrefix = "socket:[";
  if (link_target.substr(0, kPrefix.size()) != kPrefix || link_target.back() != ']') {
    return std::nullopt;
  }
  return text::ParseNumber<uint64_t>(
      link_target.substr(kPrefix.size(), link_target.size() - kPrefix.size() - 1));
}

std::string ExeBasename(std::string_view link_target) {
  constexpr std::string_view kDeleted = " (deleted)";
  if (link_target.size() > kDeleted.size() &&
      link_target.substr(link_target.size() - kDeleted.size()) == kDeleted) {
    link_target.remove_suffix(kDeleted.size());
  }
  const size_t slash = link_target.rfind('/');
  return std::string(slash == std::string_view::npos ? link_target : link_target.substr(slash + 1));
}

std::string JoinCmdline(std::string_view raw) {
  while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  std::string line(raw);
  for (char& c : line) {
    if (c == '\0') c = ' ';
  }
  return line;
}

std::optional<std::string> CmdlineDataDir(std::string_view raw) {
  const auto args = SplitArgs(raw);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const bool next = i + 1 < args.size();
    if (arg == "-D" && next) return std::string(args[i + 1]);
    if (arg.size() > 2 && arg.substr(0, 2) == "-D") return std::string(arg.substr(2));
    for (std::string_view prefix : {"--data_directory=", "--data-directory=", "data_directory="}) {
      if (arg.substr(0, prefix.size()) != prefix) continue;
      // "data_directory=X" only counts as the value of a preceding -c.
      if (prefix[0] == 'd' && (i == 0 || args[i - 1] != "-c")) continue;
      return std::string(arg.substr(prefix.size()));
    }
  }
  return std::nullopt;
}

}  // namespace pgconn
