// POST /echo — answers 200 with the request body and the same Content-Type.
#include "builtin.hpp"

namespace lake::handlers {

void echo(const http::Request& request, http::Response& response, void*) {
    response.content_type = request.header("content-type");
    response.body = request.body;
}

}  // namespace lake::handlers
