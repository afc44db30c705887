// Request helpers a handler needs: path and query parameters, form fields and cookies by name,
// decoded into the request arena (no heap).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../../handlers/request.hpp"
#include "../../handlers/response.hpp"
#include "../../handlers/url_encoded.hpp"

namespace lake::http {
namespace {

TEST(UrlDecode, EscapesAndPlusAreDecodedIntoTheArena) {
    lake::Lake arena(4096);
    bool ok = false;
    EXPECT_EQ(url_decode("x%20y+z%2Fw", arena, ok), "x y z/w");
    EXPECT_TRUE(ok);
    const std::string_view plain = "plain";
    EXPECT_EQ(url_decode(plain, arena, ok).data(), plain.data());  // nothing to do: no copy
    EXPECT_EQ(url_decode("100%", arena, ok), "100%");              // a broken escape stays
    EXPECT_EQ(url_decode("%zz%4", arena, ok), "%zz%4");
    EXPECT_EQ(url_decode("%C3%A9", arena, ok), "\xC3\xA9");
}

TEST(UrlDecode, AFullArenaIsReportedNotOverrun) {
    lake::Lake arena(8);
    bool ok = true;
    EXPECT_EQ(url_decode("a+b+c+d+e+f+g+h+i", arena, ok), "");
    EXPECT_FALSE(ok);
}

TEST(UrlEncodedFields, PairsInOrderDecoded) {
    lake::Lake arena(4096);
    UrlEncodedFields f("a=1&b=x%20y&&flag&c=", &arena);
    std::vector<std::pair<std::string, std::string>> got;
    std::string_view n, v;
    while (f.next(n, v)) got.emplace_back(n, v);
    const std::vector<std::pair<std::string, std::string>> want = {
        {"a", "1"}, {"b", "x y"}, {"flag", ""}, {"c", ""}};
    EXPECT_EQ(got, want);
    EXPECT_FALSE(f.full());
}

struct Req {
    lake::Lake arena{4096};
    Header headers[3];
    Request r;
};

TEST(RequestHelpers, QueryParametersByName) {
    Req q;
    q.r.arena = &q.arena;
    q.r.query = "q=hello+world%21&n=2&q=second";
    EXPECT_EQ(q.r.query_param("q"), "hello world!");  // the first one
    EXPECT_EQ(q.r.query_param("n"), "2");
    EXPECT_EQ(q.r.query_param("missing"), "");
}

TEST(RequestHelpers, PathParametersAsSentOrDecoded) {
    Req q;
    q.r.arena = &q.arena;
    const PathParam params[] = {{"id", "a%20b+c%2Fd"}, {"plain", "42"}, {"broken", "100%"}};
    q.r.params = params;
    EXPECT_EQ(q.r.param("id"), "a%20b+c%2Fd");      // as sent
    EXPECT_EQ(q.r.decoded_param("id"), "a b+c/d");  // '+' is itself in a path
    EXPECT_EQ(q.r.decoded_param("plain").data(), params[1].value.data());  // no escape: no copy
    EXPECT_EQ(q.r.decoded_param("broken"), "100%");
    EXPECT_EQ(q.r.decoded_param("missing"), "");
    lake::Lake tiny(4);  // no room for the decoded value: empty, nothing written past the arena
    q.r.arena = &tiny;
    EXPECT_EQ(q.r.decoded_param("id"), "");
    q.r.arena = nullptr;
    EXPECT_EQ(q.r.decoded_param("id"), "");
    EXPECT_EQ(q.r.decoded_param("plain"), "42");
    bool ok = false;
    EXPECT_EQ(percent_decode("x%20y+z", q.arena, ok), "x y+z");
    EXPECT_TRUE(ok);
}

TEST(RequestHelpers, FormFieldsOnlyFromAFormBody) {
    Req q;
    q.r.arena = &q.arena;
    q.headers[0] = Header{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"};
    q.r.headers = std::span<const Header>(q.headers, 1);
    q.r.body = "a=1&b=x%20y";
    EXPECT_EQ(q.r.form_field("b"), "x y");
    std::string order;
    std::string_view n, v;
    for (UrlEncodedFields f = q.r.form_fields(); f.next(n, v);) order += std::string(n) + ",";
    EXPECT_EQ(order, "a,b,");
    // Parameters after optional whitespace, a tab as well as a space (RFC 9110 8.3.1, OWS).
    q.headers[0] = Header{"Content-Type", "application/x-www-form-urlencoded\t; charset=utf-8"};
    EXPECT_EQ(q.r.form_field("b"), "x y");
    q.headers[0] = Header{"Content-Type", "application/x-www-form-urlencodedx"};
    EXPECT_EQ(q.r.form_field("b"), "");
    EXPECT_FALSE(q.r.has_form_body());
    q.headers[0] = Header{"Content-Type", "text/plain"};
    EXPECT_EQ(q.r.form_field("b"), "");
    EXPECT_FALSE(q.r.has_form_body());
    q.headers[0] = Header{"content-type", "Application/X-WWW-Form-Urlencoded"};
    EXPECT_TRUE(q.r.has_form_body());
    EXPECT_EQ(q.r.form_field("b"), "x y");
}

// A look-up decodes the names before the field it wants (each given back once compared) and that
// field's value alone: what it takes from the arena is the value it returns. (Decoding every pair
// for every look-up, as it once did, filled this 1 KiB arena at the seventh look-up, and a field
// that was there then read as absent.)
TEST(RequestHelpers, ALookUpKeepsOnlyTheValueItReturns) {
    Req q;
    lake::Lake small(1024);
    q.r.arena = &small;
    q.headers[0] = Header{"Content-Type", "application/x-www-form-urlencoded"};
    q.r.headers = std::span<const Header>(q.headers, 1);
    std::string text;
    for (int i = 10; i < 22; ++i)
        text += "f%5F" + std::to_string(i) + "=" + std::string(40, '+') + "&";
    q.r.body = text;
    q.r.query = text;
    for (const bool in_query : {false, true}) {
        small.reset();
        for (int i = 10; i < 22; ++i) {
            const std::string name = "f_" + std::to_string(i);
            EXPECT_EQ(in_query ? q.r.query_param(name) : q.r.form_field(name), std::string(40, ' '))
                << name;
        }
        EXPECT_EQ(small.used(), 12u * 40);
        EXPECT_EQ(in_query ? q.r.query_param("f_9") : q.r.form_field("f_9"), "");
        EXPECT_EQ(small.used(), 12u * 40);
    }
}

TEST(RequestHelpers, CookiesByName) {
    Req q;
    q.headers[0] = Header{"Host", "t"};
    q.headers[1] = Header{"Cookie", "a=1; session=\"abc\";theme=dark;\tlang=en"};
    q.r.headers = std::span<const Header>(q.headers, 2);
    EXPECT_EQ(q.r.cookie("a"), "1");
    EXPECT_EQ(q.r.cookie("session"), "abc");
    EXPECT_EQ(q.r.cookie("theme"), "dark");
    EXPECT_EQ(q.r.cookie("lang"), "en");  // after a tab: whitespace, as a user agent trims it
    EXPECT_EQ(q.r.cookie("none"), "");
}

// Bytes that moved (the engine moves a request out of its receive buffer before a waiting handler
// runs): views into them follow to the same offsets, any other view stays.
TEST(Relocation, ViewsIntoTheMovedBytesFollowThem) {
    const char from[] = "GET /users/42?q=x";
    char to[sizeof(from)];
    std::memcpy(to, from, sizeof(from));
    const Relocation moved{from, sizeof(from) - 1, to};
    const std::string_view elsewhere = "static";
    EXPECT_EQ(moved(std::string_view(from + 4, 9)).data(), to + 4);
    EXPECT_EQ(moved(std::string_view(from + 4, 9)), "/users/42");
    EXPECT_EQ(moved(elsewhere).data(), elsewhere.data());
    EXPECT_EQ(moved(std::string_view()).data(), nullptr);
    EXPECT_EQ(moved(std::string_view(from + sizeof(from) - 1, 0)).data(),
              from + sizeof(from) - 1);  // just past the range: not moved

    Response r;
    ASSERT_TRUE(r.add_header("X-Id", std::string_view(from + 11, 2)));
    ASSERT_TRUE(r.add_header("X-Static", elsewhere));
    r.content_type = std::string_view(from + 14, 3);
    r.body = std::string_view(from, 3);  // a body set as a view
    r.relocate(moved);
    EXPECT_EQ(r.headers()[0].value.data(), to + 11);
    EXPECT_EQ(r.headers()[0].name, "X-Id");
    EXPECT_EQ(r.headers()[1].value.data(), elsewhere.data());
    EXPECT_EQ(r.content_type.data(), to + 14);
    EXPECT_EQ(r.body.data(), to);
    EXPECT_EQ(r.body, "GET");
}

}  // namespace
}  // namespace lake::http
