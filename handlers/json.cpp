// GET /json — TechEmpower "json": a {"message":"Hello, World!"} object serialized per request
// by rapidjson, straight into the request arena (no heap, no cached bytes).
#include "arena_json.hpp"
#include "builtin.hpp"

namespace lake::handlers {

void json(const http::Request& request, http::Response& response, void*) {
    const std::string_view body = write_json(*request.arena, [](ArenaJsonWriter& writer) {
        writer.StartObject();
        writer.Key("message");
        writer.String("Hello, World!");
        writer.EndObject();
    });
    if (body.empty()) {
        response.status = 500;
        return;
    }
    response.content_type = "application/json";
    response.body = body;  // lives until the request arena is reset, after serialization
}

}  // namespace lake::handlers
