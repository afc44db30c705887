// A sample handler plugin: GET /hello answers "Hello from a plugin, <argument>!".
// Build it like any shared library against the lake-server headers; load it with
// `lake-server --plugin path/to/libhello-plugin.so:world`.
#include <cstdio>
#include <string>

#include "../../handlers/plugin.hpp"

namespace {

// Read-only after init, so every worker may use it at once.
std::string g_greeting;

void hello(const lake::http::Request& request, lake::http::Response& response, void* context) {
    const auto* greeting = static_cast<const std::string*>(context);
    // Built in the request arena: no heap allocation per request.
    lake::DropletDyn body = request.arena->process([&](std::span<std::byte> free) {
        return std::snprintf(reinterpret_cast<char*>(free.data()), free.size(), "%s\n",
                             greeting->c_str());
    });
    response.content_type = "text/plain";
    response.body = body.as_chars();
    body.leak();
}

}  // namespace

extern "C" const int lake_plugin_abi_version = LAKE_PLUGIN_ABI_VERSION;

extern "C" int lake_plugin_init(lake::handlers::Router& router, const char* argument) {
    if (std::string(argument) == "refuse") return 7;
    g_greeting = "Hello from a plugin, " + std::string(*argument ? argument : "stranger") + "!";
    router.add(lake::http::Method::Get, "/hello", {&hello, &g_greeting});
    return 0;
}
