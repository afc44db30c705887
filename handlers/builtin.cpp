#include "builtin.hpp"

namespace lake::handlers {

void add_builtin_handlers(Router& router) {
    router.add(http::Method::Get, "/plaintext", Handler{&plaintext, nullptr});
    router.add(http::Method::Get, "/json", Handler{&json, nullptr});
    router.add(http::Method::Post, "/echo", Handler{&echo, nullptr});
}

}  // namespace lake::handlers
