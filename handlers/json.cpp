// GET /json — TechEmpower "json": a {"message":"Hello, World!"} object serialized per request
// by rapidjson, straight into the connection's response arena (no heap, no cached bytes, no
// copy: the bytes written are the bytes sent).
#include <string_view>

#include "arena_json.hpp"
#include "builtin.hpp"

namespace lake::handlers {

void json(const http::Request&, http::Response& response, void*) {
    // Lengths given: rapidjson measures a bare C string with a byte loop, each time.
    static constexpr std::string_view kKey = "message", kValue = "Hello, World!";
    json(response, [](ResponseJsonWriter& writer) {
        writer.StartObject();
        writer.Key(kKey.data(), static_cast<rapidjson::SizeType>(kKey.size()));
        writer.String(kValue.data(), static_cast<rapidjson::SizeType>(kValue.size()));
        writer.EndObject();
    });
}

}  // namespace lake::handlers
