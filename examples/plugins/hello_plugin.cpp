// A sample handler plugin: GET /hello answers "Hello from a plugin, <argument>!".
// Build it like any shared library against the lake-server headers; load it with
// `lake-server --plugin path/to/libhello-plugin.so:world`.
#include <string>

#include "../../handlers/plugin.hpp"
#include "../../handlers/response_format.hpp"

namespace {

// Read-only after init, so every worker may use it at once.
std::string g_greeting;

void hello(const lake::http::Request&, lake::http::Response& response, void* context) {
    const auto* greeting = static_cast<const std::string*>(context);
    // Formatted by {fmt} straight into the response arena: no heap allocation, no copy.
    response.content_type = "text/plain";
    format(response, "{}\n", *greeting);
}

}  // namespace

LAKE_PLUGIN_DECLARE_ABI();

extern "C" int lake_plugin_init(lake::handlers::PluginHost& host) {
    const std::string& argument = host.config().argument;
    if (argument == "refuse") {
        host.refuse("asked to");
        return 7;
    }
    g_greeting = "Hello from a plugin, " + (argument.empty() ? "stranger" : argument) + "!";
    host.router().add(lake::http::Method::Get, "/hello", {&hello, &g_greeting});
    return 0;
}
