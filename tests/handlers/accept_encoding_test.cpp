// Accept-Encoding (RFC 9110 12.5.3) read for one content coding: weights, "*", every field.
#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "../../handlers/accept_encoding.hpp"

namespace lake::http {
namespace {

int weight(std::initializer_list<const char*> fields, std::string_view coding) {
    std::vector<Header> headers;
    headers.push_back(Header{"Host", "t"});
    for (const char* f : fields) headers.push_back(Header{"Accept-Encoding", f});
    Request r;
    r.headers = std::span<const Header>(headers.data(), headers.size());
    return coding_weight(r, coding);
}

TEST(AcceptEncoding, ACodingListedWithoutAWeightHasTheFullOne) {
    EXPECT_EQ(weight({"gzip, deflate, br"}, "gzip"), 1000);
    EXPECT_EQ(weight({"gzip, deflate, br"}, "br"), 1000);
    EXPECT_EQ(weight({"GZIP"}, "gzip"), 1000);    // case-insensitive
    EXPECT_EQ(weight({"x-gzip"}, "gzip"), 1000);  // the same coding (9110 8.4.1.3)
    EXPECT_EQ(weight({"deflate, identity"}, "gzip"), 0);
    EXPECT_EQ(weight({}, "gzip"), 0);  // no header: the file as it is
    EXPECT_EQ(weight({""}, "gzip"), 0);
    EXPECT_EQ(weight({"gzipped"}, "gzip"), 0);
}

TEST(AcceptEncoding, WeightsAreQvaluesInThousandths) {
    EXPECT_EQ(weight({"br;q=0.5, gzip;q=0.8"}, "br"), 500);
    EXPECT_EQ(weight({"br;q=0.5, gzip;q=0.8"}, "gzip"), 800);
    EXPECT_EQ(weight({"gzip ; q = 0.125"}, "gzip"), 125);  // blanks around ';' and '='
    EXPECT_EQ(weight({"gzip;Q=1.000"}, "gzip"), 1000);
    EXPECT_EQ(weight({"gzip;q=0"}, "gzip"), 0);  // refused
    EXPECT_EQ(weight({"gzip;q=0.000"}, "gzip"), 0);
    // Malformed weights: the element is skipped.
    for (const char* bad : {"gzip;q=1.5", "gzip;q=2", "gzip;q=0.1234", "gzip;q=", "gzip;q=.5",
                            "gzip;q=1.001", "gzip;q", "gzip;q=0,5"})
        EXPECT_EQ(weight({bad}, "gzip"), 0) << bad;
}

TEST(AcceptEncoding, TheCodingsOwnEntryWinsOverTheWildcard) {
    EXPECT_EQ(weight({"*"}, "br"), 1000);
    EXPECT_EQ(weight({"*;q=0.3"}, "gzip"), 300);
    EXPECT_EQ(weight({"*, gzip;q=0"}, "gzip"), 0);
    EXPECT_EQ(weight({"gzip;q=0, *"}, "gzip"), 0);
    EXPECT_EQ(weight({"*;q=0, br"}, "br"), 1000);
    EXPECT_EQ(weight({"*;q=0, br"}, "gzip"), 0);
}

TEST(AcceptEncoding, EveryFieldCountsAndEmptyElementsAreSkipped) {
    EXPECT_EQ(weight({"deflate", "br;q=0.7"}, "br"), 700);
    EXPECT_EQ(weight({", ,gzip,"}, "gzip"), 1000);
    EXPECT_EQ(weight({"identity", "*;q=0.2"}, "gzip"), 200);
}

}  // namespace
}  // namespace lake::http
