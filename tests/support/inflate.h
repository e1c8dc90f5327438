// Decoding gzip as a single-member reader does (curl --compressed, Python's zlib with
// windowBits 31): zlib inflate with a gzip wrapper, which checks the CRC-32 and length.
#pragma once

#include <cstddef>
#include <string>

namespace pgconn::testing {

// The first member's text, or "inflate ..." on an error; `left` gets the bytes after it.
std::string InflateFirstMember(const std::string& compressed, size_t* left);

}  // namespace pgconn::testing
