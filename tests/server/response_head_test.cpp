// The response writer's checks on what a handler put in its response: a content type or header
// value with a control character or DEL anywhere, at any length, is refused (header injection);
// a tab is allowed. The check reads words of 8 bytes: every position must be covered.
#include <gtest/gtest.h>

#include <string>

#include "../../server/http/response_writer.hpp"

namespace lake::test {
namespace {

TEST(ResponseHead, AControlCharacterAnywhereInAValueIsRefused) {
    for (std::size_t n = 0; n <= 24; ++n) {
        const std::string clean(n, 'v');
        http::Response ok;
        ok.content_type = clean;
        ok.add_header("X-Value", clean);
        EXPECT_EQ(http::response_problem(ok), nullptr) << n;
        for (std::size_t at = 0; at < n; ++at) {
            for (char bad : {'\r', '\n', '\x01', '\x7f', '\0'}) {
                std::string v = clean;
                v[at] = bad;
                http::Response in_type, in_header;
                in_type.content_type = v;
                in_header.add_header("X-Value", v);
                EXPECT_NE(http::response_problem(in_type), nullptr)
                    << n << " " << at << " " << int(bad);
                EXPECT_NE(http::response_problem(in_header), nullptr) << n << " " << at;
            }
            std::string tab = clean;
            tab[at] = '\t';
            http::Response with_tab;
            with_tab.add_header("X-Value", tab);
            EXPECT_EQ(http::response_problem(with_tab), nullptr) << n << " " << at;
        }
    }
}

}  // namespace
}  // namespace lake::test
