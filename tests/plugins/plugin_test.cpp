// Loading handler plugins: the happy path, its argument, and each way it can go wrong.
#include <gtest/gtest.h>

#include <cstdlib>

#include "../../handlers/plugin.hpp"

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
    router.dispatch(req, res);
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
    EXPECT_NE(err.find("cannot load plugin /nonexistent/libnothing.so"), std::string::npos) << err;
}

TEST(Plugin, ALibraryWithoutTheEntryPointsIsRefused) {
    if (module("LAKE_NO_SYMBOLS_PLUGIN").empty()) GTEST_SKIP() << "LAKE_NO_SYMBOLS_PLUGIN not set";
    Router router;
    const std::string err = load_plugin(module("LAKE_NO_SYMBOLS_PLUGIN"), router);
    EXPECT_NE(err.find("does not export lake_plugin_abi_version"), std::string::npos) << err;
}

TEST(Plugin, APluginBuiltForAnotherAbiIsRefused) {
    if (module("LAKE_WRONG_ABI_PLUGIN").empty()) GTEST_SKIP() << "LAKE_WRONG_ABI_PLUGIN not set";
    Router router;
    const std::string err = load_plugin(module("LAKE_WRONG_ABI_PLUGIN"), router);
    EXPECT_NE(err.find("was built for plugin ABI 3; this lake-server speaks 2"), std::string::npos)
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
    EXPECT_NE(err.find("plugin " + module("LAKE_HELLO_PLUGIN") +
                       ": route '/hello': GET is "
                       "already registered"),
              std::string::npos)
        << err;
}

TEST(Plugin, APluginThatRefusesStopsTheStart) {
    if (module("LAKE_HELLO_PLUGIN").empty()) GTEST_SKIP() << "LAKE_HELLO_PLUGIN not set";
    Router router;
    const std::string err = load_plugin(module("LAKE_HELLO_PLUGIN") + ":refuse", router);
    EXPECT_NE(err.find("refused to start (lake_plugin_init returned 7)"), std::string::npos) << err;
}

}  // namespace
}  // namespace lake::handlers
