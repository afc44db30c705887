// HTTP-date (RFC 9110 §5.6.7): the three forms a recipient must read, what is not one of them,
// rfc850's two-digit years, and IMF-fixdate written as strftime would.
#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "../../handlers/http_date.hpp"

namespace lake::http {
namespace {

constexpr std::int64_t kDateNow = 1796083200;    // Tue, 01 Dec 2026 00:00:00 GMT
constexpr std::int64_t kRfcExample = 784111777;  // the RFC's example: Sun, 06 Nov 1994 08:49:37

TEST(HttpDate, TheThreeFormsOfTheRfcsExampleAreOneTime) {
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", kDateNow), kRfcExample);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", kDateNow), kRfcExample);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", kDateNow), kRfcExample);
    EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994", kDateNow), kRfcExample + 10 * 86400);
    EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", kDateNow), 0);
    EXPECT_EQ(parse_http_date("Tue, 01 Dec 2026 00:00:00 GMT", kDateNow), kDateNow);
    EXPECT_EQ(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT", kDateNow),
              -1);  // a time, not a failure
    EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT", kDateNow), 951782400);
    EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT", kDateNow),
              1483228800);  // leap second
}

TEST(HttpDate, WhatIsNotAnHttpDateIsRefused) {
    for (const char* bad : {
             "",
             "Sun, 06 Nov 1994 08:49:37 UTC",  // only GMT
             "sun, 06 Nov 1994 08:49:37 GMT",  // names are case-sensitive
             "Sun, 06 nov 1994 08:49:37 GMT",
             "Sun, 6 Nov 1994 08:49:37 GMT",    // IMF-fixdate's day has two digits
             "Sun, 06 Nov 1994 08:49:37 GMT ",  // nothing after it
             "Sun,  06 Nov 1994 08:49:37 GMT",
             "Sun, 06 Nov 94 08:49:37 GMT",
             "Sun, 31 Nov 1994 08:49:37 GMT",  // November has 30 days
             "Tue, 29 Feb 1900 00:00:00 GMT",  // 1900 was no leap year
             "Sun, 00 Nov 1994 08:49:37 GMT",
             "Sun, 06 Nov 1994 24:00:00 GMT",
             "Sun, 06 Nov 1994 08:60:00 GMT",
             "Sun, 06 Nov 1994 08:49:61 GMT",
             "Sun, 06 Nov 1994 8:49:37 GMT",
             "Sun, 06 Nov 1994 08:49:3a GMT",
             "Sunday, 06-Nov-1994 08:49:37 GMT",  // rfc850's year has two digits
             "Sun, 06-Nov-94 08:49:37 GMT",       // and its day name is the long one
             "Sunday, 06 Nov 94 08:49:37 GMT",
             "Sun Nov 6 08:49:37 1994",  // asctime: a one-digit day after two spaces
             "Sun Nov  6 08:49:37 1994 ",
             "Sun Nov 06 08:49:37 94",
             "1994-11-06T08:49:37Z",
             "784111777",
         }) {
        EXPECT_FALSE(parse_http_date(bad, kDateNow).has_value()) << bad;
    }
}

TEST(HttpDate, ATwoDigitYearMoreThanFiftyYearsAheadIsInThePast) {
    // In 2026: 76 is 2076 (50 years ahead, not more), 77 is 1977, 00 is 2000, 26 is 2026.
    auto year = [](const std::string& yy) {
        const auto t = parse_http_date("Friday, 01-Jan-" + yy + " 00:00:00 GMT", kDateNow);
        EXPECT_TRUE(t.has_value()) << yy;
        std::time_t s = static_cast<std::time_t>(t.value_or(0));
        std::tm tm{};
        ::gmtime_r(&s, &tm);
        return tm.tm_year + 1900;
    };
    EXPECT_EQ(year("76"), 2076);
    EXPECT_EQ(year("77"), 1977);
    EXPECT_EQ(year("94"), 1994);
    EXPECT_EQ(year("00"), 2000);
    EXPECT_EQ(year("26"), 2026);
    // Read in 2090, 40 is 2140 (more than 50 years ahead): 2040.
    const auto in_2090 = parse_http_date("Sunday, 01-Jan-40 00:00:00 GMT", 3786912000);
    ASSERT_TRUE(in_2090.has_value());
    EXPECT_EQ(*in_2090, 2208988800);  // 2040-01-01
}

TEST(HttpDate, WrittenAsStrftimeWritesItAndReadBack) {
    // Every 3 days, 7 hours and 11 seconds from 1900 to 2400: leap years, centuries, weekdays.
    for (std::int64_t t = -2208988800; t < 13569465600; t += 3 * 86400 + 7 * 3600 + 11) {
        char ours[kHttpDateSize];
        format_http_date(t, ours);
        const std::time_t s = static_cast<std::time_t>(t);
        std::tm tm{};
        ASSERT_NE(::gmtime_r(&s, &tm), nullptr);
        char theirs[64];
        const std::size_t n =
            std::strftime(theirs, sizeof(theirs), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        ASSERT_EQ(std::string(ours, kHttpDateSize), std::string(theirs, n)) << t;
        ASSERT_EQ(parse_http_date(std::string_view(ours, kHttpDateSize), kDateNow), t);
    }
}

}  // namespace
}  // namespace lake::http
