// A control for loadtest/compare's plugin_routing: GET /users/42 as an exact path whose handler
// writes examples/plugins/api_example's answer to /users/{id} itself, byte for byte (the same
// JSON through the same RapidJSON writer, the same CORS header), with no route parameter and no
// after-hook. api_example's /users/42 over this one's is what the parameter route and the hook
// cost, with the same bytes on the wire for the client to parse.
#include "../handlers/arena_json.hpp"
#include "../handlers/plugin.hpp"

// Where this plugin's code starts within a 4 KiB page decides which instruction-cache sets it
// shares with the server's hot code (a page's offset survives address randomization). A
// control must not pay misses the example does not: this lead was swept (loadtest/instructions
// --cache-sim) to one where it misses as often as api_example does.
#ifndef LAKE_CONTROL_LEAD
#define LAKE_CONTROL_LEAD 512
#endif
#define LAKE_STR2(x) #x
#define LAKE_STR(x) LAKE_STR2(x)
asm(".text\n.p2align 12\n.skip " LAKE_STR(LAKE_CONTROL_LEAD) ", 0xcc\n");

namespace {

void user_42(const lake::http::Request& request, lake::http::Response& response, void*) {
    // From the path, not a literal: a constant would let the compiler fold the JSON writing.
    const std::string_view id = request.path.substr(std::string_view("/users/").size());
    lake::handlers::json(response, [&](lake::handlers::ResponseJsonWriter& w) {
        w.StartObject();
        w.Key("id");
        w.String(id.data(), static_cast<rapidjson::SizeType>(id.size()));
        w.EndObject();
    });
    response.add_header({"Access-Control-Allow-Origin", "*"});
}

}  // namespace

LAKE_PLUGIN_DECLARE_ABI();

extern "C" int lake_plugin_init(lake::handlers::PluginHost& host) {
    host.router().add(lake::http::Method::Get, "/users/42", {&user_42, nullptr});
    return 0;
}
