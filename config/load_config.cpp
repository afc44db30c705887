#include "load_config.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>

#include "../handlers/header_rules.hpp"

namespace lake::config {

namespace {

// 0.5 -> "0.5", 60 -> "60": the shortest form that reads back the same.
std::string seconds(double s) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof(buf), s).ptr);
}

// Why `path` can never be the start of a request's path as the router compares it, or "": each
// byte must be one a request path may hold (RFC 3986 pchar: letters, digits, -._~!$&'()*+,;=:@
// and %XX escapes, between slashes), and the path must be in the normal form requests are routed
// in (no empty, "." or ".." segment). A prefix outside it serves nothing, and a '"' or '\' in
// it would also break the metrics' label values.
std::string path_problem(std::string_view path) {
    constexpr std::string_view kPchar =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/";
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    for (std::size_t i = 0; i < path.size(); ++i) {
        const char c = path[i];
        if (c == '%' && i + 2 < path.size() && hex(path[i + 1]) && hex(path[i + 2])) {
            i += 2;
        } else if (kPchar.find(c) == std::string_view::npos) {
            const auto u = static_cast<unsigned char>(c);
            char shown[8];
            std::snprintf(shown, sizeof(shown), u < 0x20 || u >= 0x7F ? "\\x%02X" : "'%c'", u);
            return std::string("holds ") + shown + ", which a request path cannot hold";
        }
    }
    for (std::size_t start = 1; start <= path.size();) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view segment = path.substr(start, end - start);
        if ((segment.empty() && end < path.size()) || segment == "." || segment == "..")
            return "has an empty, '.' or '..' segment: requests are routed by the path as sent, "
                   "and the proxy refuses dot segments";
        start = end + 1;
    }
    return "";
}

// Every accepted key, with the code that reads it into ServerConfig.
using Reader = std::function<std::string(const toml::node&, ServerConfig&)>;
// A range check on a value already in ServerConfig, however it got there (file or command line).
using Check = std::function<std::string(const ServerConfig&)>;

struct Integer {
    Reader read;
    Check check;
};

template <class T>
std::string out_of_range(const std::string& key, T value, long long min, long long max) {
    const bool below = std::is_signed_v<T> ? static_cast<long long>(value) < min
                                           : min > 0 && static_cast<unsigned long long>(value) <
                                                            static_cast<unsigned long long>(min);
    const bool above = std::is_signed_v<T> ? static_cast<long long>(value) > max
                                           : static_cast<unsigned long long>(value) >
                                                 static_cast<unsigned long long>(max);
    if (!below && !above) return {};
    return "'" + key + "' must be between " + std::to_string(min) + " and " + std::to_string(max) +
           " (is " + std::to_string(value) + ")";
}

template <class T>
Integer integer(std::string key, T ServerConfig::*field, long long min, long long max) {
    Integer i;
    i.read = [=](const toml::node& n, ServerConfig& c) -> std::string {
        const auto v = n.value<long long>();
        if (!n.is_integer() || !v) return "must be an integer";
        if (*v < min || *v > max)
            return "must be between " + std::to_string(min) + " and " + std::to_string(max);
        c.*field = static_cast<T>(*v);
        return {};
    };
    i.check = [=](const ServerConfig& c) { return out_of_range(key, c.*field, min, max); };
    return i;
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

// [plugins] load = ["path.so", "path.so:argument"]: loaded before the [plugins.NAME] tables.
std::string read_plugin_list(const toml::node& n, ServerConfig& c) {
    const toml::array* a = n.as_array();
    if (a == nullptr) return "must be an array of strings";
    std::vector<handlers::PluginConfig> out;
    for (const toml::node& item : *a) {
        if (!item.is_string()) return "must be an array of strings";
        out.push_back(handlers::plugin_from_spec(*item.value<std::string>()));
    }
    c.plugins.insert(c.plugins.begin(), out.begin(), out.end());
    return {};
}

// [plugins.NAME]: `path` (required), `argument`, and any keys of the plugin's own (strings,
// integers, floats, booleans, arrays of strings), handed to it as its PluginConfig.
std::string read_plugin_table(const std::string& name, const toml::table& t, ServerConfig& c) {
    handlers::PluginConfig p;
    p.name = name;
    for (const auto& [k, v] : t) {
        const std::string key(k.str());
        const std::string where = "'plugins." + name + "." + key + "' ";
        if (key == "path" || key == "argument") {
            if (!v.is_string()) return where + "must be a string";
            (key == "path" ? p.path : p.argument) = *v.value<std::string>();
        } else if (v.is_string()) {
            p.settings[key] = *v.value<std::string>();
        } else if (v.is_integer()) {
            p.settings[key] = *v.value<std::int64_t>();
        } else if (v.is_floating_point()) {
            p.settings[key] = *v.value<double>();
        } else if (v.is_boolean()) {
            p.settings[key] = *v.value<bool>();
        } else if (const toml::array* a = v.as_array()) {
            std::vector<std::string> items;
            for (const toml::node& item : *a) {
                if (!item.is_string()) return where + "must be an array of strings";
                items.push_back(*item.value<std::string>());
            }
            p.settings[key] = std::move(items);
        } else {
            return where + "must be a string, number, boolean or array of strings";
        }
    }
    if (p.path.empty()) return "'plugins." + name + "' has no path (path = \"lib" + name + ".so\")";
    c.plugins.push_back(std::move(p));
    return {};
}

constexpr long long kMiB = 1024 * 1024;

// The integer settings with their ranges: read from the file and checked again by validate(),
// so that the command line cannot get around them.
const std::map<std::string, Integer>& integers() {
    static const std::map<std::string, Integer> r = [] {
        std::map<std::string, Integer> m;
        auto add = [&m](const std::string& key, Integer i) { m.emplace(key, std::move(i)); };
        add("server.port", integer("server.port", &ServerConfig::port, 0, 65535));
        add("server.workers", integer("server.workers", &ServerConfig::workers, 0, 1024));
        add("connections.max_per_worker",
            integer("connections.max_per_worker", &ServerConfig::max_connections_per_worker, 1,
                    1 << 20));
        add("connections.arena",
            integer("connections.arena", &ServerConfig::connection_arena, 4096, 64 * kMiB));
        add("connections.request_view",
            integer("connections.request_view", &ServerConfig::request_view, 2048, 64 * kMiB));
        add("limits.max_target",
            integer("limits.max_target", &ServerConfig::max_target, 16, 64 * kMiB));
        add("limits.max_header_bytes",
            integer("limits.max_header_bytes", &ServerConfig::max_header_bytes, 64, 64 * kMiB));
        add("limits.max_headers",
            integer("limits.max_headers", &ServerConfig::max_headers, 1, 4096));
        add("limits.max_body", integer("limits.max_body", &ServerConfig::max_body, 0, 1024 * kMiB));
        add("limits.large_buffers_per_worker",
            integer("limits.large_buffers_per_worker", &ServerConfig::large_buffers_per_worker, 0,
                    4096));
        add("limits.large_buffers_per_client",
            integer("limits.large_buffers_per_client", &ServerConfig::large_buffers_per_client, 0,
                    4096));
        add("io.recv_buffers", integer("io.recv_buffers", &ServerConfig::recv_buffers, 1, 32768));
        add("io.recv_buffer_size",
            integer("io.recv_buffer_size", &ServerConfig::recv_buffer_size, 256, kMiB));
        // The completion queue is 8 times the submission queue, and io_uring allows 65536.
        add("io.ring_entries", integer("io.ring_entries", &ServerConfig::ring_entries, 8, 8192));
        add("timeouts.header",
            integer("timeouts.header", &ServerConfig::header_timeout_s, 1, 3600));
        add("timeouts.body_min_rate",
            integer("timeouts.body_min_rate", &ServerConfig::body_min_rate, 0, 1024 * kMiB));
        add("timeouts.keepalive",
            integer("timeouts.keepalive", &ServerConfig::keepalive_timeout_s, 1, 86400));
        add("timeouts.send", integer("timeouts.send", &ServerConfig::send_timeout_s, 1, 3600));
        add("timeouts.send_under_pressure",
            integer("timeouts.send_under_pressure", &ServerConfig::send_under_pressure_s, 1, 3600));
        add("timeouts.linger", integer("timeouts.linger", &ServerConfig::linger_timeout_s, 0, 60));
        add("timeouts.drain", integer("timeouts.drain", &ServerConfig::drain_timeout_s, 1, 3600));
        add("timeouts.handler",
            integer("timeouts.handler", &ServerConfig::handler_timeout_s, 1, 86400));
        add("timeouts.idle_release",
            integer("timeouts.idle_release", &ServerConfig::idle_release_s, 1, 86400));
        return m;
    }();
    return r;
}

const std::map<std::string, Reader>& readers() {
    static const std::map<std::string, Reader> r = [] {
        std::map<std::string, Reader> m = {
            {"server.host", text(&ServerConfig::host)},
            {"server.pin_workers", boolean(&ServerConfig::pin_workers)},
            {"server.steer_by_cpu", boolean(&ServerConfig::steer_by_cpu)},
            {"server.name", text(&ServerConfig::server_name)},
            {"health.live", text(&ServerConfig::health_live_path)},
            {"health.ready", text(&ServerConfig::health_ready_path)},
            {"metrics.path", text(&ServerConfig::metrics_path)},
            {"metrics.listen", text(&ServerConfig::metrics_listen)},
            {"log.access", text(&ServerConfig::access_log)},
            {"log.access_format", text(&ServerConfig::access_log_format)},
            {"log.level", text(&ServerConfig::log_level)},
            {"io.backend", text(&ServerConfig::io_backend)},
            {"plugins.load", &read_plugin_list},
        };
        for (const auto& [key, i] : integers()) m.emplace(key, i.read);
        return m;
    }();
    return r;
}

// [[static]] prefix = "/files", root = "/srv/www": one table per mount.
std::string read_static_mounts(const toml::array& mounts, ServerConfig& c) {
    for (const toml::node& n : mounts) {
        const toml::table* t = n.as_table();
        if (t == nullptr) return "'static' must be [[static]] tables";
        ServerConfig::StaticMount m;
        for (const auto& [k, v] : *t) {
            const std::string key(k.str());
            if (key == "precompressed") {
                if (!v.is_boolean()) return "'static.precompressed' must be true or false";
                m.precompressed = *v.value<bool>();
                continue;
            }
            if (key != "prefix" && key != "root" && key != "cache_control")
                return "unknown setting 'static." + key + "'";
            if (!v.is_string()) return "'static." + key + "' must be a string";
            (key == "prefix" ? m.prefix
             : key == "root" ? m.root
                             : m.cache_control) = *v.value<std::string>();
        }
        if (m.prefix.empty() || m.root.empty())
            return "a [[static]] table needs prefix = \"/url/path\" and root = \"/directory\"";
        c.static_mounts.push_back(std::move(m));
    }
    return {};
}

// [[proxy]] prefix = "/api", upstreams = ["127.0.0.1:9001"], ...: one table per mount.
std::string read_proxy_mounts(const toml::array& mounts, ServerConfig& c) {
    for (const toml::node& n : mounts) {
        const toml::table* t = n.as_table();
        if (t == nullptr) return "'proxy' must be [[proxy]] tables";
        ServerConfig::ProxyMount m;
        for (const auto& [k, v] : *t) {
            const std::string key(k.str());
            const std::string name = "'proxy." + key + "'";
            if (key == "prefix") {
                if (!v.is_string()) return name + " must be a string";
                m.prefix = *v.value<std::string>();
            } else if (key == "upstreams") {
                const toml::array* a = v.as_array();
                if (a == nullptr) return name + " must be an array of \"host:port\" strings";
                for (const toml::node& u : *a) {
                    if (!u.is_string()) return name + " must be an array of \"host:port\" strings";
                    m.upstreams.push_back(*u.value<std::string>());
                }
            } else if (key == "strip_prefix") {
                if (!v.is_boolean()) return name + " must be true or false";
                m.strip_prefix = *v.value<bool>();
            } else if (key == "connect_timeout" || key == "read_timeout" || key == "fail_timeout") {
                const std::optional<double> s = v.value<double>();  // integers convert too
                if (!s || !(*s > 0) || *s > 86400)
                    return name + " must be a number of seconds above 0 and at most 86400";
                (key == "connect_timeout" ? m.connect_timeout_s
                 : key == "read_timeout"  ? m.read_timeout_s
                                          : m.fail_timeout_s) = *s;
            } else if (key == "pool_size") {
                const std::optional<std::int64_t> s = v.value<std::int64_t>();
                if (!v.is_integer() || !s || *s < 0 || *s > 65536)
                    return name + " must be an integer from 0 to 65536";
                m.pool_size = static_cast<unsigned>(*s);
            } else {
                return "unknown setting 'proxy." + key + "'";
            }
        }
        if (m.prefix.empty() || m.upstreams.empty())
            return "a [[proxy]] table needs prefix = \"/url/path\" and upstreams = "
                   "[\"host:port\", ...]";
        c.proxy_mounts.push_back(std::move(m));
    }
    return {};
}

std::string apply(const toml::table& root, ServerConfig& config, const std::string& origin) {
    for (const auto& [section, node] : root) {
        if (section.str() == "static" && node.is_array()) {
            if (std::string err = read_static_mounts(*node.as_array(), config); !err.empty())
                return origin + ": " + err;
            continue;
        }
        if (section.str() == "proxy" && node.is_array()) {
            if (std::string err = read_proxy_mounts(*node.as_array(), config); !err.empty())
                return origin + ": " + err;
            continue;
        }
        const toml::table* t = node.as_table();
        if (t == nullptr)
            return origin + ": '" + std::string(section.str()) + "' must be a [section]";
        for (const auto& [key, value] : *t) {
            const std::string name = std::string(section.str()) + "." + std::string(key.str());
            if (section.str() == "plugins" && value.is_table()) {
                if (std::string err =
                        read_plugin_table(std::string(key.str()), *value.as_table(), config);
                    !err.empty())
                    return origin + ": " + err;
                continue;
            }
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
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        return path + ": is a directory, not a configuration file";
    try {
        return apply(toml::parse_file(path), config, path);
    } catch (const toml::parse_error& e) {
        return path + ":" + std::to_string(e.source().begin.line) + ": " +
               std::string(e.description());
    }
}

std::string validate(const ServerConfig& c) {
    for (const auto& [key, i] : integers())
        if (std::string err = i.check(c); !err.empty()) return err;
    for (char ch : c.server_name) {
        const auto u = static_cast<unsigned char>(ch);
        if (u < 0x20 || u == 0x7F)  // CR, LF, NUL...: a header injected into every response
            return "'server.name' must not contain control characters (CR, LF, NUL, ...)";
    }
    for (const auto& [key, path] :
         {std::pair<const char*, const std::string&>{"health.live", c.health_live_path},
          {"health.ready", c.health_ready_path},
          {"metrics.path", c.metrics_path}}) {
        if (!path.empty() && path.front() != '/')
            return std::string("'") + key + "' must be a path starting with '/' (or \"\" for none)";
        if (std::string why = path_problem(path); !why.empty())
            return std::string("'") + key + "' '" + path + "' " + why;
    }
    for (const ServerConfig::StaticMount& m : c.static_mounts) {
        if (m.prefix.front() != '/' || (m.prefix.size() > 1 && m.prefix.back() == '/') ||
            m.prefix.find_first_of("{}") != std::string::npos)
            return "[[static]] prefix '" + m.prefix +
                   "' must be a path starting with '/', without a trailing '/' or braces";
        if (std::string why = path_problem(m.prefix); !why.empty())
            return "[[static]] prefix '" + m.prefix + "' " + why;
        if (m.root.front() != '/')
            return "[[static]] root '" + m.root + "' must be an absolute directory path";
        const std::string& cc = m.cache_control;
        const auto blank = [](char c) { return c == ' ' || c == '\t'; };
        if (!http::is_header_value(cc) || (!cc.empty() && (blank(cc.front()) || blank(cc.back()))))
            return "[[static]] cache_control '" + m.cache_control +
                   "' must be a header value: no control characters, no blanks around it";
    }
    for (const ServerConfig::ProxyMount& m : c.proxy_mounts) {
        if (m.prefix.front() != '/' || (m.prefix.size() > 1 && m.prefix.back() == '/') ||
            m.prefix.find_first_of("{}?#") != std::string::npos)
            return "[[proxy]] prefix '" + m.prefix +
                   "' must be a path starting with '/', without a trailing '/', braces, '?' or '#'";
        if (std::string why = path_problem(m.prefix); !why.empty())
            return "[[proxy]] prefix '" + m.prefix + "' " + why;
        // The response's head is awaited by a waiting handler, which the handler timeout ends:
        // a longer read_timeout would never be reached.
        if (m.read_timeout_s > c.handler_timeout_s)
            return "[[proxy]] '" + m.prefix + "': read_timeout (" + seconds(m.read_timeout_s) +
                   " s) is longer than 'timeouts.handler' (" + std::to_string(c.handler_timeout_s) +
                   " s), which answers 504 first while the response's head is due: raise "
                   "timeouts.handler to at least " +
                   seconds(m.read_timeout_s) + ", or lower read_timeout";
    }
    if (c.log_level != "error" && c.log_level != "warn" && c.log_level != "info" &&
        c.log_level != "debug")
        return "'log.level' must be \"error\", \"warn\", \"info\" or \"debug\" (is \"" +
               c.log_level + "\")";
    if (c.io_backend != "auto" && c.io_backend != "io_uring" && c.io_backend != "epoll")
        return "'io.backend' must be \"auto\", \"io_uring\" or \"epoll\" (is \"" + c.io_backend +
               "\")";
    if (c.access_log_format != "combined" && c.access_log_format != "json")
        return "'log.access_format' must be \"combined\" or \"json\" (is \"" + c.access_log_format +
               "\")";
    if (c.recv_buffers * c.recv_buffer_size > kMaxReceiveRing)
        return "'io.recv_buffers' x 'io.recv_buffer_size' must be at most " +
               std::to_string(kMaxReceiveRing / kMiB) + " MiB per worker (is " +
               std::to_string(c.recv_buffers * c.recv_buffer_size) + " bytes)";
    if (c.connection_arena > c.request_view &&
        c.connection_arena - c.request_view < kMinResponseView)
        return "'connections.arena' minus 'connections.request_view' (the response view) must "
               "be at least " +
               std::to_string(kMinResponseView) + " bytes";
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
