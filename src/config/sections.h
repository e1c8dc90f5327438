// Readers for the parts of the config file; they are registered in src/config/config.cpp.
#pragma once

#include <toml++/toml.h>

#include <map>
#include <string>

#include "pgconn/config.h"
#include "toml_reader.h"

namespace pgconn::config {

// Reads one top-level entry (a [name] table or a [[name]] array) into `out`. Sections are
// read in registration order, so a later one can check references to an earlier one.
using SectionReader = void (*)(const toml::node& node, const ConfigSource& source, Config& out);

// Reads some keys of [exporter]; several modules share that table (procfs, shard, ...).
// Runs only when [exporter] is present, so defaults belong in ExporterConfig itself.
using ExporterKeysReader = void (*)(TableReader& exporter, ExporterConfig& out);

void ReadExporterCoreKeys(TableReader& exporter, ExporterConfig& out);
void ReadExporterShardKey(TableReader& exporter, ExporterConfig& out);  // shard = "i/n"
// Why `path` cannot be the telemetry path, or "" (shared with --web.telemetry-path).
std::string TelemetryPathError(const std::string& path);
// Shared with config.cpp, which reports a missing [[target]] the same way.
inline constexpr std::string_view kNoTargets =
    "no [[target]] defined: at least one target is required";
void ReadTargetSections(const toml::node& node, const ConfigSource& source, Config& out);

// [[pgbouncer]]: src/config/pgbouncer_section.cpp; ReadConsoleKeys lives in target_section.cpp.
void ReadConsoleKeys(TableReader& table, std::map<std::string, unsigned>& first_lines,
                     TargetConfig& out);
void ReadPgbouncerSections(const toml::node& node, const ConfigSource& source, Config& out);

// [exporter] procfs and [[process]]: src/config/process_section.cpp.
void ReadExporterProcfsKey(TableReader& exporter, ExporterConfig& out);
void ReadProcessSections(const toml::node& node, const ConfigSource& source, Config& out);

}  // namespace pgconn::config
