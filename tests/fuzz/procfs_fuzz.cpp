// libFuzzer: the /proc parsers (files a hostile or odd kernel/container could hand us).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pgconn/procfs.h"
#include "pgconn/self_process.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)pgconn::ParseNetTcp(text, pgconn::ByteOrder::kLittle);
  (void)pgconn::ParseNetTcp(text, pgconn::ByteOrder::kBig);
  (void)pgconn::ParseFileNr(text);
  (void)pgconn::ParseFileMax(text);
  (void)pgconn::ParsePortRange(text);
  (void)pgconn::ParsePostmasterPid(text);
  (void)pgconn::ParsePidFile(text);
  (void)pgconn::ParseSocketInode(text);
  (void)pgconn::ParseIpAddress(text);
  (void)pgconn::ParseProcStat(text);
  (void)pgconn::ParseBootTime(text);
  (void)pgconn::ParseMaxOpenFiles(text);
  (void)pgconn::ParseOpenFilesLimit(text);
  return 0;
}
