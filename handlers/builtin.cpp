#include "builtin.hpp"

namespace lake::handlers {

void add_builtin_handlers(Router& router) {
    router.add(http::Method::Get, "/plaintext", Handler{&plaintext, nullptr});
    router.add(http::Method::Get, "/json", Handler{&json, nullptr});
    router.add(http::Method::Post, "/echo", Handler{&echo, nullptr});
}

}  // namespace lake::handlers

// The built-in handlers run on every request to them but outside the request path's hot run
// (server/main.cpp): this object is linked first of them (echo, json with its RapidJSON writer,
// plaintext follow), and the aligned function below raises its code section's alignment to
// 4 KiB, so that their lines fall in the same instruction-cache sets whatever the code linked
// before them weighs (as llhttp's do, server/http/llhttp_aligned.c). Without it, a change to
// start-up or cold code in server/ moved them against the hot run (docs/loadtest.md, fifteenth
// session).
#if defined(__x86_64__) && defined(__ELF__)
extern "C" __attribute__((aligned(4096), used, noinline)) void lake_builtins_aligned() {}
#endif
