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

#include "discover.h"
#include "exitcodes.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "nlclient.h"
#include "options.h"
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
static int parse(struct nl_msg *msg, struct client_status *st)
{
	int ret = client_parse_status(msg, st);

	nlmsg_free(msg);
	return ret;
}

/* Where catch_start() put stdout. */
static FILE *caught;
static int saved_stdout = -1;

/* Catch what is printed on stdout until catch_end(). */
static void catch_start(void)
{
	caught = tmpfile();
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	if (!caught || saved_stdout < 0 ||
	    dup2(fileno(caught), STDOUT_FILENO) < 0)
		abort();
}

static void catch_end(char *out, size_t size)
{
	size_t n;

	fflush(stdout);
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	rewind(caught);
	n = fread(out, 1, size - 1, caught);
	out[n] = '\0';
	fclose(caught);
}

/* report_thaw() with its stdout lines caught in @out. */
static int report(const struct client_status *st, char *out, size_t size)
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
/* main.c's, which the unit tests leave out; options.c names it. */
int cmd_version(const struct options *o)
{
	(void)o;
	return 0;
}

TEST(parse_new_attributes)
{
	struct client_status st = { 0 };
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
	EXPECT_STREQ("held-by-other", target_state_name(st.targets[1].state));
	EXPECT_STREQ("unknown", target_state_name(SNAPFREEZE_TARGET_STATE_MAX + 1));
	client_status_free(&st);
}

/* Test that an older module's reply (none of them) parses as "absent". */
TEST(parse_older_module)
{
	struct client_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);

	put_target(msg, "/a", NO_STATE);
	ASSERT_EQ(0, parse(msg, &st));
	ASSERT_EQ(1, st.nr_targets);
	EXPECT_FALSE(st.targets[0].has_state);
	EXPECT_FALSE(st.targets[0].has_timings);
	EXPECT_FALSE(st.has_held_by_other);
	EXPECT_FALSE(st.has_skew);
	client_status_free(&st);
}

/* Test that a bad type of a newer attribute is a bad reply, not a value. */
TEST(parse_bad_type)
{
	struct client_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);

	ASSERT_EQ(0, nla_put_u8(msg, SNAPFREEZE_A_SKEW_NS, 1));
	EXPECT_NE(0, parse(msg, &st));
	client_status_free(&st);
}

#define FROZEN SNAPFREEZE_STATE_FROZEN
#define AUTO_THAWED SNAPFREEZE_STATE_AUTO_THAWED
#define THAWED SNAPFREEZE_TARGET_STATE_THAWED
#define HELD SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER
#define THAW_FAILED SNAPFREEZE_TARGET_STATE_THAW_FAILED

/* THAW replies (an auto-thaw's reason: the deadline) and their report. */
static const struct thaw_case {
	const char *name;
	uint32_t set_state;		/* SNAPFREEZE_A_STATE */
	struct { const char *path; int state; } targets[2];
	int held;			/* SNAPFREEZE_A_HELD_BY_OTHER; -1: absent */
	int rc;				/* the exit code */
	const char *said, *unsaid;	/* in, and not in, the output */
} thaw_cases[] = {
	{ "all thawed", FROZEN, { { "/a", THAWED }, { "/b", NO_STATE } }, 0,
	  SF_EXIT_OK, "INFO: thawed 2 filesystem(s) of execution " UUID "\n",
	  "ERROR" },
	{ "older module", FROZEN, { { "/a", NO_STATE } }, -1, SF_EXIT_OK,
	  "INFO: thawed 1 filesystem(s)", "ERROR" },
	{ "held by another holder", FROZEN, { { "/a", THAWED },
	  { "/mnt/db", HELD } }, 1, SF_EXIT_POST_FAILED, HELD_LINE("/mnt/db"),
	  "/a is" },
	{ "held: the count thawed", FROZEN, { { "/a", THAWED },
	  { "/mnt/db", HELD } }, 1, SF_EXIT_POST_FAILED,
	  "INFO: thawed 1 of 2 filesystem(s)", NULL },
	{ "held after an auto-thaw", AUTO_THAWED, { { "/mnt/db", HELD } }, 1,
	  SF_EXIT_AUTO_THAWED, HELD_LINE("/mnt/db"), NULL },
	{ "auto-thaw", AUTO_THAWED, { { "/a", THAWED } }, 0, SF_EXIT_AUTO_THAWED,
	  "(deadline), before post-script came", "still frozen" },
	{ "a count, no states", FROZEN, { { "/a", NO_STATE } }, 1,
	  SF_EXIT_POST_FAILED,
	  "ERROR: 1 filesystem(s) still frozen by another holder", NULL },
	{ "thaw failed", FROZEN, { { "/a", THAW_FAILED } }, -1,
	  SF_EXIT_POST_FAILED, "ERROR: /a is still frozen: its thaw failed",
	  NULL },
};

static struct nl_msg *thaw_reply(const struct thaw_case *c)
{
	struct nl_msg *msg = new_reply(c->set_state);
	size_t i;

	for (i = 0; i < 2 && c->targets[i].path; i++)
		put_target(msg, c->targets[i].path, c->targets[i].state);
	if ((c->held >= 0 &&
	     nla_put_u32(msg, SNAPFREEZE_A_HELD_BY_OTHER, c->held)) ||
	    (c->set_state == AUTO_THAWED &&
	     nla_put_u32(msg, SNAPFREEZE_A_THAW_REASON,
			 SNAPFREEZE_THAW_DEADLINE)))
		abort();
	return msg;
}

/*
 * Test what a post-script makes of a THAW reply: a target another holder
 * keeps frozen, or whose thaw failed, is an ERROR naming it (and how to
 * thaw it) and fails the post-script (202; 203 after an auto-thaw).
 */
TEST(thaw_reports)
{
	const struct thaw_case *c;
	struct client_status st = { 0 };
	char out[2048];
	size_t i;

	for (i = 0; i < sizeof(thaw_cases) / sizeof(thaw_cases[0]); i++) {
		c = &thaw_cases[i];
		ASSERT_EQ(0, parse(thaw_reply(c), &st)) TH_LOG("%s", c->name);
		EXPECT_EQ(c->rc, report(&st, out, sizeof(out)))
			TH_LOG("%s: %s", c->name, out);
		EXPECT_NE(NULL, strstr(out, c->said))
			TH_LOG("%s: no '%s' in: %s", c->name, c->said, out);
		if (c->unsaid)
			EXPECT_EQ(NULL, strstr(out, c->unsaid))
				TH_LOG("%s: '%s' in: %s", c->name, c->unsaid, out);
		client_status_free(&st);
	}
}

/* @s through json_string(), into @out. */
static const char *json_of(const char *s, char *out, size_t size)
{
	FILE *f = fmemopen(out, size, "w");

	if (!f)
		abort();
	json_string(f, s);
	fclose(f);
	return out;
}

/*
 * Test that JSON strings are valid whatever the bytes: quotes, backslashes
 * and control characters escaped, UTF-8 kept, bytes that are not UTF-8
 * (overlong, surrogate, truncated, out of range) replaced by U+FFFD.
 */
TEST(json_strings)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "/mnt/plain", "\"/mnt/plain\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "tab\tnl\ncr\r\x01\x1f\x7f", "\"tab\\tnl\\ncr\\r\\u0001\\u001f\\u007f\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "\xff", "\"\\ufffd\"" },
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },		/* overlong "/" */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },	/* a surrogate */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* > U+10FFFF */
		{ "x\xe2\x82", "\"x\\ufffd\\ufffd\"" },		/* cut short */
		{ "\x80z", "\"\\ufffdz\"" },
		{ "", "\"\"" },
	};
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		EXPECT_STREQ(cases[i].out, json_of(cases[i].in, out, sizeof(out)))
			TH_LOG("case %zu", i);
	EXPECT_STREQ("null", json_of(NULL, out, sizeof(out)));
}

/* @st through metrics_print(), into @out. */
static const char *metrics_of(const struct client_status *st, char *out,
			      size_t size)
{
	FILE *f = fmemopen(out, size, "w");

	if (!f)
		abort();
	metrics_print(f, st, "9.9.9");
	fclose(f);
	return out;
}

static bool has_line(const char *out, const char *want)
{
	if (strstr(out, want))
		return true;
	fprintf(stderr, "# no '%s' in:\n%s", want, out);
	return false;
}

/*
 * Test that the metrics name the state, the counters (as _total counters)
 * and the durations in seconds, exactly, and escape a target's path in
 * its label.
 */
TEST(prometheus_metrics)
{
	static const char *const want[] = {
		"# TYPE snapfreeze_info gauge\nsnapfreeze_info{version=\"9.9.9\"} 1\n",
		"snapfreeze_state{state=\"idle\"} 0\n",
		"snapfreeze_state{state=\"frozen\"} 1\n",
		"# HELP snapfreeze_freezes_total ",
		"# TYPE snapfreeze_freezes_total counter\nsnapfreeze_freezes_total 7\n",
		"# TYPE snapfreeze_auto_thaws_total counter\nsnapfreeze_auto_thaws_total 2\n",
		"snapfreeze_failures_total 1\n",
		"snapfreeze_last_freeze_window_seconds 0.001500042\n",
		"snapfreeze_last_skew_seconds 0.000000900\n",
		"snapfreeze_auto_thaw_remaining_seconds 41.500000000\n",
		"snapfreeze_timeout_seconds 60.000000000\n",
		"snapfreeze_targets 1\n",
		"snapfreeze_target_state{path=\"/mnt/a \\\"b\\\" \\\\c\\nd\",fstype=\"ext4\",device=\"254:16\",state=\"frozen\"} 1\n",
		"snapfreeze_target_state{path=\"/mnt/a \\\"b\\\" \\\\c\\nd\",fstype=\"ext4\",device=\"254:16\",state=\"thawed\"} 0\n",
	};
	struct client_status st = {
		.state = SNAPFREEZE_STATE_FROZEN, .timeout_ms = 60000,
		.remaining_ms = 41500, .freeze_ns = 1500042, .has_skew = true,
		.skew_ns = 900, .freezes = 7, .thaws = 4, .auto_thaws = 2,
		.failures = 1, .nr_targets = 1,
	};
	static char out[16384];
	size_t i;

	st.targets[0] = (struct client_target){
		.path = "/mnt/a \"b\" \\c\nd", .fstype = "ext4",
		.major = 254, .minor = 16, .has_state = true,
		.state = SNAPFREEZE_TARGET_STATE_FROZEN,
	};
	metrics_of(&st, out, sizeof(out));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		EXPECT_TRUE(has_line(out, want[i]));
	/* Not frozen: no frozen time, no remaining time, no targets. */
	st.state = SNAPFREEZE_STATE_IDLE;
	st.nr_targets = 0;
	metrics_of(&st, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "snapfreeze_frozen_seconds 0.000000000\n"));
	EXPECT_NE(NULL, strstr(out, "snapfreeze_auto_thaw_remaining_seconds 0.000000000\n"));
	EXPECT_NE(NULL, strstr(out, "snapfreeze_state{state=\"idle\"} 1\n"));
	EXPECT_EQ(NULL, strstr(out, "snapfreeze_target_state"));
}

/*
 * Test that the metrics say whether the module answered: snapfreeze_up 1
 * with a reply, and 0 alone (with the version) when it could not be asked.
 */
TEST(prometheus_up)
{
	struct client_status st = { .state = SNAPFREEZE_STATE_IDLE };
	static char out[16384];
	FILE *f;

	metrics_of(&st, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "# TYPE snapfreeze_up gauge\nsnapfreeze_up 1\n"));
	f = fmemopen(out, sizeof(out), "w");
	ASSERT_NE(NULL, f);
	metrics_print_down(f, "9.9.9");
	fclose(f);
	EXPECT_NE(NULL, strstr(out, "snapfreeze_up 0\n"));
	EXPECT_NE(NULL, strstr(out, "snapfreeze_info{version=\"9.9.9\"} 1\n"));
	EXPECT_EQ(NULL, strstr(out, "snapfreeze_state"));
	EXPECT_EQ(NULL, strstr(out, "ERROR"));
}

/* Test that times are RFC 3339 in UTC, whatever TZ says. */
TEST(times_utc)
{
	char buf[32];

	setenv("TZ", "America/New_York", 1);
	EXPECT_STREQ("1970-01-01T00:00:00Z", time_text(0, buf, sizeof(buf)));
	EXPECT_STREQ("2026-12-07T19:30:14Z",
		     time_text(1796671814ULL * 1000000000ULL, buf, sizeof(buf)));
	unsetenv("TZ");
}

/*
 * Test that the pre-script's last INFO line carries the freeze window and
 * the skew from the FREEZE reply, in milliseconds, on one line.
 */
TEST(frozen_info_line)
{
	struct client_status st = { 0 };
	struct nl_msg *msg = new_reply(SNAPFREEZE_STATE_FROZEN);
	char out[4096], *last;

	put_target(msg, "/a", SNAPFREEZE_TARGET_STATE_FROZEN);
	put_target(msg, "/b", SNAPFREEZE_TARGET_STATE_FROZEN);
	put_target(msg, "/c", SNAPFREEZE_TARGET_STATE_FROZEN);
	ASSERT_EQ(0, nla_put_u64(msg, SNAPFREEZE_A_FLUSH_NS, 400049000));
	ASSERT_EQ(0, nla_put_u64(msg, SNAPFREEZE_A_FREEZE_NS, 3100000));
	ASSERT_EQ(0, nla_put_u64(msg, SNAPFREEZE_A_SKEW_NS, 800000));
	ASSERT_EQ(0, parse(msg, &st));
	catch_start();
	report_frozen(&st, false, 60, 412);
	catch_end(out, sizeof(out));
	/* Three target lines, then the totals as the last line. */
	last = strstr(out, "INFO: froze ");
	ASSERT_NE(NULL, last) TH_LOG("%s", out);
	EXPECT_STREQ("INFO: froze 3 filesystem(s) in 412 ms (flush 400.0 ms, freeze window 3.1 ms, skew 0.8 ms); the kernel thaws them in 60 s unless post-script comes first\n",
		     last);
	client_status_free(&st);
}

/* Test that a module without the skew leaves it out of the line. */
TEST(frozen_info_line_older_module)
{
	struct client_status st = { 0 };
	char out[1024];

	st.freeze_ns = 153000000;
	catch_start();
	report_frozen(&st, false, 60, 900);
	catch_end(out, sizeof(out));
	EXPECT_STREQ("INFO: froze 0 filesystem(s) in 900 ms (flush 0.0 ms, freeze window 153.0 ms); the kernel thaws them in 60 s unless post-script comes first\n",
		     out);
}

/* Test that only the kernel's "unknown attribute" refusal means "older". */
TEST(unknown_attr)
{
	struct client_error e = { .err = -EINVAL, .target = -1 };

	strcpy(e.msg, "Unknown attribute type");
	EXPECT_TRUE(client_unknown_attr(&e));
	e.err = -ETIME;
	EXPECT_FALSE(client_unknown_attr(&e));
	e.err = -EINVAL;
	strcpy(e.msg, "target path must be absolute");
	EXPECT_FALSE(client_unknown_attr(&e));
}

/* A plan of @n targets "/t<dev>", each with its device and backing fs. */
static void make_plan(struct plan *p, const dev_t *devs, const dev_t *backing,
		      unsigned int n)
{
	static char names[SNAPFREEZE_MAX_TARGETS][16];
	unsigned int i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "/t%u", (unsigned int)devs[i]);
		p->paths[i] = names[i];
		p->devs[i] = devs[i];
		p->backing[i] = backing[i];
	}
	p->n = n;
	plan_stack(p);
}

/* "/t1:0 /t2:1": the plan's order and levels, for one comparison. */
static const char *plan_text(const struct plan *p)
{
	static char buf[1024];
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < p->n; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s:%u",
				i ? " " : "", p->paths[i], p->levels[i]);
	return buf;
}

/* Test that targets without dependencies all get level 0, order kept. */
TEST(levels_independent)
{
	static const dev_t devs[] = { 3, 1, 2 }, backing[] = { 0, 0, 0 };
	struct plan p;

	make_plan(&p, devs, backing, 3);
	EXPECT_STREQ("/t3:0 /t1:0 /t2:0", plan_text(&p));
}

/*
 * Test that a filesystem on a loop device whose file is on another target
 * comes before it, one level lower; an unrelated target stays at 0, and so
 * does a loop-backed target whose file is on no target (or an unknown
 * device, 0).
 */
TEST(levels_loop)
{
	/* /t20 on a file on /t10; /t40 on a file on /t99, not a target. */
	static const dev_t devs[] = { 10, 20, 30, 40, 0 },
			   backing[] = { 0, 10, 0, 99, 0 };
	struct plan p;

	make_plan(&p, devs, backing, 5);
	EXPECT_STREQ("/t20:0 /t10:1 /t30:0 /t40:0 /t0:0", plan_text(&p));
}

/*
 * Test chains: each step of a stack one level above the one living on it,
 * a host at one more than the highest of its guests, whatever the order
 * given:
 *
 *   /t1 holds the files of /t2 and /t4;  /t2 holds the file of /t3
 */
TEST(levels_chain)
{
	static const dev_t devs[] = { 1, 2, 3, 4 }, backing[] = { 0, 1, 2, 1 };
	static const dev_t rdevs[] = { 4, 3, 2, 1 }, rbacking[] = { 1, 2, 1, 0 };
	struct plan p;

	make_plan(&p, devs, backing, 4);
	EXPECT_STREQ("/t3:0 /t2:1 /t4:0 /t1:2", plan_text(&p));
	make_plan(&p, rdevs, rbacking, 4);
	EXPECT_STREQ("/t4:0 /t3:0 /t2:1 /t1:2", plan_text(&p));
}

/*
 * Test that a host named twice (two paths in one filesystem) gets its level
 * on both: the kernel freezes it once, at the lower of the two.
 */
TEST(levels_host_named_twice)
{
	static const dev_t devs[] = { 1, 2, 1 }, backing[] = { 0, 1, 0 };
	struct plan p;

	make_plan(&p, devs, backing, 3);
	EXPECT_STREQ("/t2:0 /t1:1 /t1:1", plan_text(&p));
}

/* Test that a cycle (which loop devices refuse) ends, levels bounded. */
TEST(levels_cycle)
{
	static const dev_t devs[] = { 1, 2 }, backing[] = { 2, 1 };
	struct plan p;

	make_plan(&p, devs, backing, 2);
	EXPECT_EQ(2, p.n);
	EXPECT_GE(1, p.levels[0]);
	EXPECT_GE(1, p.levels[1]);
}

/* Test that dropping a host (unfreezable) brings its guests' levels down. */
TEST(levels_after_remove)
{
	static const dev_t devs[] = { 1, 2, 3 }, backing[] = { 0, 1, 2 };
	struct plan p;

	make_plan(&p, devs, backing, 3);
	EXPECT_STREQ("/t3:0 /t2:1 /t1:2", plan_text(&p));
	plan_remove(&p, 1);
	EXPECT_STREQ("/t3:0 /t1:0", plan_text(&p));
}

TEST_HARNESS_MAIN
