// Names the calling thread, so `top -H`, `perf` and /proc/PID/task/*/comm tell the exporter's
// threads apart (civetweb names its own "civetweb-worker").
#pragma once

#include <pthread.h>

namespace pgconn {

// Linux keeps at most 15 characters; longer names are cut. Best effort: a failure is ignored.
inline void NameThisThread(const char* name) noexcept {
  char kept[16] = {};
  for (int i = 0; i < 15 && name[i] != '\0'; ++i) kept[i] = name[i];
  pthread_setname_np(pthread_self(), kept);
}

}  // namespace pgconn
