// The HTTP endpoint's own state, as plain data (read at scrape time).
#pragma once

#include <cstdint>
#include <map>

#include "pgconn/render.h"

namespace pgconn {

struct HttpStats {
  int workers = 0;                   // civetweb worker threads
  int64_t connections_open = 0;      // accepted and held by a worker
  int64_t connections_in_use = 0;    // a response is being built or written
  std::map<int, uint64_t> requests;  // by status code
  uint64_t fd_exhausted_total = 0;   // times the descriptor table was found full
  int fd_reserve = 0;                // spare descriptors held for the listener
};

Families MapHttpStats(const HttpStats& stats);

}  // namespace pgconn
