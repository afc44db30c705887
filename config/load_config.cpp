#include "load_config.hpp"

#include <toml++/toml.h>

#include <functional>
#include <map>

namespace lake::config {

namespace {

// Every accepted key, with the code that reads it into ServerConfig.
using Reader = std::function<std::string(const toml::node&, ServerConfig&)>;

template <class T>
Reader integer(T ServerConfig::*field, long long min, long long max) {
    return [=](const toml::node& n, ServerConfig& c) -> std::string {
        const auto v = n.value<long long>();
        if (!n.is_integer() || !v) return "must be an integer";
        if (*v < min || *v > max)
            return "must be between " + std::to_string(min) + " and " + std::to_string(max);
        c.*field = static_cast<T>(*v);
        return {};
    };
}

Reader text(std::string ServerConfig::*field) {
    return [=](const toml::node& n, ServerConfig& c) -> std::string {
        if (!n.is_string()) return "must be a string";
        c.*field = *n.value<std::string>();
        return {};
    };
}

Reader boolean(bool ServerConfig::*field) {
    return [=](const toml::node& n, ServerConfig& c) -> std::string {
        if (!n.is_boolean()) return "must be true or false";
        c.*field = *n.value<bool>();
        return {};
    };
}

Reader text_list(std::vector<std::string> ServerConfig::*field) {
    return [=](const toml::node& n, ServerConfig& c) -> std::string {
        const toml::array* a = n.as_array();
        if (a == nullptr) return "must be an array of strings";
        std::vector<std::string> out;
        for (const toml::node& item : *a) {
            if (!item.is_string()) return "must be an array of strings";
            out.push_back(*item.value<std::string>());
        }
        c.*field = std::move(out);
        return {};
    };
}

const std::map<std::string, Reader>& readers() {
    constexpr long long kMiB = 1024 * 1024;
    static const std::map<std::string, Reader> r = {
        {"server.host", text(&ServerConfig::host)},
        {"server.port", integer(&ServerConfig::port, 0, 65535)},
        {"server.workers", integer(&ServerConfig::workers, 0, 1024)},
        {"server.pin_workers", boolean(&ServerConfig::pin_workers)},
        {"server.steer_by_cpu", boolean(&ServerConfig::steer_by_cpu)},
        {"server.name", text(&ServerConfig::server_name)},
        {"connections.max_per_worker",
         integer(&ServerConfig::max_connections_per_worker, 1, 1 << 20)},
        {"connections.arena", integer(&ServerConfig::connection_arena, 4096, 64 * kMiB)},
        {"connections.request_view", integer(&ServerConfig::request_view, 2048, 64 * kMiB)},
        {"limits.max_target", integer(&ServerConfig::max_target, 16, 64 * kMiB)},
        {"limits.max_header_bytes", integer(&ServerConfig::max_header_bytes, 64, 64 * kMiB)},
        {"limits.max_headers", integer(&ServerConfig::max_headers, 1, 4096)},
        {"limits.max_body", integer(&ServerConfig::max_body, 0, 1024 * kMiB)},
        {"limits.large_buffers_per_worker",
         integer(&ServerConfig::large_buffers_per_worker, 0, 4096)},
        {"io.recv_buffers", integer(&ServerConfig::recv_buffers, 1, 32768)},
        {"io.recv_buffer_size", integer(&ServerConfig::recv_buffer_size, 256, kMiB)},
        {"io.ring_entries", integer(&ServerConfig::ring_entries, 8, 32768)},
        {"timeouts.header", integer(&ServerConfig::header_timeout_s, 1, 3600)},
        {"timeouts.keepalive", integer(&ServerConfig::keepalive_timeout_s, 1, 86400)},
        {"timeouts.send", integer(&ServerConfig::send_timeout_s, 1, 3600)},
        {"timeouts.linger", integer(&ServerConfig::linger_timeout_s, 0, 60)},
        {"timeouts.idle_release", integer(&ServerConfig::idle_release_s, 1, 86400)},
        {"plugins.load", text_list(&ServerConfig::plugins)},
    };
    return r;
}

std::string apply(const toml::table& root, ServerConfig& config, const std::string& origin) {
    for (const auto& [section, node] : root) {
        const toml::table* t = node.as_table();
        if (t == nullptr)
            return origin + ": '" + std::string(section.str()) + "' must be a [section]";
        for (const auto& [key, value] : *t) {
            const std::string name = std::string(section.str()) + "." + std::string(key.str());
            const auto it = readers().find(name);
            if (it == readers().end()) return origin + ": unknown setting '" + name + "'";
            if (std::string err = it->second(value, config); !err.empty())
                return origin + ": '" + name + "' " + err;
        }
    }
    return validate(config).empty() ? std::string() : origin + ": " + validate(config);
}

}  // namespace

std::string load_string(const std::string& text, ServerConfig& config, const std::string& origin) {
    try {
        return apply(toml::parse(text, origin), config, origin);
    } catch (const toml::parse_error& e) {
        return origin + ":" + std::to_string(e.source().begin.line) + ": " +
               std::string(e.description());
    }
}

std::string load_file(const std::string& path, ServerConfig& config) {
    try {
        return apply(toml::parse_file(path), config, path);
    } catch (const toml::parse_error& e) {
        return path + ":" + std::to_string(e.source().begin.line) + ": " +
               std::string(e.description());
    }
}

std::string validate(const ServerConfig& c) {
    if ((c.recv_buffers & (c.recv_buffers - 1)) != 0)
        return "io.recv_buffers must be a power of two";
    if (c.request_view >= c.connection_arena)
        return "connections.request_view must be smaller than connections.arena (the rest "
               "holds responses)";
    const std::size_t needed = c.max_target + c.max_header_bytes + c.max_headers * 32 + 1024;
    if (c.request_view < needed)
        return "connections.request_view (" + std::to_string(c.request_view) +
               ") cannot hold a request at the header limits; it needs at least " +
               std::to_string(needed) + " bytes";
    return {};
}

}  // namespace lake::config
