// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the helper's reply parsing and reporting, without a
 * kernel: netlink replies are built here with libnl, parsed by
 * nlclient.c, and report.c's lines and exit codes are checked.  The
 * attributes a newer module sends (per-target state and timings, the
 * held-by-other count, the skew) are tested here first; an older module
 * sends none of them.
 *
 *   make -C user check
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "kselftest_harness.h"

#include "exitcodes.h"
#include "nlclient.h"
#include "report.h"

#define UUID "123e4567-e89b-12d3-a456-426614174000"
#define NO_STATE (-1)

/* A reply of the family (any id: the parser does not look at it). */
static struct nl_msg *new_reply(uint32_t state)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, 0, 0, 0x20, 0, 0, SNAPFREEZE_CMD_THAW,
				 SNAPFREEZE_GENL_VERSION))
		abort();
	if (nla_put_u32(msg, SNAPFREEZE_A_STATE, state) ||
	    nla_put_string(msg, SNAPFREEZE_A_EXEC_ID, UUID))
		abort();
	return msg;
}

/* A target nest; @state NO_STATE leaves out the newer attributes. */
static void put_target(struct nl_msg *msg, const char *path, int state)
{
	struct nlattr *nest;

	nest = nla_nest_start(msg, SNAPFREEZE_A_TARGET | NLA_F_NESTED);
	if (!nest || nla_put_string(msg, SNAPFREEZE_TARGET_A_PATH, path) ||
	    nla_put_string(msg, SNAPFREEZE_TARGET_A_FSTYPE, "ext4") ||
	    nla_put_u32(msg, SNAPFREEZE_TARGET_A_MAJOR, 254) ||
	    nla_put_u32(msg, SNAPFREEZE_TARGET_A_MINOR, 1))
		abort();
	if (state != NO_STATE &&
	    (nla_put_u32(msg, SNAPFREEZE_TARGET_A_STATE, state) ||
	     nla_put_u64(msg, SNAPFREEZE_TARGET_A_FLUSH_NS, 3000000) ||
	     nla_put_u64(msg, SNAPFREEZE_TARGET_A_FREEZE_NS, 500000) ||
	     nla_put_u64(msg, SNAPFREEZE_TARGET_A_FROZEN_AT_NS, 100000)))
		abort();
	nla_nest_end(msg, nest);
}

/* Parse @msg into @st and free it. */
static int parse(struct nl_msg *msg, struct sf_nl_status *st)
{
	int ret = sf_nl_parse_status(msg, st);

	nlmsg_free(msg);
	return ret;
}

/* report_thaw() with its stdout lines caught in @out. */
static int report(const struct sf_nl_status *st, char *out, size_t size)
{
	FILE *f = tmpfile();
	int saved, rc;
	size_t n;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (!f || saved < 0 || dup2(fileno(f), STDOUT_FILENO) < 0)
		abort();
	rc = report_thaw(st);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
	return rc;
}

#define HELD_LINE(path) \
	"ERROR: " path " is still frozen by another holder (fsfreeze -f?): " \
	"only that holder can thaw it, e.g. fsfreeze -u " path "\n"

/* Test that the newer attributes are parsed, per target and per set. */
TEST(parse_new_attributes)
{
	struct sf_nl_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);

	put_target(msg, "/a", SNAPFREEZE_TARGET_STATE_THAWED);
	put_target(msg, "/b", SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER);
	ASSERT_EQ(0, nla_put_u32(msg, SNAPFREEZE_A_HELD_BY_OTHER, 1));
	ASSERT_EQ(0, nla_put_u64(msg, SNAPFREEZE_A_SKEW_NS, 1234));
	ASSERT_EQ(0, parse(msg, &st));
	ASSERT_EQ(2, st.nr_targets);
	EXPECT_STREQ("/b", st.targets[1].path);
	EXPECT_TRUE(st.targets[0].has_state);
	EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAWED, st.targets[0].state);
	EXPECT_EQ(SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER, st.targets[1].state);
	EXPECT_TRUE(st.targets[0].has_timings);
	EXPECT_EQ(3000000, st.targets[0].flush_ns);
	EXPECT_EQ(500000, st.targets[0].freeze_ns);
	EXPECT_EQ(100000, st.targets[0].frozen_at_ns);
	EXPECT_TRUE(st.has_held_by_other);
	EXPECT_EQ(1, st.held_by_other);
	EXPECT_TRUE(st.has_skew);
	EXPECT_EQ(1234, st.skew_ns);
	EXPECT_STREQ("held-by-other", sf_nl_target_state_name(st.targets[1].state));
	EXPECT_STREQ("unknown", sf_nl_target_state_name(SNAPFREEZE_TARGET_STATE_MAX + 1));
	sf_nl_status_free(&st);
}

/* Test that an older module's reply (none of them) parses as "absent". */
TEST(parse_older_module)
{
	struct sf_nl_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);

	put_target(msg, "/a", NO_STATE);
	ASSERT_EQ(0, parse(msg, &st));
	ASSERT_EQ(1, st.nr_targets);
	EXPECT_FALSE(st.targets[0].has_state);
	EXPECT_FALSE(st.targets[0].has_timings);
	EXPECT_FALSE(st.has_held_by_other);
	EXPECT_FALSE(st.has_skew);
	sf_nl_status_free(&st);
}

/* Test that a bad type of a newer attribute is a bad reply, not a value. */
TEST(parse_bad_type)
{
	struct sf_nl_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);

	ASSERT_EQ(0, nla_put_u8(msg, SNAPFREEZE_A_SKEW_NS, 1));
	EXPECT_NE(0, parse(msg, &st));
	sf_nl_status_free(&st);
}

/* Test that a THAW that thawed everything is 0, with an INFO line. */
TEST(thaw_clean)
{
	struct sf_nl_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);
	char out[2048];

	put_target(msg, "/a", SNAPFREEZE_TARGET_STATE_THAWED);
	put_target(msg, "/b", NO_STATE);
	ASSERT_EQ(0, nla_put_u32(msg, SNAPFREEZE_A_HELD_BY_OTHER, 0));
	ASSERT_EQ(0, parse(msg, &st));
	EXPECT_EQ(SF_EXIT_OK, report(&st, out, sizeof(out)));
	EXPECT_STREQ("INFO: thawed 2 filesystem(s) of execution " UUID "\n", out);
	sf_nl_status_free(&st);
}

/*
 * Test that a target another holder keeps frozen is an ERROR naming it and
 * how to thaw it, and makes the post-script fail (202).
 */
TEST(thaw_held_by_other)
{
	struct sf_nl_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);
	char out[2048];

	put_target(msg, "/a", SNAPFREEZE_TARGET_STATE_THAWED);
	put_target(msg, "/mnt/db", SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER);
	ASSERT_EQ(0, nla_put_u32(msg, SNAPFREEZE_A_HELD_BY_OTHER, 1));
	ASSERT_EQ(0, parse(msg, &st));
	EXPECT_EQ(SF_EXIT_POST_FAILED, report(&st, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, HELD_LINE("/mnt/db"))) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "INFO: thawed 1 of 2 filesystem(s)")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "/a is")) TH_LOG("%s", out);
	sf_nl_status_free(&st);
}

/* Test that after an auto-thaw the same target is named, and exit is 203. */
TEST(auto_thaw_held_by_other)
{
	struct sf_nl_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_AUTO_THAWED);
	char out[2048];

	put_target(msg, "/mnt/db", SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER);
	ASSERT_EQ(0, nla_put_u32(msg, SNAPFREEZE_A_HELD_BY_OTHER, 1));
	ASSERT_EQ(0, nla_put_u32(msg, SNAPFREEZE_A_THAW_REASON,
				 SNAPFREEZE_THAW_DEADLINE));
	ASSERT_EQ(0, parse(msg, &st));
	EXPECT_EQ(SF_EXIT_AUTO_THAWED, report(&st, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, HELD_LINE("/mnt/db"))) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "(deadline), before post-script came")) TH_LOG("%s", out);
	sf_nl_status_free(&st);
}

/* Test that a count without per-target states still fails the post-script. */
TEST(held_count_only)
{
	struct sf_nl_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);
	char out[2048];

	put_target(msg, "/a", NO_STATE);
	ASSERT_EQ(0, nla_put_u32(msg, SNAPFREEZE_A_HELD_BY_OTHER, 1));
	ASSERT_EQ(0, parse(msg, &st));
	EXPECT_EQ(SF_EXIT_POST_FAILED, report(&st, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "ERROR: 1 filesystem(s) still frozen by another holder")) TH_LOG("%s", out);
	sf_nl_status_free(&st);
}

/* Test that a target whose thaw failed is an ERROR and 202. */
TEST(thaw_failed)
{
	struct sf_nl_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);
	char out[2048];

	put_target(msg, "/a", SNAPFREEZE_TARGET_STATE_THAW_FAILED);
	ASSERT_EQ(0, parse(msg, &st));
	EXPECT_EQ(SF_EXIT_POST_FAILED, report(&st, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "ERROR: /a is still frozen: its thaw failed")) TH_LOG("%s", out);
	sf_nl_status_free(&st);
}

TEST_HARNESS_MAIN
