// A small JSON API as a handler plugin: path parameters, query and form decoding, a before-hook
// that guards /admin/ and an after-hook that adds CORS to every answer of the plugin. Every byte
// it builds goes into the request arena: no heap allocation per request.
//
//   GET  /users/{id}   → {"id":"<id>"}
//   GET  /search?q=... → the decoded q, as text
//   POST /form         → the decoded fields of a form body, in order, as a JSON object
//   GET  /admin/ping   → pong, with "Authorization: Bearer letmein" (401 without)
//
// Build: c++ -std=c++20 -shared -fPIC api_example.cpp $(pkg-config --cflags lake-server-plugin)
//        -o libapi_example.so
// Load:  lake-server --plugin ./libapi_example.so
#include "../../handlers/arena_json.hpp"
#include "../../handlers/plugin.hpp"

namespace {

using lake::handlers::ArenaJsonWriter;
using lake::handlers::write_json;
using lake::http::Request;
using lake::http::Response;

void json_answer(Response& response, std::string_view body) {
    if (body.empty()) {  // the arena had no room
        response.status = 500;
        return;
    }
    response.content_type = "application/json";
    response.body = body;
}

// GET /users/{id}
void user(const Request& request, Response& response, void*) {
    const std::string_view id = request.param("id");
    json_answer(response, write_json(*request.arena, [&](ArenaJsonWriter& w) {
                    w.StartObject();
                    w.Key("id");
                    w.String(id.data(), static_cast<rapidjson::SizeType>(id.size()));
                    w.EndObject();
                }));
}

// GET /search?q=...
void search(const Request& request, Response& response, void*) {
    response.content_type = "text/plain";
    response.body = request.query_param("q");
}

// POST /form (application/x-www-form-urlencoded)
void form(const Request& request, Response& response, void*) {
    if (request.header("content-type").empty()) {
        response.status = 415;
        return;
    }
    // The decoded fields go into the arena first, then the JSON after them: one pass each.
    std::string_view names[64], values[64];
    std::size_t n = 0;
    std::string_view name, value;
    for (auto fields = request.form_fields(); n < 64 && fields.next(name, value); ++n) {
        names[n] = name;
        values[n] = value;
    }
    json_answer(response, write_json(*request.arena, [&](ArenaJsonWriter& w) {
                    w.StartObject();
                    for (std::size_t i = 0; i < n; ++i) {
                        w.Key(names[i].data(), static_cast<rapidjson::SizeType>(names[i].size()));
                        w.String(values[i].data(),
                                 static_cast<rapidjson::SizeType>(values[i].size()));
                    }
                    w.EndObject();
                }));
}

// GET /admin/ping
void ping(const Request&, Response& response, void*) {
    response.content_type = "text/plain";
    response.body = "pong";
}

// Before every /admin/ route: answers 401 itself unless the right bearer token came.
bool require_token(const Request& request, Response& response, void*) {
    if (request.header("authorization") == "Bearer letmein") return false;
    response.status = 401;
    response.content_type = "text/plain";
    response.body = "unauthorized\n";
    response.add_header("WWW-Authenticate", "Bearer");
    return true;
}

// After every route of this plugin, early answers included.
bool cors(const Request&, Response& response, void*) {
    response.add_header("Access-Control-Allow-Origin", "*");
    return false;
}

}  // namespace

extern "C" const int lake_plugin_abi_version = LAKE_PLUGIN_ABI_VERSION;

extern "C" int lake_plugin_init(lake::handlers::Router& router, const char*) {
    using lake::http::Method;
    router.add(Method::Get, "/users/{id}", {&user, nullptr});
    router.add(Method::Get, "/search", {&search, nullptr});
    router.add(Method::Post, "/form", {&form, nullptr});
    router.add(Method::Get, "/admin/ping", {&ping, nullptr});
    router.add_before("/admin/", {&require_token, nullptr});
    for (const char* prefix : {"/users/", "/search", "/form", "/admin/"})
        router.add_after(prefix, {&cors, nullptr});
    return 0;
}
