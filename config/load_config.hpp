// config/load_config.hpp — reading lake-server's TOML configuration file.
#pragma once

#include <string>

#include "server_config.hpp"

namespace lake::config {

// Reads `path` (TOML) over `config`: keys present in the file replace the defaults. Unknown
// keys, wrong types and values out of range are errors. Returns an empty string, or a message
// naming the file, the key and what is wrong.
std::string load_file(const std::string& path, ServerConfig& config);

// The same, from TOML text (for tests and for `--print-config` round trips).
std::string load_string(const std::string& toml, ServerConfig& config, const std::string& origin);

// Checks the settings against each other (e.g. the request view must hold the header limits).
// Returns an empty string or the first problem.
std::string validate(const ServerConfig& config);

}  // namespace lake::config
