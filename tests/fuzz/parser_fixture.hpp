// tests/fuzz/parser_fixture.hpp — a request parser with its views and large buffers, owned
// here the way a connection owns them (the parser borrows, the owner resets and takes back).
#pragma once

#include <cstddef>
#include <string>

#include "../../server/http/request_parser.hpp"
#include "../../server/large_buffers.hpp"

namespace lake::fuzz {

struct ParserFixture : lake::http::BodyBuffers {
    // Small limits by default, so that fuzzing reaches them.
    explicit ParserFixture(lake::http::ParseLimits limits = {2048, 8192, 32, 65536})
        : parser{view, *this, limits} {}

    lake::Lake lake{std::size_t{8} << 20};
    lake::server::LargeBufferPool pool{lake, 2, 2 * 65536 + 65536, 0};
    lake::LakeView view{lake, 32 * 1024};
    lake::http::RequestParser parser;

    lake::LakeView* acquire_body_buffer() noexcept override { return pool.acquire(0); }
    void release_body_buffer(lake::LakeView* v) noexcept override { pool.release(v, 0); }
    // Bodies of paths under /s are streamed (BodyPart events), the rest kept whole.
    bool stream_body(const lake::http::Request& r) noexcept override {
        return r.path.size() >= 2 && r.path[0] == '/' && r.path[1] == 's';
    }
    std::string streamed;  // the streamed body so far, gathered by the fuzz targets

    void next_request() noexcept {
        streamed.clear();
        pool.release(parser.take_large(), 0);
        view.reset();
        parser.start();
    }
    void new_connection() noexcept {
        streamed.clear();
        pool.release(parser.take_large(), 0);
        view.reset();
        parser.reset_connection();
    }
};

}  // namespace lake::fuzz
