// ParseConfig / LoadConfigFile, and the registry of what the config file may contain.
#include "pgconn/config.h"

#include <string>
#include <string_view>

#include "pool_section.h"
#include "read_file.h"
#include "sections.h"
#include "text_guard.h"
#include "toml_reader.h"

namespace pgconn {
namespace config {
namespace {

constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;

// Every module that owns keys of [exporter] adds its reader here.
constexpr ExporterKeysReader kExporterKeyReaders[] = {
    ReadExporterCoreKeys,
    ReadExporterShardKey,
    ReadExporterProcfsKey,
};

void ReadExporterSection(const toml::node& node, const ConfigSource& source, Config& out) {
  ReadTable(node, "exporter", source, [&](TableReader& exporter) {
    for (const ExporterKeysReader read : kExporterKeyReaders) read(exporter, out.exporter);
  });
}

struct SectionSpec {
  std::string_view name;  // top-level key: [name] or [[name]]
  SectionReader read;
  std::string_view missing_error;  // empty when the section is optional
};

// THE list of top-level sections; anything else in the file is an error. Read in this
// order, so [[pool]] and [[process]] (after target) can check their target references.
// clang-format off
constexpr SectionSpec kSections[] = {
    {"exporter", ReadExporterSection, ""},
    {"target", ReadTargetSections, kNoTargets},
    {"pool", ReadPoolSections, ""},
    {"process", ReadProcessSections, ""},
    {"pgbouncer", ReadPgbouncerSections, ""},
};
// clang-format on

const SectionSpec* FindSection(std::string_view name) {
  for (const SectionSpec& section : kSections) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

void RejectUnknownSections(const toml::table& root, const ConfigSource& source) {
  for (const auto& [key, node] : root) {
    if (FindSection(key.str())) continue;
    const std::string name(key.str());
    if (node.is_table()) source.Fail(node.source().begin, "unknown table [" + name + "]");
    if (node.is_array_of_tables()) {
      source.Fail(node.source().begin, "unknown table [[" + name + "]]");
    }
    source.Fail(key.source().begin, "unknown top-level key '" + name +
                                        "' (settings belong under a table such as [exporter])");
  }
}

toml::table ParseToml(std::string_view text, const ConfigSource& source) {
  try {
    return toml::parse(text, std::string_view(source.path()));
  } catch (const toml::parse_error& error) {
    source.Fail(error.source().begin, config::Escaped(error.description()));
  }
}

}  // namespace
}  // namespace config

Config ParseConfig(std::string_view toml_text, const std::string& source_path) {
  return ParseConfig(toml_text, source_path, LoadOptions{});
}

Config ParseConfig(std::string_view toml_text, const std::string& source_path,
                   const LoadOptions& options) {
  const config::ConfigSource source(source_path, options.secrets_optional);
  config::CheckConfigText(toml_text, source);  // before toml++: it can crash on deep nesting
  const toml::table root = config::ParseToml(toml_text, source);
  config::RejectUnknownSections(root, source);
  Config out;
  out.source_path = source_path;
  for (const config::SectionSpec& section : config::kSections) {
    if (const toml::node* node = root.get(section.name)) {
      section.read(*node, source, out);
    } else if (!section.missing_error.empty()) {
      source.Fail({1, 1}, section.missing_error);
    }
  }
  const auto& risky = source.warnings();  // appended after the sections' own warnings
  out.warnings.insert(out.warnings.end(), risky.begin(), risky.end());
  return out;
}

Config LoadConfigFile(const std::string& path) { return LoadConfigFile(path, LoadOptions{}); }

Config LoadConfigFile(const std::string& path, const LoadOptions& options) {
  std::string error;
  const auto text = config::ReadSmallFile(path, config::kMaxConfigBytes, &error);
  if (!text) throw ConfigError(path + ": cannot read: " + error);
  return ParseConfig(*text, path, options);
}

}  // namespace pgconn
