// handlers/plugin_config.hpp — a plugin's own settings: its table in the configuration file,
//
//   [plugins.api]                    # NAME: "api"
//   path = "/usr/lib/lake/libapi.so" # required
//   argument = "..."                 # optional, as "path.so:argument" on the command line
//   greeting = "hi"                  # any keys of its own: strings, integers, floats,
//   retries = 3                      # booleans and arrays of strings
//
// or just a path and an argument when it came from `--plugin path.so[:argument]`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace lake::handlers {

struct PluginConfig {
    using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;

    std::string name;      // the table's NAME, or the file name for --plugin
    std::string path;      // the shared library
    std::string argument;  // "" when none
    std::map<std::string, Value, std::less<>> settings;  // every other key of the table

    // The setting `key` if it is there and of type T (bool, std::int64_t, double, std::string,
    // std::vector<std::string>; an integer also reads as a double), else nullopt.
    template <typename T>
    std::optional<T> get(std::string_view key) const {
        const auto it = settings.find(key);
        if (it == settings.end()) return std::nullopt;
        if (const T* v = std::get_if<T>(&it->second)) return *v;
        if constexpr (std::is_same_v<T, double>)
            if (const auto* i = std::get_if<std::int64_t>(&it->second))
                return static_cast<double>(*i);
        return std::nullopt;
    }
    template <typename T>
    T get_or(std::string_view key, T fallback) const {
        return get<T>(key).value_or(std::move(fallback));
    }
};

// "path.so" or "path.so:argument", as given to --plugin or in [plugins] load; the name is the
// file name without its directory, "lib" prefix and extension (libapi_example.so: api_example).
inline PluginConfig plugin_from_spec(const std::string& spec) {
    PluginConfig p;
    const std::size_t colon = spec.find(':');
    p.path = spec.substr(0, colon);
    p.argument = colon == std::string::npos ? "" : spec.substr(colon + 1);
    std::string name = p.path.substr(p.path.rfind('/') + 1);
    if (name.rfind("lib", 0) == 0) name.erase(0, 3);
    p.name = name.substr(0, name.find('.'));
    return p;
}

}  // namespace lake::handlers
