// GET /plaintext — TechEmpower "plaintext": the body buffer is static, the response around it
// is built per request by the connection.
#include "builtin.hpp"

namespace lake::handlers {

void plaintext(const http::Request&, http::Response& response, void*) {
    response.content_type = "text/plain";
    response.body = "Hello, World!";
}

}  // namespace lake::handlers
