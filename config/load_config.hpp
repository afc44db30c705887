// config/load_config.hpp — reading lake-server's TOML configuration file.
#pragma once

#include <cstddef>
#include <string>

#include "server_config.hpp"

namespace lake::config {

// Reads `path` (TOML) over `config`: keys present in the file replace the defaults. Unknown
// keys, wrong types and values out of range are errors. Returns an empty string, or a message
// naming the file, the key and what is wrong.
std::string load_file(const std::string& path, ServerConfig& config);

// The same, from TOML text (for tests and for `--print-config` round trips).
std::string load_string(const std::string& toml, ServerConfig& config, const std::string& origin);

// Checks every setting, however it was set (file, command line, code): each integer against its
// range, server.name for control characters, and the settings against each other (e.g. the
// request view must hold the header limits). Returns an empty string or the first problem, naming
// the key and the allowed range.
std::string validate(const ServerConfig& config);

// The smallest response view: it must hold any error response the engine writes.
inline constexpr std::size_t kMinResponseView = 2048;
// The most memory one worker's receive-buffer ring may take.
inline constexpr std::size_t kMaxReceiveRing = std::size_t{256} << 20;

}  // namespace lake::config
