// A small JSON API as a handler plugin: path parameters, query and form decoding, a before-hook
// that guards /admin/ and an after-hook that adds CORS to every answer of the plugin. Decoded
// values go into the request arena, JSON bodies straight into the response arena: no heap
// allocation per request, and no body copied on its way out.
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

using lake::handlers::json;
using lake::handlers::ResponseJsonWriter;
using lake::http::Request;
using lake::http::Response;

// GET /users/{id}: JSON written straight into the response (no copy).
void user(const Request& request, Response& response, void*) {
    const std::string_view id = request.param("id");
    json(response, [&](ResponseJsonWriter& w) {
        w.StartObject();
        w.Key("id");
        w.String(id.data(), static_cast<rapidjson::SizeType>(id.size()));
        w.EndObject();
    });
}

// GET /search?q=...: the decoded value lives in the request arena; the body is a view of it.
void search(const Request& request, Response& response, void*) {
    response.text(200, request.query_param("q"));
}

// POST /form (application/x-www-form-urlencoded): each field is decoded into the request arena
// while the JSON goes into the response arena, in one pass.
void form(const Request& request, Response& response, void*) {
    if (!request.has_form_body()) {
        response.text(415, "a form body is application/x-www-form-urlencoded\n");
        return;
    }
    json(response, [&](ResponseJsonWriter& w) {
        w.StartObject();
        std::string_view name, value;
        for (auto fields = request.form_fields(); fields.next(name, value);) {
            w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
            w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
        }
        w.EndObject();
    });
}

// GET /admin/ping
void ping(const Request&, Response& response, void*) { response.text(200, "pong"); }

// Before every /admin/ route: answers 401 itself unless the right bearer token came. The
// expected header is built once at start-up from the plugin's settings (read-only afterwards,
// so every worker shares it).
std::string g_expected_authorization;

bool require_token(const Request& request, Response& response, void*) {
    if (request.header("authorization") == g_expected_authorization) return false;
    response.text(401, "unauthorized\n");
    response.add_header("WWW-Authenticate", "Bearer");
    return true;
}

// After every route of this plugin, early answers included.
bool cors(const Request&, Response& response, void*) {
    response.add_header({"Access-Control-Allow-Origin", "*"});  // checked when compiled
    return false;
}

}  // namespace

LAKE_PLUGIN_DECLARE_ABI();

// [plugins.api_example] in the configuration file may set `token` (default "letmein").
extern "C" int lake_plugin_init(lake::handlers::PluginHost& host) {
    using lake::http::Method;
    g_expected_authorization = "Bearer " + host.config().get_or<std::string>("token", "letmein");
    lake::handlers::Router& router = host.router();
    router.add(Method::Get, "/users/{id}", {&user, nullptr});
    router.add(Method::Get, "/search", {&search, nullptr});
    router.add(Method::Post, "/form", {&form, nullptr});
    router.add(Method::Get, "/admin/ping", {&ping, nullptr});
    router.add_before("/admin/", {&require_token, nullptr});
    for (const char* prefix : {"/users/", "/search", "/form", "/admin/"})
        router.add_after(prefix, {&cors, nullptr});
    return 0;
}
