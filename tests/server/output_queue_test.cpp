// The connection's output side on its own (server/output_queue.hpp): no socket, no ring.
#include <gtest/gtest.h>

#include <cstring>

#include "../../server/output_queue.hpp"

namespace lake::server {
namespace {

std::span<std::byte> bytes(char* p, std::size_t n) { return {reinterpret_cast<std::byte*>(p), n}; }

TEST(OutputQueue, AdjacentRangesMergeIntoOneSend) {
    char buf[64] = {};
    OutputQueue q;
    q.clear();
    ASSERT_TRUE(q.queue(bytes(buf, 10)));
    ASSERT_TRUE(q.queue(bytes(buf + 10, 20)));  // right after: merged
    EXPECT_EQ(q.free_ranges(), OutputQueue::kMaxRanges - 1);
    OutputQueue::Send s;
    ASSERT_TRUE(q.start_send(s));
    EXPECT_EQ(s.msg, nullptr);
    EXPECT_EQ(s.data, buf);
    EXPECT_EQ(s.len, 30u);
    EXPECT_FALSE(q.start_send(s)) << "one send in flight at a time";
    const OutputQueue::Sent done = q.on_sent(30);
    EXPECT_TRUE(done.ranges_drained);
    EXPECT_FALSE(done.short_send);
    EXPECT_TRUE(q.empty());
}

TEST(OutputQueue, SeveralRangesGoInOneSendmsgAndAShortSendResumes) {
    char a[16], b[16], c[16];
    OutputQueue q;
    q.clear();
    ASSERT_TRUE(q.queue(bytes(a, 16)));
    ASSERT_TRUE(q.queue(bytes(c, 8)));
    ASSERT_TRUE(q.queue(bytes(b, 4)));
    OutputQueue::Send s;
    ASSERT_TRUE(q.start_send(s));
    ASSERT_NE(s.msg, nullptr);
    EXPECT_EQ(s.msg->msg_iovlen, 3u);
    EXPECT_EQ(s.len, 28u);
    OutputQueue::Sent done = q.on_sent(20);  // all of a, half of c
    EXPECT_TRUE(done.short_send);
    EXPECT_FALSE(done.ranges_drained);
    ASSERT_TRUE(q.start_send(s));
    ASSERT_NE(s.msg, nullptr);
    EXPECT_EQ(s.msg->msg_iovlen, 2u);
    EXPECT_EQ(s.msg->msg_iov[0].iov_base, c + 4);
    EXPECT_EQ(s.len, 8u);
    done = q.on_sent(8);
    EXPECT_TRUE(done.ranges_drained);
}

TEST(OutputQueue, ALargeResponseGoesFirstAndComesBackWhenSent) {
    lake::Lake lake(1 << 20);
    lake::LakeView large(lake, 4096);
    char small[8];
    std::byte big[100];
    OutputQueue q;
    q.clear();
    ASSERT_TRUE(q.queue(bytes(small, 8)));
    q.set_large(&large, {big, 100});
    OutputQueue::Send s;
    ASSERT_TRUE(q.start_send(s));
    EXPECT_EQ(s.data, big);
    EXPECT_EQ(q.on_sent(60).large_done, nullptr);  // not all of it yet
    ASSERT_TRUE(q.start_send(s));
    EXPECT_EQ(s.data, big + 60);
    EXPECT_EQ(q.on_sent(40).large_done, &large);
    ASSERT_TRUE(q.start_send(s));
    EXPECT_EQ(s.data, small);
}

TEST(OutputQueue, EveryRangeTakenRefusesMore) {
    char buf[OutputQueue::kMaxRanges * 2];
    char other[4];
    OutputQueue q;
    q.clear();
    for (unsigned i = 0; i < OutputQueue::kMaxRanges; ++i)
        ASSERT_TRUE(q.queue(bytes(buf + 2 * i, 1)));  // a gap after each: no merging
    EXPECT_EQ(q.free_ranges(), 0u);
    EXPECT_FALSE(q.queue(bytes(other, 1)));
    EXPECT_TRUE(q.queue(bytes(buf + 2 * OutputQueue::kMaxRanges - 1, 1))) << "adjacent: merged";
}

}  // namespace
}  // namespace lake::server
