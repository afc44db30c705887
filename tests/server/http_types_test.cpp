// Request and Response are reset in place for every request: reset() must give exactly what a
// freshly constructed one has, or the next request would see the previous one's leftovers.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "../../handlers/request.hpp"
#include "../../handlers/response.hpp"
#include "../../server/http/request_parser.hpp"

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
    EXPECT_TRUE(r.headers().empty());
    EXPECT_FALSE(r.body_in_response_arena());
}

// Headers are not bounded by a fixed array: past the inline ones they move to the request arena
// (without one, the inline ones are all there is).
TEST(HttpTypes, AResponseTakesAnyNumberOfHeaders) {
    lake::Lake scratch(16384);
    http::Response r;
    r.bind(&scratch, nullptr);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(r.add_header("X-N", i % 2 ? "odd" : "even")) << i;
    ASSERT_EQ(r.headers().size(), 100u);
    EXPECT_EQ(r.headers()[99].value, "odd");
    const http::Response copy = r;
    EXPECT_EQ(copy.headers().size(), 100u);
    http::Response unbound;
    int added = 0;
    while (unbound.add_header("X", "y") && added < 100) ++added;
    EXPECT_EQ(added, 8);
}

// Set-Cookie from its parts, in the request arena; what RFC 6265 does not allow is refused
// whole (a value with a ';' would set an attribute of the client's choosing).
TEST(HttpTypes, SetCookieWritesTheAttributesAndRefusesWhatTheRfcDoesNot) {
    lake::Lake scratch(4096);
    http::Response r;
    r.bind(&scratch, nullptr);
    ASSERT_TRUE(r.set_cookie("id", "abc123"));
    ASSERT_TRUE(r.set_cookie("theme", "\"dark\"",
                             {.path = "/app",
                              .domain = "example.com",
                              .max_age = 3600,
                              .http_only = false,
                              .secure = true,
                              .same_site = http::SameSite::Strict}));
    ASSERT_TRUE(r.set_cookie("gone", "", {.max_age = 0, .same_site = http::SameSite::Unset}));
    ASSERT_EQ(r.headers().size(), 3u);
    EXPECT_EQ(r.headers()[0].name, "Set-Cookie");
    EXPECT_EQ(r.headers()[0].value, "id=abc123; Path=/; HttpOnly; SameSite=Lax");
    EXPECT_EQ(r.headers()[1].value,
              "theme=\"dark\"; Path=/app; Domain=example.com; Max-Age=3600; Secure; "
              "SameSite=Strict");
    EXPECT_EQ(r.headers()[2].value, "gone=; Path=/; Max-Age=0; HttpOnly");
    const std::size_t used = scratch.used();
    EXPECT_FALSE(r.set_cookie("a b", "x"));  // the name is no token
    EXPECT_FALSE(r.set_cookie("", "x"));
    EXPECT_FALSE(r.set_cookie("id", "x; Domain=evil"));  // ';' in the value
    EXPECT_FALSE(r.set_cookie("id", "a b"));
    EXPECT_FALSE(r.set_cookie("id", "caf\xC3\xA9"));  // not US-ASCII
    EXPECT_FALSE(r.set_cookie("id", "x", {.path = "/a;b"}));
    EXPECT_FALSE(r.set_cookie("id", "x", {.domain = "a\r\nX: y"}));
    EXPECT_FALSE(r.set_cookie("id", "x", {.same_site = http::SameSite::None}));  // needs Secure
    EXPECT_TRUE(r.set_cookie("id", "x", {.secure = true, .same_site = http::SameSite::None}));
    EXPECT_EQ(r.headers().size(), 4u);
    EXPECT_GT(scratch.used(), used);
    // No arena, or no room in it: refused, nothing added.
    http::Response unbound;
    EXPECT_FALSE(unbound.set_cookie("id", "x"));
    lake::Lake tiny(16);
    http::Response small;
    small.bind(&tiny, nullptr);
    EXPECT_FALSE(small.set_cookie("session", std::string(64, 'v')));
    EXPECT_EQ(small.headers().size(), 0u);
}

// A ConstantHeader is marked as checked wherever it lands: in the inline array or, past it, in
// the request arena (its own out-of-line path); a run-time header between them is not, and
// reset() clears the marks.
TEST(HttpTypes, ConstantHeadersStayMarkedCheckedPastTheInlineOnes) {
    lake::Lake scratch(16384);
    http::Response r;
    r.bind(&scratch, nullptr);
    for (int i = 0; i < 40; ++i) {
        if (i == 9 || i == 20) {
            ASSERT_TRUE(r.add_header("X-Run-Time", "v")) << i;
        } else {
            ASSERT_TRUE(r.add_header({"X-Constant", "yes"})) << i;
        }
    }
    ASSERT_EQ(r.headers().size(), 40u);
    for (std::size_t i = 0; i < 32; ++i)
        EXPECT_EQ(r.checked_when_compiled(i), i != 9 && i != 20) << i;
    for (std::size_t i = 32; i < 40; ++i)
        EXPECT_FALSE(r.checked_when_compiled(i)) << i;  // checked at run time
    EXPECT_EQ(r.header_bytes(), 38 * (10 + 3) + 2 * (10 + 1));
    r.reset();
    ASSERT_TRUE(r.add_header("X-Run-Time", "v"));
    EXPECT_FALSE(r.checked_when_compiled(0));
    // Without a request arena the inline ones are all there are: the ninth is refused, unmarked.
    http::Response unbound;
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(unbound.add_header({"X-Constant", "yes"}));
    EXPECT_FALSE(unbound.add_header({"X-Constant", "yes"}));
    EXPECT_EQ(unbound.headers().size(), 8u);
    EXPECT_FALSE(unbound.checked_when_compiled(8));
}

// A written body goes into the response arena after room for the head; when that arena is full
// it continues in the request arena with the bytes so far; when neither holds it, overflowed().
TEST(HttpTypes, AWrittenBodyGoesToTheResponseArenaThenTheRequestArena) {
    lake::Lake scratch(8192);
    lake::Lake out(2048);
    http::Response r;
    r.bind(&scratch, &out);
    ASSERT_TRUE(r.append("hello "));
    ASSERT_TRUE(r.append("world"));
    EXPECT_TRUE(r.body_in_response_arena());
    EXPECT_EQ(r.body, "hello world");
    EXPECT_EQ(reinterpret_cast<const std::byte*>(r.body.data()),
              r.head_room() + http::Response::kHeadRoom);  // right after the head's room
    const std::string big(3000, 'b');                      // more than the response arena has left
    ASSERT_TRUE(r.append(big));
    EXPECT_FALSE(r.body_in_response_arena());
    EXPECT_EQ(r.body, "hello world" + big);
    EXPECT_EQ(out.used(), 0u);  // the response arena got back what it lent
    EXPECT_FALSE(r.append(std::string(8192, 'x')));
    EXPECT_TRUE(r.overflowed());

    http::Response p;
    p.bind(&scratch, &out);
    p.reset();
    scratch.reset();
    const std::span<char> room = p.prepare(100);
    ASSERT_EQ(room.size(), 100u);
    std::memcpy(room.data(), "abc", 3);
    p.commit(3);
    EXPECT_EQ(p.body, "abc");
    // The unused 97 stay in the response arena as spare: the next prepare() takes them first
    // (no new allocation), and release_spare() gives back what is left.
    EXPECT_EQ(p.spare(), 97u);
    EXPECT_EQ(out.used(), http::Response::kHeadRoom + 100);
    const std::span<char> more = p.prepare(10);
    ASSERT_EQ(more.size(), 10u);
    EXPECT_EQ(more.data(), p.body.data() + 3);  // contiguous with the body
    std::memcpy(more.data(), "defg", 4);
    p.commit(4);
    EXPECT_EQ(p.body, "abcdefg");
    EXPECT_EQ(p.spare(), 93u);
    EXPECT_EQ(out.used(), http::Response::kHeadRoom + 100);
    const std::span<char> big_room = p.prepare(200);  // more than the spare: the arena grows
    ASSERT_EQ(big_room.size(), 200u);
    EXPECT_EQ(big_room.data(), p.body.data() + 7);
    p.commit(0);
    EXPECT_EQ(p.body, "abcdefg");
    EXPECT_EQ(p.spare(), 200u);
    p.release_spare();
    EXPECT_EQ(p.spare(), 0u);
    EXPECT_EQ(out.used(), http::Response::kHeadRoom + 7);
    // A body moving to the request arena takes the spare back with it.
    ASSERT_FALSE(p.prepare(64).empty());
    p.commit(1);
    ASSERT_TRUE(p.append(std::string(3000, 'z')));
    EXPECT_FALSE(p.body_in_response_arena());
    EXPECT_EQ(p.spare(), 0u);
    EXPECT_EQ(out.used(), 0u);
}

// The parser keeps the target and header limits in 32 bits: a limit of 4 GiB or more acts as
// 4 GiB - 2 (as the strict head scan does), never as what a plain cast would leave of it (0 for
// exactly 4 GiB, which would refuse every request with 414 or 431).
struct NoBodyBuffers : http::BodyBuffers {
    lake::LakeView* acquire_body_buffer() noexcept override { return nullptr; }
    void release_body_buffer(lake::LakeView*) noexcept override {}
    bool stream_body(const http::Request&) noexcept override { return false; }
};

TEST(HttpTypes, ParseLimitsOf4GiBAndMoreActAsTheLargest32BitOnes) {
    for (const std::size_t limit :
         {std::size_t{1} << 32, (std::size_t{1} << 33) + 5, ~std::size_t{0}}) {
        lake::Lake lake(64 * 1024);
        lake::LakeView view(lake, 16 * 1024);
        NoBodyBuffers buffers;
        http::RequestParser parser(view, buffers, http::ParseLimits{limit, limit, 16, limit});
        const std::string wire =
            "POST /a/long/enough/path?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            "X-Long: " +
            std::string(300, 'v') + "\r\n\r\nhi";
        const http::ParseStep step = parser.feed(wire.data(), wire.size());
        ASSERT_EQ(step.event, http::ParseEvent::Complete) << parser.error_reason();
        EXPECT_EQ(parser.request().path, "/a/long/enough/path");
        EXPECT_EQ(parser.request().header("x-long").size(), 300u);
        EXPECT_EQ(parser.request().body, "hi");
    }
}

}  // namespace
}  // namespace lake::test
