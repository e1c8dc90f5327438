// The pure /proc parsers against the fixture files: values exactly, and malformed or truncated
// input as an error, never a crash or a wrong number.
#include <gtest/gtest.h>

#include <string>

#include "pgconn/procfs.h"
#include "support/process.h"

namespace pgconn {
namespace {

const std::string kFixtures = std::string(PGCONN_FIXTURES_DIR) + "/";

std::string Fixture(const std::string& path) {
  const std::string text = testing::ReadFile(kFixtures + path);
  EXPECT_FALSE(text.empty()) << "missing fixture " << path;
  return text;
}

IpAddress Ip(const char* text) { return ParseIpAddress(text).value(); }

SocketEndpoint At(const char* address, uint16_t port) { return {Ip(address), port}; }

TEST(ProcfsIpTest, IPv4IsKeptIPv4MappedSoBothStacksCompareEqual) {
  EXPECT_EQ(Ip("127.0.0.1"), Ip("::ffff:127.0.0.1"));
  EXPECT_NE(Ip("127.0.0.1"), Ip("::1"));
  EXPECT_TRUE(IsLoopback(Ip("127.0.0.1")));
  EXPECT_TRUE(IsLoopback(Ip("127.8.9.10")));
  EXPECT_TRUE(IsLoopback(Ip("::1")));
  EXPECT_TRUE(IsLoopback(Ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(IsLoopback(Ip("10.0.0.7")));
  EXPECT_FALSE(IsLoopback(Ip("::2")));
  EXPECT_FALSE(ParseIpAddress("localhost"));
  EXPECT_FALSE(ParseIpAddress("127.0.0.1:5432"));
  EXPECT_EQ(FormatIpAddress(Ip("::ffff:10.0.0.7")), "10.0.0.7");
  EXPECT_EQ(FormatIpAddress(Ip("fe80::1")), "fe80::1");
}

TEST(ProcfsNetTcpTest, ReadsIPv4SocketsInTheKernelsLittleEndianWords) {
  const auto sockets = ParseNetTcp(Fixture("proc/net/tcp"), ByteOrder::kLittle);
  ASSERT_TRUE(sockets);
  ASSERT_EQ(sockets->size(), 9u);
  const TcpSocket& listen = (*sockets)[0];
  EXPECT_EQ(listen.local, At("127.0.0.1", 5432));
  EXPECT_EQ(listen.remote, At("0.0.0.0", 0));
  EXPECT_EQ(listen.state, TcpState::kListen);
  EXPECT_EQ(listen.inode, 5000u);
  const TcpSocket& client = (*sockets)[1];
  EXPECT_EQ(client.local, At("127.0.0.1", 40001));
  EXPECT_EQ(client.remote, At("127.0.0.1", 5432));
  EXPECT_EQ(client.state, TcpState::kEstablished);
  EXPECT_EQ(client.inode, 6001u);
  EXPECT_EQ((*sockets)[3].state, TcpState::kCloseWait);
  EXPECT_EQ((*sockets)[4].local, At("10.0.0.5", 40004));
  EXPECT_EQ((*sockets)[4].remote, At("10.0.0.7", 5432));
  EXPECT_EQ((*sockets)[4].state, TcpState::kSynSent);
  EXPECT_EQ((*sockets)[7].state, TcpState::kTimeWait);
  EXPECT_EQ((*sockets)[7].inode, 0u);  // a TIME_WAIT socket belongs to no process
}

TEST(ProcfsNetTcpTest, ReadsIPv6AndIPv4MappedSockets) {
  const auto sockets = ParseNetTcp(Fixture("proc/net/tcp6"), ByteOrder::kLittle);
  ASSERT_TRUE(sockets);
  ASSERT_EQ(sockets->size(), 3u);
  EXPECT_EQ((*sockets)[0].local, At("::1", 5432));
  EXPECT_EQ((*sockets)[0].state, TcpState::kListen);
  EXPECT_EQ((*sockets)[1].remote, At("127.0.0.1", 5432));  // ::ffff:127.0.0.1
  EXPECT_EQ((*sockets)[1].local, At("::ffff:127.0.0.1", 40005));
  EXPECT_EQ((*sockets)[2].remote, At("::1", 5432));
  EXPECT_EQ((*sockets)[2].inode, 6020u);
}

TEST(ProcfsNetTcpTest, BigEndianKernelsWriteTheWordsTheOtherWayRound) {
  const auto little = ParseNetTcp(Fixture("proc/net/tcp6"), ByteOrder::kLittle);
  const auto big = ParseNetTcp(Fixture("proc-bigendian/net/tcp6"), ByteOrder::kBig);
  ASSERT_TRUE(little && big);
  ASSERT_EQ(big->size(), little->size());
  for (size_t i = 0; i < big->size(); ++i) {
    EXPECT_EQ((*big)[i].local, (*little)[i].local) << i;
    EXPECT_EQ((*big)[i].remote, (*little)[i].remote) << i;
  }
  const auto big_v4 = ParseNetTcp(Fixture("proc-bigendian/net/tcp"), ByteOrder::kBig);
  ASSERT_TRUE(big_v4);
  EXPECT_EQ((*big_v4)[4].remote, At("10.0.0.7", 5432));
  // Read in the wrong order, ::1 is not ::1: the order is not guessed.
  const auto wrong = ParseNetTcp(Fixture("proc/net/tcp6"), ByteOrder::kBig);
  ASSERT_TRUE(wrong);
  EXPECT_NE((*wrong)[2].remote, At("::1", 5432));
  EXPECT_EQ(NativeByteOrder(), ByteOrder::kLittle) << "fixtures in proc/ assume little-endian";
}

TEST(ProcfsNetTcpTest, MalformedLinesAreAnError) {
  const std::string header =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n";
  const std::string good =
      "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104 "
      "       0 5000 1 0000000000000000 20 4 30 10 -1\n";
  EXPECT_TRUE(ParseNetTcp(header + good));
  EXPECT_TRUE(ParseNetTcp(header)->empty());  // no sockets at all is fine
  EXPECT_FALSE(ParseNetTcp(""));
  EXPECT_FALSE(ParseNetTcp(good));  // no header
  auto with = [&](const std::string& from, const std::string& to) {
    std::string line = good;
    line.replace(line.find(from), from.size(), to);
    return ParseNetTcp(header + line);
  };
  EXPECT_FALSE(with("0100007F:1538", "100007F:1538"));   // 7 hex digits
  EXPECT_FALSE(with("0100007F:1538", "0100007G:1538"));  // not hex
  EXPECT_FALSE(with("0100007F:1538", "0100007F:15380"));
  EXPECT_FALSE(with("0100007F:1538", "0100007F"));  // no port
  EXPECT_FALSE(with(" 0A ", " 00 "));               // no such state
  EXPECT_FALSE(with(" 0A ", " 0D "));
  EXPECT_FALSE(with(" 5000 ", " 5x00 "));  // inode
  EXPECT_FALSE(with("   0:", "   0"));
  EXPECT_FALSE(ParseNetTcp(header + good.substr(0, 40) + "\n"));  // too few fields
  EXPECT_FALSE(ParseNetTcp(Fixture("proc-malformed/net/tcp")));
}

TEST(ProcfsNetTcpTest, EveryTruncationIsAnErrorOrAPrefixOfTheTruth) {
  const std::string text = Fixture("proc/net/tcp");
  const auto full = ParseNetTcp(text, ByteOrder::kLittle);
  ASSERT_TRUE(full);
  for (size_t cut = 0; cut < text.size(); ++cut) {
    const auto parsed = ParseNetTcp(text.substr(0, cut), ByteOrder::kLittle);
    if (!parsed) continue;
    ASSERT_EQ(text[cut - 1], '\n') << "parsed a line cut at " << cut;
    ASSERT_LT(parsed->size(), full->size());
    for (size_t i = 0; i < parsed->size(); ++i) {
      EXPECT_EQ((*parsed)[i].inode, (*full)[i].inode) << "cut " << cut;
      EXPECT_EQ((*parsed)[i].remote, (*full)[i].remote) << "cut " << cut;
    }
  }
}

TEST(ProcfsLimitsTest, SoftAndHardLimitsUnlimitedIncluded) {
  const auto node = ParseOpenFilesLimit(Fixture("proc/200/limits"));
  ASSERT_TRUE(node);
  EXPECT_EQ(node->soft, 1024);
  EXPECT_EQ(node->hard, 4096);
  const auto bash = ParseOpenFilesLimit(Fixture("proc/300/limits"));
  ASSERT_TRUE(bash);
  EXPECT_FALSE(bash->soft);  // unlimited
  EXPECT_FALSE(bash->hard);
  EXPECT_EQ(ParseMaxOpenFiles(Fixture("proc/201/limits")), 256);
}

TEST(ProcfsLimitsTest, MalformedOrTruncatedIsAnError) {
  EXPECT_FALSE(ParseOpenFilesLimit(Fixture("proc-malformed/200/limits")));
  EXPECT_FALSE(ParseOpenFilesLimit("Max open files            1024                 4096\n"));
  EXPECT_FALSE(ParseOpenFilesLimit("Max open files            1024   -1   files\n"));
  EXPECT_FALSE(ParseOpenFilesLimit("Max open files            1k     4096 files\n"));
  EXPECT_FALSE(ParseOpenFilesLimit("Max cpu time              unlimited unlimited seconds\n"));
  EXPECT_FALSE(ParseOpenFilesLimit(""));
  // Cut inside the number: "102" of "1024" would be a wrong number.
  EXPECT_FALSE(ParseOpenFilesLimit("Max open files            102"));
}

TEST(ProcfsHostFilesTest, FileNrFileMaxAndPortRange) {
  const auto file_nr = ParseFileNr(Fixture("proc/sys/fs/file-nr"));
  ASSERT_TRUE(file_nr);
  EXPECT_EQ(file_nr->allocated, 5344);
  EXPECT_EQ(file_nr->unused, 0);
  EXPECT_EQ(file_nr->max, 1000000);
  EXPECT_EQ(ParseFileMax(Fixture("proc/sys/fs/file-max")), 1000000);
  EXPECT_EQ(ParseFileMax("9223372036854775807\n"), INT64_MAX);
  const auto range = ParsePortRange(Fixture("proc/sys/net/ipv4/ip_local_port_range"));
  ASSERT_TRUE(range);
  EXPECT_EQ(range->low, 32768);
  EXPECT_EQ(range->high, 60999);
  EXPECT_EQ(range->size(), 28232);
  EXPECT_EQ(ParsePortRange("1024 1024\n")->size(), 1);
}

TEST(ProcfsHostFilesTest, MalformedOrTruncatedIsAnError) {
  EXPECT_FALSE(ParseFileNr(Fixture("proc-malformed/sys/fs/file-nr")));
  EXPECT_FALSE(ParseFileNr("5344\t0\t1000000"));  // cut before the newline: maybe "10000000"
  EXPECT_FALSE(ParseFileNr("5344\t0\t1000000\t7\n"));
  EXPECT_FALSE(ParseFileNr("5344\t6000\t1000000\n"));  // more unused than allocated
  EXPECT_FALSE(ParseFileNr("-1\t0\t1000000\n"));
  EXPECT_FALSE(ParseFileMax(Fixture("proc-malformed/sys/fs/file-max")));
  EXPECT_FALSE(ParseFileMax("99999999999999999999\n"));  // beyond int64
  EXPECT_FALSE(ParsePortRange(Fixture("proc-malformed/sys/net/ipv4/ip_local_port_range")));
  EXPECT_FALSE(ParsePortRange("32768\n"));
  EXPECT_FALSE(ParsePortRange("0\t100\n"));
  EXPECT_FALSE(ParsePortRange("1024\t70000\n"));
  EXPECT_FALSE(ParsePortRange("32768\t6099"));
}

TEST(ProcfsPostmasterPidTest, ReadsTheLinesPostgresWritesAtStartup) {
  const auto lock = ParsePostmasterPid(Fixture("pgdata/postmaster.pid"));
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->pid, 100);
  EXPECT_EQ(lock->data_dir, "/nonexistent/pgconn-fixture/data");
  EXPECT_EQ(lock->start_time_unix, 1700000000);
  EXPECT_EQ(lock->port, 5432);
  EXPECT_EQ(lock->socket_dir, "/var/run/postgresql");
  EXPECT_EQ(lock->listen_address, "localhost");
}

TEST(ProcfsPostmasterPidTest, TruncatedIsAnErrorUntilThePortLineIsComplete) {
  const std::string text = Fixture("pgdata/postmaster.pid");
  size_t port_line_end = 0;
  for (int line = 0; line < 4; ++line) port_line_end = text.find('\n', port_line_end) + 1;
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    const auto lock = ParsePostmasterPid(text.substr(0, cut));
    if (cut < port_line_end) {
      EXPECT_FALSE(lock) << "cut at " << cut;
    } else {
      ASSERT_TRUE(lock) << "cut at " << cut;
      EXPECT_EQ(lock->pid, 100);
      EXPECT_EQ(lock->port, 5432);
    }
  }
  EXPECT_FALSE(ParsePostmasterPid("0\n/data\n1700000000\n5432\n"));
  EXPECT_FALSE(ParsePostmasterPid("100\nrelative/data\n1700000000\n5432\n"));
  EXPECT_FALSE(ParsePostmasterPid("100\n/data\n1700000000\n70000\n"));
  EXPECT_FALSE(ParsePostmasterPid("100\n/data\nyesterday\n5432\n"));
}

TEST(ProcfsSmallFilesTest, PidFilesSocketLinksExeAndCmdline) {
  EXPECT_EQ(ParsePidFile(Fixture("pgdata/web.pid")), 200);
  EXPECT_EQ(ParsePidFile("4242"), 4242);  // many daemons write no newline
  EXPECT_EQ(ParsePidFile(" 4242 \nextra\n"), 4242);
  EXPECT_FALSE(ParsePidFile(""));
  EXPECT_FALSE(ParsePidFile("0\n"));
  EXPECT_FALSE(ParsePidFile("-3\n"));
  EXPECT_FALSE(ParsePidFile("12 13\n"));
  EXPECT_FALSE(ParsePidFile("pid\n"));

  EXPECT_EQ(ParseSocketInode("socket:[6001]"), 6001u);
  EXPECT_FALSE(ParseSocketInode("socket:[]"));
  EXPECT_FALSE(ParseSocketInode("socket:[60"));
  EXPECT_FALSE(ParseSocketInode("socket:[6a]"));
  EXPECT_FALSE(ParseSocketInode("pipe:[7777]"));
  EXPECT_FALSE(ParseSocketInode("/srv/web/socket:[1]"));

  EXPECT_EQ(ExeBasename("/usr/bin/node"), "node");
  EXPECT_EQ(ExeBasename("/usr/bin/node (deleted)"), "node");  // upgraded under a running app
  EXPECT_EQ(ExeBasename("node"), "node");

  const std::string cmdline = Fixture("proc/100/cmdline");
  EXPECT_EQ(JoinCmdline(cmdline),
            "/usr/lib/postgresql/15/bin/postgres -D /nonexistent/pgconn-fixture/data -c "
            "config_file=/etc/postgresql/15/main/postgresql.conf");
  EXPECT_EQ(CmdlineDataDir(cmdline), "/nonexistent/pgconn-fixture/data");
  EXPECT_EQ(CmdlineDataDir(std::string("postgres\0-D/srv/pg\0", 19)), "/srv/pg");
  EXPECT_EQ(CmdlineDataDir(std::string("postgres\0-c\0data_directory=/d\0", 30)), "/d");
  EXPECT_EQ(CmdlineDataDir(std::string("postgres\0--data_directory=/e\0", 29)), "/e");
  EXPECT_FALSE(CmdlineDataDir(std::string("postgres\0data_directory=/f\0", 27)));
  EXPECT_FALSE(CmdlineDataDir(Fixture("proc/101/cmdline")));  // a retitled child
}

TEST(ProcfsStatTest, CommAndParentPid) {
  const auto stat = ParseProcStat(Fixture("proc/201/stat"));
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->comm, "node");
  EXPECT_EQ(stat->ppid, 200);
  const auto odd = ParseProcStat(
      "7 (a) b (c)) S 3 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 99 1000 10 0 0 0 0 0 0 0 0 0 0 0");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->comm, "a) b (c)");
  EXPECT_EQ(odd->ppid, 3);
  EXPECT_EQ(TcpStateName(TcpState::kCloseWait), "close_wait");
  EXPECT_EQ(TcpStateName(TcpState::kNewSynRecv), "new_syn_recv");
}

}  // namespace
}  // namespace pgconn
