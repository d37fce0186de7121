// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "kpgo/workdir/bench.hpp"
#include "kpgo/workdir/phases.hpp"

using namespace kpgo::workdir;

TEST(Bench, MedianTakesTheLowerMiddle) {
  EXPECT_EQ(median_of({}), 0u);
  EXPECT_EQ(median_of({7}), 7u);
  EXPECT_EQ(median_of({9, 1, 5}), 5u);
  EXPECT_EQ(median_of({4, 1, 3, 2}), 2u);
}

TEST(Bench, GuestBodyTimesEveryWorkloadInItsOwnDirectory) {
  std::string body = bench_guest_body({{"default", "/x/default.sh", {}}, {"archive", "/x/archive.sh", {}}});
  EXPECT_NE(body.find("/kpgo/run-timed $out/default.time sh /kpgo/w/default.sh"), std::string::npos);
  EXPECT_NE(body.find("cd /tmp/work-archive"), std::string::npos);
  EXPECT_LT(body.find("default.time"), body.find("archive.time"));
}

TEST(Bench, PromotionsAreCountedFromClangRemarks) {
  std::string log =
      "fs/read_write.c:10:3: remark: Promote indirect call to ext4_file_read_iter with count 12 out of 12 [-Rpass=pgo-icall-prom]\n"
      "  CC      fs/open.o\n"
      "fs/open.c:5:1: remark: Promote indirect call to shmem_open with count 3 out of 9 [-Rpass=pgo-icall-prom]\n";
  EXPECT_EQ(count_promotions(log), 2u);
  EXPECT_EQ(count_promotions("  CC      fs/open.o\n"), 0u);
}
