// libFuzzer: TOML text -> Config. Any input must give a Config or a ConfigError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pgconn/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    pgconn::ParseConfig(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  } catch (const pgconn::ConfigError&) {
    // The expected outcome for bad input.
  }
  return 0;
}
