// Loading handler plugins: the happy path, its argument, and each way it can go wrong.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "../../handlers/builtin.hpp"
#include "../../handlers/plugin.hpp"
#include "../../handlers/static_files.hpp"
#include "../../server/server.hpp"
#include "../server/test_client.hpp"

namespace lake::handlers {
namespace {

std::string module(const char* env) {
    const char* p = std::getenv(env);
    return p != nullptr ? p : "";
}

http::Response get(const Router& router, std::string_view path) {
    lake::Lake arena(4096);
    http::Request req;
    req.method = http::Method::Get;
    req.path = path;
    req.arena = &arena;
    http::Response res;
    lake::Lake out(4096);
    res.bind(&arena, &out);
    (void)router.dispatch(req, res);
    if (!res.body.empty()) {  // copy out before the arena goes away
        static thread_local std::string keep;
        keep.assign(res.body);
        res.body = keep;
    }
    return res;
}

TEST(Plugin, RegistersItsRoutesWithItsArgument) {
    if (module("LAKE_HELLO_PLUGIN").empty()) GTEST_SKIP() << "LAKE_HELLO_PLUGIN not set";
    Router router;
    ASSERT_EQ(load_plugin(module("LAKE_HELLO_PLUGIN") + ":world", router), "");
    const http::Response r = get(router, "/hello");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "Hello from a plugin, world!\n");
    EXPECT_EQ(get(router, "/other").status, 404);
}

TEST(Plugin, AMissingFileIsAnError) {
    Router router;
    const std::string err = load_plugin("/nonexistent/libnothing.so", router);
    EXPECT_NE(err.find("cannot load plugin 'nothing' (/nonexistent/libnothing.so)"),
              std::string::npos)
        << err;
}

TEST(Plugin, ALibraryWithoutTheEntryPointsIsRefused) {
    if (module("LAKE_NO_SYMBOLS_PLUGIN").empty()) GTEST_SKIP() << "LAKE_NO_SYMBOLS_PLUGIN not set";
    Router router;
    const std::string err = load_plugin(module("LAKE_NO_SYMBOLS_PLUGIN"), router);
    EXPECT_NE(err.find("does not export lake_plugin_abi and lake_plugin_init"), std::string::npos)
        << err;
}

TEST(Plugin, APluginBuiltForAnotherAbiIsRefused) {
    if (module("LAKE_WRONG_ABI_PLUGIN").empty()) GTEST_SKIP() << "LAKE_WRONG_ABI_PLUGIN not set";
    Router router;
    const std::string err = load_plugin(module("LAKE_WRONG_ABI_PLUGIN"), router);
    const std::string expected =
        "was built for plugin ABI " + std::to_string(LAKE_PLUGIN_ABI_VERSION + 1) +
        "; this lake-server speaks " + std::to_string(LAKE_PLUGIN_ABI_VERSION);
    EXPECT_NE(err.find(expected), std::string::npos) << err;
}

TEST(Plugin, AnOlderPluginThatCallsAFunctionThisServerLacksIsRefusedNamingItsAbi) {
    if (module("LAKE_OLD_ABI_PLUGIN").empty()) GTEST_SKIP() << "LAKE_OLD_ABI_PLUGIN not set";
    Router router;
    const std::string err = load_plugin(module("LAKE_OLD_ABI_PLUGIN"), router);
    const std::string expected =
        "was built for plugin ABI " + std::to_string(LAKE_PLUGIN_ABI_VERSION - 1) +
        "; this lake-server speaks " + std::to_string(LAKE_PLUGIN_ABI_VERSION);
    EXPECT_NE(err.find(expected), std::string::npos) << err;
    EXPECT_EQ(err.find("undefined symbol"), std::string::npos) << err;
}

TEST(Plugin, APluginBuiltWithAnotherCompilerIsRefusedSayingWhatDiffers) {
    if (module("LAKE_FOREIGN_TOOLCHAIN_PLUGIN").empty())
        GTEST_SKIP() << "LAKE_FOREIGN_TOOLCHAIN_PLUGIN not set";
    Router router;
    const std::string err = load_plugin(module("LAKE_FOREIGN_TOOLCHAIN_PLUGIN"), router);
    EXPECT_NE(err.find(std::string("was built with clang 99 and ") + LAKE_PLUGIN_STDLIB +
                       ", this lake-server with " + LAKE_PLUGIN_COMPILER + " and " +
                       LAKE_PLUGIN_STDLIB + " (the compiler differs)"),
              std::string::npos)
        << err;
}

TEST(Plugin, AnExceptionFromInitBecomesAnError) {
    if (module("LAKE_THROWING_PLUGIN").empty()) GTEST_SKIP() << "LAKE_THROWING_PLUGIN not set";
    Router router;
    const std::string err = load_plugin(module("LAKE_THROWING_PLUGIN"), router);
    EXPECT_NE(err.find("threw during lake_plugin_init: no config for me"), std::string::npos)
        << err;
}

TEST(Plugin, ARouteThatConflictsStopsTheStartNamingThePluginAndTheRoute) {
    if (module("LAKE_HELLO_PLUGIN").empty()) GTEST_SKIP() << "LAKE_HELLO_PLUGIN not set";
    Router router;
    ASSERT_EQ(load_plugin(module("LAKE_HELLO_PLUGIN"), router), "");
    const std::string err = load_plugin(module("LAKE_HELLO_PLUGIN"), router);  // /hello again
    EXPECT_NE(err.find("plugin 'hello-plugin' (" + module("LAKE_HELLO_PLUGIN") +
                       "): route '/hello': GET is "
                       "already registered"),
              std::string::npos)
        << err;
}

TEST(Plugin, APluginThatRefusesStopsTheStart) {
    if (module("LAKE_HELLO_PLUGIN").empty()) GTEST_SKIP() << "LAKE_HELLO_PLUGIN not set";
    Router router;
    const std::string err = load_plugin(module("LAKE_HELLO_PLUGIN") + ":refuse", router);
    EXPECT_NE(err.find("refused to start (lake_plugin_init returned 7: asked to)"),
              std::string::npos)
        << err;
}

// A plugin's own table reaches it typed; its worker hooks run on each worker's thread (the
// per-thread state they set is what that worker's handler sees), stop hooks when the workers
// stop, and the shutdown hook once, last.
TEST(Plugin, GetsItsSettingsAndItsWorkerAndShutdownHooksRun) {
    if (module("LAKE_LIFECYCLE_PLUGIN").empty()) GTEST_SKIP() << "LAKE_LIFECYCLE_PLUGIN not set";
    char log_path[] = "/tmp/lake-lifecycle-XXXXXX";
    const int fd = ::mkstemp(log_path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    PluginConfig plugin;
    plugin.name = "lifecycle";
    plugin.path = module("LAKE_LIFECYCLE_PLUGIN");
    plugin.settings["greeting"] = std::string("hi");
    plugin.settings["times"] = std::int64_t{3};
    plugin.settings["log"] = std::string(log_path);
    Router router;
    add_builtin_handlers(router);
    ASSERT_EQ(load_plugin(plugin, router), "");

    config::ServerConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.workers = 2;
    c.pin_workers = false;
    c.steer_by_cpu = false;
    c.max_connections_per_worker = 64;
    c.recv_buffers = 64;
    c.large_buffers_per_worker = 1;
    {
        server::Server s(c, std::move(router));
        ASSERT_EQ(s.start(), "");
        test::Client client(s.port());
        ASSERT_TRUE(client.send(test::get("/lifecycle")));
        const test::HttpResponse r = client.read_response();
        EXPECT_EQ(r.status, 200);
        EXPECT_TRUE(r.body == "hi x3 worker=0" || r.body == "hi x3 worker=1") << r.body;
        s.stop();
    }
    std::ifstream in(log_path);
    std::stringstream all;
    all << in.rdbuf();
    const std::string log = all.str();
    ::unlink(log_path);
    for (const char* line : {"start 0\n", "start 1\n", "stop 0\n", "stop 1\n"})
        EXPECT_NE(log.find(line), std::string::npos) << line << " missing from:\n" << log;
    EXPECT_EQ(log.rfind("shutdown\n"), log.size() - 9) << "shutdown must come once, last:\n" << log;
    EXPECT_EQ(log.find("shutdown"), log.rfind("shutdown"));
}

TEST(Plugin, APluginThatRefusesSaysWhy) {
    if (module("LAKE_LIFECYCLE_PLUGIN").empty()) GTEST_SKIP() << "LAKE_LIFECYCLE_PLUGIN not set";
    PluginConfig plugin = plugin_from_spec(module("LAKE_LIFECYCLE_PLUGIN"));
    plugin.settings["refuse"] = true;
    Router router;
    const std::string err = load_plugin(plugin, router);
    EXPECT_NE(err.find("plugin 'lifecycle-plugin' ("), std::string::npos) << err;
    EXPECT_NE(err.find("refused to start (lake_plugin_init returned 1: the settings say refuse = "
                       "true)"),
              std::string::npos)
        << err;
}

// The api_example plugin, request by request (its routes are the README's contract).
struct ApiCall {
    lake::Lake arena{16384};
    lake::Lake out{16384};
    http::Header headers[2];
    http::Request req;
    http::Response res;
    std::string header(std::string_view name) const {
        for (const http::Header& h : res.headers())
            if (http::iequals(h.name, name)) return std::string(h.value);
        return {};
    }
};

void call(const Router& router, ApiCall& c, http::Method m, std::string_view path,
          std::string_view query = {}) {
    c.req.method = m;
    c.req.path = path;
    c.req.query = query;
    c.req.arena = &c.arena;
    c.res.bind(&c.arena, &c.out);
    (void)router.dispatch(c.req, c.res);
}

TEST(ApiExample, ServesItsRoutesWithCorsAndAGuardedAdmin) {
    if (module("LAKE_API_EXAMPLE_PLUGIN").empty())
        GTEST_SKIP() << "LAKE_API_EXAMPLE_PLUGIN not set";
    Router router;
    ASSERT_EQ(load_plugin(module("LAKE_API_EXAMPLE_PLUGIN"), router), "");

    ApiCall user;
    call(router, user, http::Method::Get, "/users/42");
    EXPECT_EQ(user.res.status, 200);
    EXPECT_EQ(user.res.content_type, "application/json");
    EXPECT_EQ(user.res.body, R"({"id":"42"})");
    EXPECT_EQ(user.header("access-control-allow-origin"), "*");

    ApiCall quoted;  // an id that needs escaping stays valid JSON
    call(router, quoted, http::Method::Get, "/users/a\"b");
    EXPECT_EQ(quoted.res.body, R"({"id":"a\"b"})");

    ApiCall search;
    call(router, search, http::Method::Get, "/search", "q=hello%20lake+world");
    EXPECT_EQ(search.res.status, 200);
    EXPECT_EQ(search.res.content_type, "text/plain");
    EXPECT_EQ(search.res.body, "hello lake world");
    EXPECT_EQ(search.header("access-control-allow-origin"), "*");

    ApiCall form;
    form.headers[0] = {"Content-Type", "application/x-www-form-urlencoded"};
    form.req.headers = std::span<const http::Header>(form.headers, 1);
    form.req.body = "a=1&b=x%20y";
    call(router, form, http::Method::Post, "/form");
    EXPECT_EQ(form.res.status, 200);
    EXPECT_EQ(form.res.content_type, "application/json");
    EXPECT_EQ(form.res.body, R"({"a":"1","b":"x y"})");
    for (const char* type : {"text/plain", ""}) {  // another body, or none said: 415 (was {})
        ApiCall other;
        other.headers[0] = {"Content-Type", type};
        other.req.headers = std::span<const http::Header>(other.headers, *type != 0 ? 1 : 0);
        other.req.body = "a=1";
        call(router, other, http::Method::Post, "/form");
        EXPECT_EQ(other.res.status, 415) << type;
    }

    ApiCall denied;
    call(router, denied, http::Method::Get, "/admin/ping");
    EXPECT_EQ(denied.res.status, 401);
    EXPECT_EQ(denied.header("access-control-allow-origin"), "*");
    ApiCall denied_other;  // anything under /admin/, routed or not, with a wrong token
    denied_other.headers[0] = {"Authorization", "Bearer wrong"};
    denied_other.req.headers = std::span<const http::Header>(denied_other.headers, 1);
    call(router, denied_other, http::Method::Get, "/admin/secret");
    EXPECT_EQ(denied_other.res.status, 401);

    ApiCall ping;
    ping.headers[0] = {"Authorization", "Bearer letmein"};
    ping.req.headers = std::span<const http::Header>(ping.headers, 1);
    call(router, ping, http::Method::Get, "/admin/ping");
    EXPECT_EQ(ping.res.status, 200);
    EXPECT_EQ(ping.res.body, "pong");
    EXPECT_EQ(ping.header("access-control-allow-origin"), "*");
}

// The example's guard on /admin/ in front of a static mount at "/": the file handler decodes
// the path, so other spellings of /admin/... would reach the files past the hook unless the
// hook meets every spelling that reads as under its prefix. Answered before the file handler
// starts (no I/O: a 401 from the hook, or a crash on a missing ring if the handler ran).
TEST(ApiExample, TheAdminGuardMeetsEverySpellingOfItsPrefixInFrontOfStaticFiles) {
    if (module("LAKE_API_EXAMPLE_PLUGIN").empty())
        GTEST_SKIP() << "LAKE_API_EXAMPLE_PLUGIN not set";
    Router router;
    ASSERT_EQ(load_plugin(module("LAKE_API_EXAMPLE_PLUGIN"), router), "");
    std::string error;
    const auto files = StaticFiles::mount(router, "/", "/tmp", error);
    ASSERT_NE(files, nullptr) << error;
    ASSERT_EQ(router.take_error(), "");
    for (const char* path : {"/admin/ping.txt", "/%61dmin/ping.txt", "//admin/ping.txt",
                             "/admin%2Fping.txt", "/x/../admin/ping.txt", "/ADMIN/../admin/x"}) {
        ApiCall c;
        call(router, c, http::Method::Get, path);
        EXPECT_EQ(c.res.status, 401) << path;
    }
}

// The static handler's per-thread open files are closed on the worker's tick: one hook for
// every mount of a router, not one each (each would sweep the same table again).
TEST(StaticFilesMount, SeveralMountsShareOneTick) {
    Router router;
    const std::size_t before = router.lifecycle().worker_tick.size();
    std::string error;
    const auto a = StaticFiles::mount(router, "/a", "/tmp", error);
    const auto b = StaticFiles::mount(router, "/b", "/tmp", error);
    const auto c = StaticFiles::mount(router, "/c", "/tmp", error, "", true);
    ASSERT_TRUE(a && b && c) << error;
    EXPECT_EQ(router.lifecycle().worker_tick.size(), before + 1);
    Router other;  // another router (another server in the process) gets its own
    const auto d = StaticFiles::mount(other, "/d", "/tmp", error);
    ASSERT_NE(d, nullptr) << error;
    EXPECT_EQ(other.lifecycle().worker_tick.size(), 1u);
}

}  // namespace
}  // namespace lake::handlers
