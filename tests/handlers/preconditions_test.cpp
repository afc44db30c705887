// Conditional requests (RFC 9110 §13): each header's outcome, the order of §13.2.2 when they
// come together, and If-Range.
#include <gtest/gtest.h>

#include <vector>

#include "../../handlers/preconditions.hpp"

namespace lake::http {
namespace {

constexpr std::int64_t kRequestTime = 1796083200;  // Tue, 01 Dec 2026 00:00:00 GMT
constexpr std::int64_t kModified = 784111777;      // Sun, 06 Nov 1994 08:49:37 GMT
constexpr std::string_view kEtag = "\"5f-1c\"";
const Validators kFile{kEtag, kModified};

constexpr const char* kAtModified = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr const char* kBefore = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr const char* kAfter = "Sun, 06 Nov 1994 08:49:38 GMT";

// The outcome for a GET (or `method`) with these header lines.
int outcome(std::vector<Header> headers, Method method = Method::Get) {
    Request r;
    r.method = method;
    r.headers = headers;
    return evaluate_preconditions(r, kFile, kRequestTime);
}

bool range_holds(std::string_view if_range, std::int64_t now = kRequestTime) {
    const Header h[] = {{"If-Range", if_range}};
    Request r;
    r.headers = h;
    return if_range_holds(r, kFile, now);
}

TEST(Preconditions, NoneAtAllGoesOn) { EXPECT_EQ(outcome({{"Range", "bytes=0-1"}}), 0); }

TEST(Preconditions, IfMatchComparesStronglyOverEveryLine) {
    EXPECT_EQ(outcome({{"If-Match", "\"5f-1c\""}}), 0);
    EXPECT_EQ(outcome({{"If-Match", "*"}}), 0);
    EXPECT_EQ(outcome({{"If-Match", " \"a\", \"5f-1c\" "}}), 0);
    EXPECT_EQ(outcome({{"If-Match", "\"a\""}, {"if-match", "\"5f-1c\""}}), 0);  // a second line
    EXPECT_EQ(outcome({{"If-Match", "\"a,b\",\"5f-1c\""}}), 0);  // a comma inside a tag
    EXPECT_EQ(outcome({{"If-Match", "\"other\""}}), 412);
    EXPECT_EQ(outcome({{"If-Match", "W/\"5f-1c\""}}), 412);  // weak never matches strongly
    EXPECT_EQ(outcome({{"If-Match", "5f-1c"}}), 412);        // not an entity tag
    EXPECT_EQ(outcome({{"If-Match", "\"5f-1c"}}), 412);
    EXPECT_EQ(outcome({{"If-Match", "\"x\"y, \"5f-1c\""}}), 412);
    EXPECT_EQ(outcome({{"If-Match", ""}}), 412);  // present, and names nothing
}

TEST(Preconditions, IfUnmodifiedSinceFailsForALaterChangeAndIsIgnoredWhenNotADate) {
    EXPECT_EQ(outcome({{"If-Unmodified-Since", kAtModified}}), 0);
    EXPECT_EQ(outcome({{"If-Unmodified-Since", kAfter}}), 0);
    EXPECT_EQ(outcome({{"If-Unmodified-Since", kBefore}}), 412);
    EXPECT_EQ(outcome({{"If-Unmodified-Since", "Sunday, 06-Nov-94 08:49:36 GMT"}}), 412);
    EXPECT_EQ(outcome({{"If-Unmodified-Since", "yesterday"}}), 0);
    // If-Match decides alone when present (§13.1.4): a failing date after it does not count.
    EXPECT_EQ(outcome({{"If-Match", "*"}, {"If-Unmodified-Since", kBefore}}), 0);
}

TEST(Preconditions, IfNoneMatchComparesWeaklyAndAnswers304ToGetAndHead) {
    EXPECT_EQ(outcome({{"If-None-Match", "\"5f-1c\""}}), 304);
    EXPECT_EQ(outcome({{"If-None-Match", "W/\"5f-1c\""}}), 304);
    EXPECT_EQ(outcome({{"If-None-Match", "\"a\", W/\"5f-1c\""}}), 304);
    EXPECT_EQ(outcome({{"If-None-Match", "*"}}), 304);
    EXPECT_EQ(outcome({{"If-None-Match", "\"5f-1c\""}}, Method::Head), 304);
    EXPECT_EQ(outcome({{"If-None-Match", "\"5f-1c\""}}, Method::Post), 412);
    EXPECT_EQ(outcome({{"If-None-Match", "\"other\""}}), 0);
    EXPECT_EQ(outcome({{"If-None-Match", "garbage"}}), 0);
}

TEST(Preconditions, IfModifiedSinceInEveryDateFormOnlyWithoutIfNoneMatch) {
    EXPECT_EQ(outcome({{"If-Modified-Since", kAtModified}}), 304);
    EXPECT_EQ(outcome({{"If-Modified-Since", kAfter}}), 304);
    EXPECT_EQ(outcome({{"If-Modified-Since", kBefore}}), 0);
    EXPECT_EQ(outcome({{"If-Modified-Since", "Sunday, 06-Nov-94 08:49:37 GMT"}}), 304);
    EXPECT_EQ(outcome({{"If-Modified-Since", "Sun Nov  6 08:49:37 1994"}}), 304);
    EXPECT_EQ(outcome({{"If-Modified-Since", "not a date"}}), 0);
    EXPECT_EQ(outcome({{"If-Modified-Since", kAtModified}}, Method::Post), 0);  // GET, HEAD only
    // If-None-Match present: If-Modified-Since is not looked at (§13.1.3).
    EXPECT_EQ(outcome({{"If-None-Match", "\"other\""}, {"If-Modified-Since", kAtModified}}), 0);
}

TEST(Preconditions, TheOrderOfSection13_2_2) {
    // A failing If-Match is 412 even when If-None-Match would give 304.
    EXPECT_EQ(outcome({{"If-None-Match", "\"5f-1c\""}, {"If-Match", "\"other\""}}), 412);
    EXPECT_EQ(outcome({{"If-Modified-Since", kAtModified}, {"If-Unmodified-Since", kBefore}}), 412);
    // Passing write-side conditions go on to the cache's.
    EXPECT_EQ(outcome({{"If-Match", "\"5f-1c\""}, {"If-None-Match", "\"5f-1c\""}}), 304);
}

TEST(Preconditions, IfRangeNamesTheRepresentationByStrongTagOrStrongDate) {
    EXPECT_TRUE(range_holds(""));  // absent
    EXPECT_TRUE(range_holds("\"5f-1c\""));
    EXPECT_FALSE(range_holds("\"other\""));
    EXPECT_FALSE(range_holds("W/\"5f-1c\""));
    EXPECT_TRUE(range_holds(kAtModified));
    EXPECT_TRUE(range_holds("Sunday, 06-Nov-94 08:49:37 GMT"));
    EXPECT_FALSE(range_holds(kAfter));  // not exactly Last-Modified
    EXPECT_FALSE(range_holds(kBefore));
    EXPECT_FALSE(range_holds("tomorrow"));
    // Last-Modified in the second of the response's Date is weak (§8.8.2.2): no match.
    EXPECT_FALSE(range_holds(kAtModified, kModified));
    EXPECT_TRUE(range_holds(kAtModified, kModified + 1));
}

}  // namespace
}  // namespace lake::http
