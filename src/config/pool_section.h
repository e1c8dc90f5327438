// [[pool]] and the [[target]] reserve key (capacity planning); see src/config/pool_section.cpp.
#pragma once

#include <toml++/toml.h>

#include "pgconn/config.h"
#include "toml_reader.h"

namespace pgconn::config {

// Reads every [[pool]] and attaches it to its target; registered after "target".
void ReadPoolSections(const toml::node& node, const ConfigSource& source, Config& out);

// Reads [[target]] reserve: an integer (connections), "20%", or "10 + 20%".
void ReadReserveKey(TableReader& target, ReserveConfig& out);

}  // namespace pgconn::config
