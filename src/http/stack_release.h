// Hands a thread's idle stack pages back to the kernel. civetweb gives each new connection to
// the next of its 1,024 waiting workers, so over a few hours of scrapes every worker keeps
// the ~20 KiB of stack one request touched: 20 MiB that looks like a slow leak.
#pragma once

#include <cstddef>

namespace pgconn::http {

// Releases the calling thread's stack pages below the caller's frame (less a margin for the
// calls it makes meanwhile); a later call that goes deeper gets fresh zero pages. Returns the
// bytes released, 0 when the thread's stack bounds are unknown or nothing lies below.
size_t ReleaseStackBelowCaller() noexcept;

}  // namespace pgconn::http
