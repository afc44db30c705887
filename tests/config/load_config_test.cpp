// The TOML configuration: the shipped example equals the built-in defaults, and every kind of
// mistake is refused with a message that names it.
#include <gtest/gtest.h>

#include <cstdlib>

#include "../../config/load_config.hpp"

namespace lake::config {
namespace {

std::string example_path() {
    const char* dir = std::getenv("LAKE_SOURCE_DIR");
    return std::string(dir != nullptr ? dir : ".") + "/config/lake-server.toml";
}

TEST(Config, TheShippedExampleIsExactlyTheDefaults) {
    ServerConfig loaded;
    loaded.port = 1;  // must be overwritten by the file
    loaded.max_body = 7;
    loaded.pin_workers = !ServerConfig{}.pin_workers;
    loaded.steer_by_cpu = !ServerConfig{}.steer_by_cpu;
    ASSERT_EQ(load_file(example_path(), loaded), "");
    const ServerConfig defaults;
    EXPECT_EQ(loaded.host, defaults.host);
    EXPECT_EQ(loaded.port, defaults.port);
    EXPECT_EQ(loaded.workers, defaults.workers);
    EXPECT_EQ(loaded.pin_workers, defaults.pin_workers);
    EXPECT_EQ(loaded.steer_by_cpu, defaults.steer_by_cpu);
    EXPECT_EQ(loaded.max_connections_per_worker, defaults.max_connections_per_worker);
    EXPECT_EQ(loaded.connection_arena, defaults.connection_arena);
    EXPECT_EQ(loaded.request_view, defaults.request_view);
    EXPECT_EQ(loaded.max_target, defaults.max_target);
    EXPECT_EQ(loaded.max_header_bytes, defaults.max_header_bytes);
    EXPECT_EQ(loaded.max_headers, defaults.max_headers);
    EXPECT_EQ(loaded.max_body, defaults.max_body);
    EXPECT_EQ(loaded.large_buffers_per_worker, defaults.large_buffers_per_worker);
    EXPECT_EQ(loaded.recv_buffers, defaults.recv_buffers);
    EXPECT_EQ(loaded.recv_buffer_size, defaults.recv_buffer_size);
    EXPECT_EQ(loaded.header_timeout_s, defaults.header_timeout_s);
    EXPECT_EQ(loaded.body_min_rate, defaults.body_min_rate);
    EXPECT_EQ(loaded.keepalive_timeout_s, defaults.keepalive_timeout_s);
    EXPECT_EQ(loaded.idle_release_s, defaults.idle_release_s);
    EXPECT_EQ(loaded.send_timeout_s, defaults.send_timeout_s);
    EXPECT_EQ(loaded.linger_timeout_s, defaults.linger_timeout_s);
    EXPECT_EQ(loaded.ring_entries, defaults.ring_entries);
    EXPECT_EQ(loaded.io_backend, defaults.io_backend);
    EXPECT_EQ(loaded.server_name, defaults.server_name);
    EXPECT_EQ(loaded.plugins.size(), defaults.plugins.size());
    EXPECT_EQ(loaded.handler_timeout_s, defaults.handler_timeout_s);
    EXPECT_EQ(loaded.static_mounts.size(), defaults.static_mounts.size());
}

TEST(Config, TheBodysMinimumRateIsBytesASecondAndZeroTurnsItOff) {
    ServerConfig c;
    ASSERT_EQ(load_string("[timeouts]\nbody_min_rate = 0\n", c, "t"), "");
    EXPECT_EQ(c.body_min_rate, 0u);
    ASSERT_EQ(load_string("[timeouts]\nbody_min_rate = 65536\n", c, "t"), "");
    EXPECT_EQ(c.body_min_rate, 65536u);
    EXPECT_NE(load_string("[timeouts]\nbody_min_rate = -1\n", c, "t"), "");
    EXPECT_NE(load_string("[timeouts]\nbody_min_rate = \"fast\"\n", c, "t"), "");
}

TEST(Config, StaticMountsAreTablesWithAPrefixAndARoot) {
    ServerConfig c;
    ASSERT_EQ(load_string("[[static]]\nprefix = \"/files\"\nroot = \"/srv/www\"\n"
                          "[[static]]\nprefix = \"/\"\nroot = \"/srv/site\"\n"
                          "cache_control = \"public, max-age=60\"\nprecompressed = true\n"
                          "[timeouts]\nhandler = 5\n",
                          c, "t"),
              "");
    ASSERT_EQ(c.static_mounts.size(), 2u);
    EXPECT_EQ(c.static_mounts[0].prefix, "/files");
    EXPECT_EQ(c.static_mounts[0].root, "/srv/www");
    EXPECT_EQ(c.static_mounts[1].prefix, "/");
    EXPECT_EQ(c.static_mounts[0].cache_control, "");
    EXPECT_EQ(c.static_mounts[1].cache_control, "public, max-age=60");
    EXPECT_FALSE(c.static_mounts[0].precompressed);
    EXPECT_TRUE(c.static_mounts[1].precompressed);
    EXPECT_EQ(c.handler_timeout_s, 5u);
    for (const char* bad :
         {"[[static]]\nprefix = \"/files/\"\nroot = \"/srv\"\n",
          "[[static]]\nprefix = \"files\"\nroot = \"/srv\"\n",
          "[[static]]\nprefix = \"/files\"\nroot = \"relative\"\n",
          "[[static]]\nprefix = \"/files\"\n",
          "[[static]]\nprefix = \"/f\"\nroot = \"/srv\"\nindex = 1\n",
          // A Cache-Control that is no header value, or has blanks around it.
          "[[static]]\nprefix = \"/f\"\nroot = \"/srv\"\ncache_control = \"a\\nb\"\n",
          "[[static]]\nprefix = \"/f\"\nroot = \"/srv\"\ncache_control = \" a\"\n",
          "[[static]]\nprefix = \"/f\"\nroot = \"/srv\"\ncache_control = 60\n",
          "[[static]]\nprefix = \"/f\"\nroot = \"/srv\"\nprecompressed = \"yes\"\n",
          "[timeouts]\nhandler = 0\n"}) {
        ServerConfig d;
        EXPECT_NE(load_string(bad, d, "t"), "") << bad;
    }
}

// A prefix or path a request can never start with serves nothing; a '"' or '\' would also
// break the metrics' label values (the proxy's prefix is one). Refused, naming the byte.
TEST(Config, PrefixesAndPathsAreRequestPathsInNormalForm) {
    struct Case {
        const char* toml;
        const char* says;
    };
    for (const Case& c : std::initializer_list<Case>{
             {"[[proxy]]\nprefix = \"/a\\\"b\"\nupstreams = [\"a:1\"]\n", "holds '\"'"},
             {"[[proxy]]\nprefix = \"/a\\\\b\"\nupstreams = [\"a:1\"]\n", "holds '\\'"},
             {"[[proxy]]\nprefix = \"/a b\"\nupstreams = [\"a:1\"]\n", "holds ' '"},
             {"[[proxy]]\nprefix = \"/a/../b\"\nupstreams = [\"a:1\"]\n", "'..' segment"},
             {"[[proxy]]\nprefix = \"/a//b\"\nupstreams = [\"a:1\"]\n", "empty"},
             {"[[static]]\nprefix = \"/f\\tx\"\nroot = \"/srv\"\n", "holds \\x09"},
             {"[[static]]\nprefix = \"/f%zz\"\nroot = \"/srv\"\n", "holds '%'"},
             {"[[static]]\nprefix = \"/./f\"\nroot = \"/srv\"\n", "'.'"},
             {"[metrics]\npath = \"/me trics\"\n", "'metrics.path'"},
             {"[health]\nlive = \"/live<\"\n", "holds '<'"},
         }) {
        ServerConfig d;
        const std::string err = load_string(c.toml, d, "t");
        EXPECT_NE(err.find(c.says), std::string::npos) << c.toml << " -> " << err;
    }
    ServerConfig ok;
    EXPECT_EQ(load_string("[[proxy]]\nprefix = \"/v1/a-b_c.d~e/%7Eu/x:y@z!$&'()*+,;=\"\n"
                          "upstreams = [\"a:1\"]\n[[static]]\nprefix = \"/\"\nroot = \"/srv\"\n",
                          ok, "t"),
              "");
}

TEST(Config, ProxyMountsAreTablesWithAPrefixAndUpstreams) {
    ServerConfig c;
    ASSERT_EQ(load_string("[[proxy]]\nprefix = \"/api\"\n"
                          "upstreams = [\"127.0.0.1:9001\", \"127.0.0.1:9002\"]\n"
                          "strip_prefix = true\nconnect_timeout = 0.5\nread_timeout = 10\n"
                          "fail_timeout = 3\npool_size = 8\n"
                          "[[proxy]]\nprefix = \"/\"\nupstreams = [\"[::1]:80\"]\n",
                          c, "t"),
              "");
    ASSERT_EQ(c.proxy_mounts.size(), 2u);
    const ServerConfig::ProxyMount& m = c.proxy_mounts[0];
    EXPECT_EQ(m.prefix, "/api");
    ASSERT_EQ(m.upstreams.size(), 2u);
    EXPECT_EQ(m.upstreams[1], "127.0.0.1:9002");
    EXPECT_TRUE(m.strip_prefix);
    EXPECT_DOUBLE_EQ(m.connect_timeout_s, 0.5);
    EXPECT_DOUBLE_EQ(m.read_timeout_s, 10);
    EXPECT_DOUBLE_EQ(m.fail_timeout_s, 3);
    EXPECT_EQ(m.pool_size, 8u);
    const ServerConfig::ProxyMount& d = c.proxy_mounts[1];
    EXPECT_FALSE(d.strip_prefix);
    EXPECT_DOUBLE_EQ(d.read_timeout_s, 30);
    EXPECT_EQ(d.pool_size, 128u);
    for (const char* bad :
         {"[[proxy]]\nprefix = \"/api/\"\nupstreams = [\"a:1\"]\n",
          "[[proxy]]\nprefix = \"api\"\nupstreams = [\"a:1\"]\n", "[[proxy]]\nprefix = \"/api\"\n",
          "[[proxy]]\nprefix = \"/api\"\nupstreams = []\n",
          "[[proxy]]\nprefix = \"/api\"\nupstreams = \"a:1\"\n",
          "[[proxy]]\nprefix = \"/api\"\nupstreams = [1]\n",
          "[[proxy]]\nprefix = \"/a\"\nupstreams = [\"a:1\"]\nread_timeout = 0\n",
          "[[proxy]]\nprefix = \"/a\"\nupstreams = [\"a:1\"]\npool_size = -1\n",
          "[[proxy]]\nprefix = \"/a\"\nupstreams = [\"a:1\"]\nstrip = true\n"}) {
        ServerConfig e;
        EXPECT_NE(load_string(bad, e, "t"), "") << bad;
    }
}

// A proxy's read_timeout beyond the handler timeout would never be reached (the handler timeout
// answers 504 first while the head is due): refused, saying which settings and what to do.
TEST(Config, AProxyReadTimeoutLongerThanTheHandlerTimeoutIsRefused) {
    ServerConfig c;
    EXPECT_EQ(load_string("[timeouts]\nhandler = 30\n[[proxy]]\nprefix = \"/api\"\n"
                          "upstreams = [\"a:1\"]\nread_timeout = 60.5\n",
                          c, "t"),
              "t: [[proxy]] '/api': read_timeout (60.5 s) is longer than 'timeouts.handler' (30 "
              "s), which answers 504 first while the response's head is due: raise "
              "timeouts.handler to at least 60.5, or lower read_timeout");
    ServerConfig d;
    EXPECT_EQ(load_string("[timeouts]\nhandler = 61\n[[proxy]]\nprefix = \"/api\"\n"
                          "upstreams = [\"a:1\"]\nread_timeout = 60.5\n",
                          d, "t"),
              "");
    ServerConfig e;  // equal is fine, and so are the defaults (30 and 30)
    EXPECT_EQ(load_string("[[proxy]]\nprefix = \"/api\"\nupstreams = [\"a:1\"]\n", e, "t"), "");
}

TEST(Config, PluginsAreAListOfStrings) {
    ServerConfig c;
    ASSERT_EQ(load_string("[plugins]\nload = [\"a.so\", \"dir/libb.so:x\"]\n", c, "t.toml"), "");
    ASSERT_EQ(c.plugins.size(), 2u);
    EXPECT_EQ(c.plugins[0].path, "a.so");
    EXPECT_EQ(c.plugins[1].name, "b");
    EXPECT_EQ(c.plugins[1].path, "dir/libb.so");
    EXPECT_EQ(c.plugins[1].argument, "x");
    ServerConfig d;
    EXPECT_EQ(load_string("[plugins]\nload = \"a.so\"\n", d, "t.toml"),
              "t.toml: 'plugins.load' must be an array of strings");
}

// [plugins.NAME]: a table per plugin, with its path and typed settings of its own; the load
// list comes first, then the tables in the order of their names.
TEST(Config, EachPluginHasItsOwnTableWithTypedSettings) {
    ServerConfig c;
    ASSERT_EQ(load_string("[plugins]\n"
                          "load = [\"first.so\"]\n"
                          "[plugins.zeta]\npath = \"libzeta.so\"\n"
                          "[plugins.api]\n"
                          "path = \"/opt/libapi.so\"\nargument = \"arg\"\n"
                          "token = \"s3cret\"\nretries = 3\nratio = 0.5\nloud = true\n"
                          "hosts = [\"a\", \"b\"]\n",
                          c, "t.toml"),
              "");
    ASSERT_EQ(c.plugins.size(), 3u);
    EXPECT_EQ(c.plugins[0].path, "first.so");
    const handlers::PluginConfig& api = c.plugins[1];
    EXPECT_EQ(api.name, "api");
    EXPECT_EQ(api.path, "/opt/libapi.so");
    EXPECT_EQ(api.argument, "arg");
    EXPECT_EQ(api.get<std::string>("token"), "s3cret");
    EXPECT_EQ(api.get<std::int64_t>("retries"), 3);
    EXPECT_EQ(api.get<double>("retries"), 3.0);  // an integer reads as a number too
    EXPECT_EQ(api.get<double>("ratio"), 0.5);
    EXPECT_EQ(api.get<bool>("loud"), true);
    EXPECT_EQ(api.get<std::vector<std::string>>("hosts"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(api.get<std::int64_t>("token"), std::nullopt);  // another type: absent
    EXPECT_EQ(api.get_or<std::string>("missing", "fallback"), "fallback");
    EXPECT_EQ(c.plugins[2].name, "zeta");

    ServerConfig d;
    EXPECT_EQ(load_string("[plugins.api]\ntoken = \"x\"\n", d, "t.toml"),
              "t.toml: 'plugins.api' has no path (path = \"libapi.so\")");
    EXPECT_EQ(load_string("[plugins.api]\npath = 3\n", d, "t.toml"),
              "t.toml: 'plugins.api.path' must be a string");
    EXPECT_EQ(load_string("[plugins.api]\npath = \"a.so\"\nlist = [1, 2]\n", d, "t.toml"),
              "t.toml: 'plugins.api.list' must be an array of strings");
}

TEST(Config, KeysInTheFileReplaceTheDefaults) {
    ServerConfig c;
    ASSERT_EQ(load_string("[server]\nport = 9090\nname = \"edge\"\n[limits]\nmax_body = 4096\n", c,
                          "t.toml"),
              "");
    EXPECT_EQ(c.port, 9090);
    EXPECT_EQ(c.server_name, "edge");
    EXPECT_EQ(c.max_body, 4096u);
    EXPECT_EQ(c.max_target, ServerConfig{}.max_target);  // untouched
}

TEST(Config, UnknownKeysAreRefused) {
    ServerConfig c;
    EXPECT_EQ(load_string("[server]\nprot = 1\n", c, "t.toml"),
              "t.toml: unknown setting 'server.prot'");
    EXPECT_NE(load_string("port = 1\n", c, "t.toml").find("must be a [section]"),
              std::string::npos);
}

TEST(Config, WrongTypesAndRangesAreRefused) {
    ServerConfig c;
    EXPECT_EQ(load_string("[server]\nport = \"80\"\n", c, "t.toml"),
              "t.toml: 'server.port' must be an integer");
    EXPECT_EQ(load_string("[server]\nport = 70000\n", c, "t.toml"),
              "t.toml: 'server.port' must be between 0 and 65535");
    EXPECT_EQ(load_string("[server]\npin_workers = 1\n", c, "t.toml"),
              "t.toml: 'server.pin_workers' must be true or false");
}

TEST(Config, SyntaxErrorsNameTheLine) {
    ServerConfig c;
    const std::string err = load_string("[server]\nport = = 3\n", c, "t.toml");
    EXPECT_EQ(err.rfind("t.toml:2: ", 0), 0u) << err;
}

TEST(Config, SettingsAreCheckedAgainstEachOther) {
    ServerConfig c;
    c.recv_buffers = 1000;
    EXPECT_NE(validate(c).find("power of two"), std::string::npos);
    c = ServerConfig{};
    c.request_view = c.connection_arena;
    EXPECT_NE(validate(c).find("smaller than"), std::string::npos);
    c = ServerConfig{};
    c.max_header_bytes = 64 * 1024;
    EXPECT_NE(validate(c).find("cannot hold"), std::string::npos);
    EXPECT_EQ(validate(ServerConfig{}), "");
}

TEST(Config, TheIoBackendIsAutoIoUringOrEpoll) {
    ServerConfig c;
    EXPECT_EQ(c.io_backend, "auto");
    EXPECT_EQ(load_string("[io]\nbackend = \"epoll\"\n", c, "t.toml"), "");
    EXPECT_EQ(c.io_backend, "epoll");
    EXPECT_EQ(load_string("[io]\nbackend = \"io_uring\"\n", c, "t.toml"), "");
    EXPECT_EQ(c.io_backend, "io_uring");
    EXPECT_EQ(load_string("[io]\nbackend = \"kqueue\"\n", c, "t.toml"),
              "t.toml: 'io.backend' must be \"auto\", \"io_uring\" or \"epoll\" (is \"kqueue\")");
}

TEST(Config, MissingFileIsAnError) {
    ServerConfig c;
    EXPECT_NE(load_file("/nonexistent/lake.toml", c), "");
}

}  // namespace
}  // namespace lake::config
