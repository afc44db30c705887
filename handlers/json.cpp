// GET /json — TechEmpower "json": a {"message":"Hello, World!"} object serialized per request
// by rapidjson, straight into the connection's response arena (no heap, no cached bytes, no
// copy: the bytes written are the bytes sent).
#include "arena_json.hpp"
#include "builtin.hpp"

namespace lake::handlers {

void json(const http::Request&, http::Response& response, void*) {
    json(response, [](ResponseJsonWriter& writer) {
        writer.StartObject();
        writer.Key("message");
        writer.String("Hello, World!");
        writer.EndObject();
    });
}

}  // namespace lake::handlers
