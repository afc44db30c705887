// Request and Response are reset in place for every request: reset() must give exactly what a
// freshly constructed one has, or the next request would see the previous one's leftovers.
#include <gtest/gtest.h>

#include "../../server/http/request.hpp"
#include "../../server/http/response.hpp"

namespace lake::test {
namespace {

TEST(HttpTypes, ResetRequestEqualsAFreshOne) {
    static const http::Header header{"Host", "x"};
    http::Request r;
    r.method = http::Method::Post;
    r.method_name = r.target = r.path = r.query = r.body = "used";
    r.version_minor = 0;
    r.headers = std::span<const http::Header>(&header, 1);
    r.keep_alive = false;
    lake::Lake lake(1024);
    r.arena = &lake;
    r.reset();
    const http::Request fresh;
    EXPECT_EQ(r.method, fresh.method);
    EXPECT_EQ(r.method_name, fresh.method_name);
    EXPECT_EQ(r.target, fresh.target);
    EXPECT_EQ(r.path, fresh.path);
    EXPECT_EQ(r.query, fresh.query);
    EXPECT_EQ(r.body, fresh.body);
    EXPECT_EQ(r.version_minor, fresh.version_minor);
    EXPECT_TRUE(r.headers.empty());
    EXPECT_EQ(r.keep_alive, fresh.keep_alive);
    EXPECT_EQ(r.arena, fresh.arena);
}

TEST(HttpTypes, ResetResponseEqualsAFreshOne) {
    http::Response r;
    r.status = 404;
    r.content_type = "text/html";
    r.body = "gone";
    r.close = true;
    ASSERT_TRUE(r.add_header("X-A", "1"));
    r.reset();
    const http::Response fresh;
    EXPECT_EQ(r.status, fresh.status);
    EXPECT_EQ(r.content_type, fresh.content_type);
    EXPECT_EQ(r.body, fresh.body);
    EXPECT_EQ(r.close, fresh.close);
    EXPECT_EQ(r.extra_count, 0);
    // Room for all extra headers again.
    for (std::size_t i = 0; i < http::Response::kMaxExtraHeaders; ++i)
        EXPECT_TRUE(r.add_header("X", "y"));
    EXPECT_FALSE(r.add_header("X", "y"));
}

}  // namespace
}  // namespace lake::test
