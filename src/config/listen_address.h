// Listen address validation with a reason, for config errors; NormalizeListenAddress wraps it.
#pragma once

#include <string>
#include <string_view>

namespace pgconn::config {

struct ListenAddressCheck {
  std::string address;  // normalized "IPv4:PORT" when error is empty
  std::string error;    // why the address was rejected, without the key name
};

ListenAddressCheck CheckListenAddress(std::string_view text);

}  // namespace pgconn::config
