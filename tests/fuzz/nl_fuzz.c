// SPDX-License-Identifier: GPL-2.0
/*
 * nl_fuzz: throw random and mutated FREEZE/THAW/GET requests at the
 * snapfreeze family, as root and then as nobody, and check that nobody
 * froze or thawed anything.  Runs inside the test VM (tests/reliability/).
 *
 *   nl_fuzz [--seed N] [--count N] [--nobody-count N] [--time-limit S]
 *           [--dir DIR] [--target PATH]...
 *
 *   --target    a real mount point the requests may name (as root they then
 *               really freeze it; the fuzzer thaws at once); repeatable
 *   --dir       scratch directory for the special files it names: a
 *               symlink loop, a FIFO, a socket, a regular file (created
 *               and removed by the fuzzer; default /tmp)
 *   --count     messages sent as root (default 16000)
 *   --nobody-count  messages sent as uid/gid 65534 with no capabilities
 *               (default 8000), half on a socket it opened, half on one
 *               root opened before the privileges were dropped
 *   --time-limit    stop a phase that runs longer (default 900 s): a
 *               phase that did not send all its messages fails
 *   --generate-only N   build N messages and send none (no kernel needed:
 *               for checking the generator itself, e.g. under ASan)
 *
 * What is sent (weights in gen_message()): well-formed and half-formed
 * FREEZE, THAW and GET requests with every attribute in and out of range;
 * invalid paths (relative, empty, nonexistent, symlink loops, /proc, /sys,
 * /dev/null and other character devices, FIFOs, sockets, regular files,
 * directories of unfreezable filesystems, over-long, embedded NUL, not
 * NUL-terminated); wrong attribute types and lengths, truncated and
 * oversized attributes, nested garbage, unknown and reply-only attributes,
 * unknown commands, versions and flags, NLM_F_DUMP on every command, huge
 * target lists, several messages in one send, lying nlmsg_len; and any of
 * these with random bits flipped.  The generator depends on the seed only,
 * never on the replies, so a seed reproduces a run.
 *
 * After every message the fuzzer reads /sys/kernel/snapfreeze/state: as
 * root, a set left frozen or auto-thawed is thawed again at once (THAW with
 * SNAPFREEZE_F_FORCE); as nobody, any state but "idle" is a violation, as
 * is any FREEZE or THAW the kernel acknowledged with 0 or answered.  The
 * module's counters must not move while nobody fuzzes.
 *
 * Output: KTAP, the seed first; exit 1 if any test failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/snapfreeze.h>

#include "sfgenl.h"

#define SYSFS "/sys/kernel/snapfreeze/"
#define BUF_SIZE (160 * 1024)
#define MAX_POOL 96
#define MAX_ERRNO 256
#define NOBODY 65534

/* ---------------------------------------------------------------- random */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool chance(unsigned int percent)
{
	return below(100) < percent;
}

static void rng_seed(uint64_t seed)
{
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	if (!rng_state)
		rng_state = 1;
	for (int i = 0; i < 8; i++)
		rnd();
}

/* ------------------------------------------------------------ the paths */

static const char *pool[MAX_POOL];
static unsigned int npool;
static const char *targets[16];
static unsigned int ntargets;
static char long_path[PATH_MAX + 64];
/* Short enough for a unix socket's sun_path: --dir is at most 48 bytes. */
static char scratch[80];
static char sp_loop_a[100], sp_loop_b[100], sp_self[100], sp_fifo[100],
	sp_sock[100], sp_reg[100], sp_deep[200];
static int sock_fd = -1;

static void add_pool(const char *p)
{
	if (npool < MAX_POOL)
		pool[npool++] = p;
}

static void make_scratch(const char *dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(dir) > 48) {
		fprintf(stderr, "nl_fuzz: --dir must be at most 48 bytes\n");
		exit(2);
	}
	snprintf(scratch, sizeof(scratch), "%.48s/nl_fuzz.%d", dir, getpid());
	if (mkdir(scratch, 0755) && errno != EEXIST) {
		perror(scratch);
		exit(1);
	}
	snprintf(sp_loop_a, sizeof(sp_loop_a), "%s/loop-a", scratch);
	snprintf(sp_loop_b, sizeof(sp_loop_b), "%s/loop-b", scratch);
	snprintf(sp_self, sizeof(sp_self), "%s/self", scratch);
	snprintf(sp_fifo, sizeof(sp_fifo), "%s/fifo", scratch);
	snprintf(sp_sock, sizeof(sp_sock), "%s/sock", scratch);
	snprintf(sp_reg, sizeof(sp_reg), "%s/regular", scratch);
	snprintf(sp_deep, sizeof(sp_deep), "%s/./../%s/./loop-a/x",
		 scratch, strrchr(scratch, '/') + 1);
	if (symlink(sp_loop_b, sp_loop_a) || symlink(sp_loop_a, sp_loop_b) ||
	    symlink(sp_self, sp_self) || mkfifo(sp_fifo, 0644)) {
		perror("nl_fuzz: special files");
		exit(1);
	}
	fd = open(sp_reg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "x\n", 2) != 2) {
		perror(sp_reg);
		exit(1);
	}
	close(fd);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sp_sock);
	sock_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (sock_fd < 0 || bind(sock_fd, (struct sockaddr *)&sun, sizeof(sun))) {
		perror(sp_sock);
		exit(1);
	}
	/* Let nobody reach them too. */
	chmod(scratch, 0755);
}

static void remove_scratch(void)
{
	const char *f[] = { sp_loop_a, sp_loop_b, sp_self, sp_fifo, sp_sock,
			    sp_reg };

	if (sock_fd >= 0)
		close(sock_fd);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		unlink(f[i]);
	rmdir(scratch);
}

static void build_pool(void)
{
	static const char *fixed[] = {
		/* relative and empty */
		"", ".", "..", "mnt", "relative/path", "./x", "tmp/../tmp",
		/* nonexistent */
		"/nonexistent", "/nonexistent/deeper/still", "/tmp/nope/..",
		/* pseudo filesystems and their files */
		"/proc", "/proc/self", "/proc/self/fd/0", "/proc/1/root",
		"/proc/sys/kernel", "/sys", "/sys/kernel/snapfreeze/state",
		"/sys/kernel/snapfreeze/control", "/dev", "/dev/shm",
		/* character devices */
		"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
		"/dev/tty", "/dev/console", "/dev/loop-control", "/dev/mem",
		/* block devices that carry nothing (or do not exist) */
		"/dev/loop7", "/dev/loop0", "/dev/ram0", "/dev/vdz",
		"/dev/md127",
		/* unfreezable or unmountable places */
		"/", "/tmp", "/run", "/mnt", "/boot", "/etc/passwd",
		"//", "/./", "/../../..", "/tmp/", "/tmp//.//",
		/* odd bytes */
		"/tmp/\n", "/\xff\xfe\xfd", "/tmp/with space", "/%s%s%n",
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add_pool(fixed[i]);
	add_pool(sp_loop_a);
	add_pool(sp_loop_b);
	add_pool(sp_self);
	add_pool(sp_fifo);
	add_pool(sp_sock);
	add_pool(sp_reg);
	add_pool(sp_deep);
	add_pool(scratch);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
}

/* A path: a real target now and then, else one from the pool. */
static const char *pick_path(void)
{
	if (ntargets && chance(25))
		return targets[below(ntargets)];
	return pool[below(npool)];
}

/* -------------------------------------------------------- message pieces */

static const uint32_t odd_u32[] = {
	0, 1, 2, 99, 100, 101, 999, 1000, 60000, 3600000, 3600001,
	0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
};

static uint32_t pick_u32(void)
{
	if (chance(60))
		return odd_u32[below(sizeof(odd_u32) / sizeof(odd_u32[0]))];
	return (uint32_t)rnd();
}

static const char *valid_ids[] = {
	"None", "5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6",
	"00000000-0000-0000-0000-000000000000",
	"ABCDEF01-2345-6789-abcd-ef0123456789",
};
static const char *bad_ids[] = {
	"", "none", "NONE", "None ", "5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f",
	"5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6x", "5f0c8a4e_1b2d_4c3e_9f10_a1b2c3d4e5f6",
	"gggggggg-gggg-gggg-gggg-gggggggggggg", "-", "%n%n%n%n",
	"5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6-5f0c8a4e-1b2d",
};

/* The end of the send buffer being filled (several messages may share it). */
static const char *buf_end;

/* Room check: false when the attribute would not fit. */
static bool room(const struct nlmsghdr *nlh, size_t len)
{
	return (const char *)nlh + nlh->nlmsg_len +
	       MNL_ALIGN(sizeof(struct nlattr)) + MNL_ALIGN(len) + 64 <= buf_end;
}

/* A raw attribute: any type, any bytes, the length we say. */
static void put_raw(struct nlmsghdr *nlh, uint16_t type, const void *data,
		    size_t len)
{
	if (room(nlh, len))
		mnl_attr_put(nlh, type, len, data);
}

static void put_random_bytes(struct nlmsghdr *nlh, uint16_t type, size_t len)
{
	unsigned char b[512];

	if (len > sizeof(b))
		len = sizeof(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)rnd();
	put_raw(nlh, type, b, len);
}

/* A string attribute, well-formed or not. */
static void put_string(struct nlmsghdr *nlh, uint16_t type, const char *s)
{
	size_t len = strlen(s);

	switch (below(10)) {
	case 0:		/* not NUL-terminated */
		put_raw(nlh, type, s, len);
		break;
	case 1: {	/* an embedded NUL, then more */
		char b[PATH_MAX + 16];
		size_t n = len < PATH_MAX ? len : PATH_MAX;

		memcpy(b, s, n);
		memcpy(b + n, "\0garbage", 9);
		put_raw(nlh, type, b, n + 9);
		break;
	}
	case 2:		/* a number where a string belongs */
		if (room(nlh, 4))
			mnl_attr_put_u32(nlh, type, pick_u32());
		break;
	default:
		if (room(nlh, len + 1))
			mnl_attr_put_strz(nlh, type, s);
	}
}

static void put_u32_attr(struct nlmsghdr *nlh, uint16_t type, uint32_t v)
{
	uint64_t v64 = v;

	switch (below(12)) {
	case 0:		/* too short */
		put_raw(nlh, type, &v, below(4));
		break;
	case 1:		/* too long */
		put_raw(nlh, type, &v64, 8);
		break;
	case 2:
		put_random_bytes(nlh, type, below(40));
		break;
	default:
		if (room(nlh, 4))
			mnl_attr_put_u32(nlh, type, v);
	}
}

static void put_random_attrs(struct nlmsghdr *nlh, unsigned int n,
			     uint16_t max_type)
{
	for (unsigned int i = 0; i < n; i++) {
		uint16_t type = (uint16_t)below(max_type + 1);

		if (chance(10))
			type |= NLA_F_NESTED;
		if (chance(5))
			type |= NLA_F_NET_BYTEORDER;
		put_random_bytes(nlh, type, chance(80) ? below(24) : below(512));
	}
}

static void put_target(struct nlmsghdr *nlh)
{
	struct nlattr *nest;
	uint16_t type = SNAPFREEZE_A_TARGET;

	if (!room(nlh, PATH_MAX + 64))
		return;
	if (chance(5))
		type |= NLA_F_NESTED;
	nest = mnl_attr_nest_start(nlh, type);
	switch (below(20)) {
	case 0:		/* empty nest */
		break;
	case 1:		/* garbage inside */
		put_random_attrs(nlh, 1 + below(4), SNAPFREEZE_TARGET_A_MAX + 4);
		break;
	case 2:		/* over-long path */
		put_string(nlh, SNAPFREEZE_TARGET_A_PATH,
			   long_path + (chance(50) ? 0 : 64));
		break;
	case 3:		/* two paths */
		put_string(nlh, SNAPFREEZE_TARGET_A_PATH, pick_path());
		put_string(nlh, SNAPFREEZE_TARGET_A_PATH, pick_path());
		break;
	case 4:		/* reply-only attributes in a request */
		put_string(nlh, SNAPFREEZE_TARGET_A_PATH, pick_path());
		put_u32_attr(nlh, SNAPFREEZE_TARGET_A_MAJOR + below(6), pick_u32());
		break;
	default:
		put_string(nlh, SNAPFREEZE_TARGET_A_PATH, pick_path());
		if (chance(15))
			put_u32_attr(nlh, SNAPFREEZE_TARGET_A_LEVEL, pick_u32());
	}
	mnl_attr_nest_end(nlh, nest);
}

static void put_exec_id(struct nlmsghdr *nlh)
{
	if (chance(70))
		put_string(nlh, SNAPFREEZE_A_EXEC_ID,
			   valid_ids[below(sizeof(valid_ids) / sizeof(valid_ids[0]))]);
	else
		put_string(nlh, SNAPFREEZE_A_EXEC_ID,
			   bad_ids[below(sizeof(bad_ids) / sizeof(bad_ids[0]))]);
}

static void put_flags(struct nlmsghdr *nlh, uint32_t usual)
{
	static const uint32_t f[] = {
		0, SNAPFREEZE_F_DRY_RUN, SNAPFREEZE_F_FORCE,
		SNAPFREEZE_F_DRY_RUN | SNAPFREEZE_F_FORCE, 4, 0x80000000,
		0xffffffff,
	};

	if (chance(60))
		put_u32_attr(nlh, SNAPFREEZE_A_FLAGS, usual);
	else
		put_u32_attr(nlh, SNAPFREEZE_A_FLAGS, chance(70) ?
			     f[below(sizeof(f) / sizeof(f[0]))] : (uint32_t)rnd());
}

/* ------------------------------------------------------------- messages */

static uint16_t family;

static struct nlmsghdr *header(char *buf, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *gh;

	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = (uint32_t)rnd();
	gh = mnl_nlmsg_put_extra_header(nlh, sizeof(*gh));
	gh->cmd = cmd;
	gh->version = chance(90) ? SNAPFREEZE_GENL_VERSION : (uint8_t)rnd();
	return nlh;
}

static uint16_t pick_nlflags(void)
{
	static const uint16_t f[] = {
		NLM_F_ACK, NLM_F_ACK, NLM_F_ACK, NLM_F_ACK, 0,
		NLM_F_ACK | NLM_F_DUMP, NLM_F_DUMP, NLM_F_ACK | NLM_F_ECHO,
		NLM_F_ACK | NLM_F_ROOT, NLM_F_ACK | NLM_F_MATCH,
		NLM_F_ACK | NLM_F_ATOMIC, NLM_F_ACK | NLM_F_REPLACE,
		NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE,
	};

	if (chance(97))
		return f[below(sizeof(f) / sizeof(f[0]))];
	return (uint16_t)rnd();
}

static void gen_freeze(struct nlmsghdr *nlh)
{
	unsigned int n;

	if (chance(4))
		n = SNAPFREEZE_MAX_TARGETS + below(1500);	/* huge */
	else if (chance(3))
		n = SNAPFREEZE_MAX_TARGETS - below(2);
	else
		n = below(4);
	for (unsigned int i = 0; i < n; i++)
		put_target(nlh);
	if (chance(92))
		put_exec_id(nlh);
	if (chance(70))
		put_u32_attr(nlh, SNAPFREEZE_A_TIMEOUT_MS,
			     chance(50) ? 100 + below(5000) : pick_u32());
	if (chance(50))
		put_flags(nlh, chance(50) ? SNAPFREEZE_F_DRY_RUN : 0);
	if (chance(15))
		put_random_attrs(nlh, 1 + below(3), SNAPFREEZE_A_MAX + 8);
}

static void gen_thaw(struct nlmsghdr *nlh)
{
	if (chance(70))
		put_exec_id(nlh);
	if (chance(60))
		put_flags(nlh, SNAPFREEZE_F_FORCE);
	if (chance(20))
		put_target(nlh);
	if (chance(15))
		put_random_attrs(nlh, 1 + below(3), SNAPFREEZE_A_MAX + 8);
}

static void gen_attrs_for(struct nlmsghdr *nlh, uint8_t cmd)
{
	switch (cmd) {
	case SNAPFREEZE_CMD_FREEZE:
		gen_freeze(nlh);
		break;
	case SNAPFREEZE_CMD_THAW:
		gen_thaw(nlh);
		break;
	default:
		if (chance(40))
			put_random_attrs(nlh, below(4), SNAPFREEZE_A_MAX + 8);
		if (chance(20))
			gen_freeze(nlh);
	}
}

static uint8_t pick_cmd(void)
{
	uint32_t r = below(100);

	if (r < 50)
		return SNAPFREEZE_CMD_FREEZE;
	if (r < 75)
		return SNAPFREEZE_CMD_THAW;
	if (r < 90)
		return SNAPFREEZE_CMD_GET;
	if (r < 95)
		return SNAPFREEZE_CMD_EVENT;
	return (uint8_t)rnd();
}

/* Flip bits, overwrite bytes, or corrupt attribute lengths. */
static void mutate(char *buf, size_t len)
{
	unsigned int n = 1 + below(8);

	if (len <= NLMSG_HDRLEN + GENL_HDRLEN)
		return;
	for (unsigned int i = 0; i < n; i++) {
		/* Mostly the payload: a corrupt header is simply dropped. */
		size_t at = NLMSG_HDRLEN + below(len - NLMSG_HDRLEN);

		switch (below(3)) {
		case 0:
			buf[at] ^= (char)(1u << below(8));
			break;
		case 1:
			buf[at] = (char)rnd();
			break;
		default: {	/* an nla_len-sized field gets a bad value */
			uint16_t v = (uint16_t)(chance(50) ? below(8) : rnd());

			if (at + 2 <= len)
				memcpy(buf + at, &v, 2);
		}
		}
	}
}

/* What one send carried: each message's sequence number and command. */
struct sent_msgs {
	unsigned int n;
	uint32_t seq[8];
	uint16_t type[8];
	uint8_t cmd[8];
};

/*
 * Build one send into @buf; returns the bytes to send.  @m gets the header
 * of each message in it, as sent (for the nobody checks).
 */
static size_t gen_message(char *buf, struct sent_msgs *m)
{
	struct nlmsghdr *nlh;
	uint32_t kind = below(100);
	uint8_t cmd = pick_cmd();
	size_t len, off[8];
	unsigned int n = 0;

	buf_end = buf + BUF_SIZE;
	nlh = header(buf, cmd, pick_nlflags());
	if (kind < 12)				/* random attributes only */
		put_random_attrs(nlh, below(8), 64);
	else
		gen_attrs_for(nlh, cmd);
	len = nlh->nlmsg_len;
	off[n++] = 0;

	if (kind >= 12 && kind < 40) {		/* mutated */
		mutate(buf, len);
	} else if (kind >= 40 && kind < 44) {	/* truncated: cut attributes */
		size_t cut = NLMSG_HDRLEN + GENL_HDRLEN +
			     below(len - NLMSG_HDRLEN - GENL_HDRLEN + 1);

		if (chance(50))
			nlh->nlmsg_len = cut;	/* a consistent short message */
		len = cut;
	} else if (kind >= 44 && kind < 47) {	/* nlmsg_len lies */
		nlh->nlmsg_len = chance(50) ? nlh->nlmsg_len + 1 + below(64) :
			below(nlh->nlmsg_len);
	} else if (kind >= 47 && kind < 50) {	/* other message types */
		static const uint16_t types[] = {
			0, NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN,
			0xfffe, 0xffff,
		};
		nlh->nlmsg_type = types[below(sizeof(types) / sizeof(types[0]))];
	} else if (kind >= 50 && kind < 54) {	/* several in one send */
		unsigned int more = 1 + below(3);

		for (unsigned int i = 0; i < more && len < BUF_SIZE / 2; i++) {
			off[n++] = MNL_ALIGN(len);
			cmd = pick_cmd();
			nlh = header(buf + off[n - 1], cmd, pick_nlflags());
			gen_attrs_for(nlh, cmd);
			len = off[n - 1] + nlh->nlmsg_len;
		}
	}
	m->n = 0;
	for (unsigned int i = 0; i < n; i++) {
		const struct nlmsghdr *h = (const void *)(buf + off[i]);
		const struct genlmsghdr *gh = (const void *)(buf + off[i] + NLMSG_HDRLEN);

		if (off[i] + NLMSG_HDRLEN + GENL_HDRLEN > len)
			continue;
		m->seq[m->n] = h->nlmsg_seq;
		m->type[m->n] = h->nlmsg_type;
		m->cmd[m->n] = gh->cmd;
		m->n++;
	}
	return len;
}

/* --------------------------------------------------------------- results */

struct stats {
	uint64_t sent, send_errors, acks, replies, no_answer;
	uint64_t err[MAX_ERRNO];	/* index: errno of an ack, 0 = success */
	uint64_t real_freezes;		/* root: a set frozen by a message */
	uint64_t allowed;		/* nobody: FREEZE/THAW acked 0 or answered */
	uint64_t not_idle;		/* nobody: the state was not idle */
	uint64_t valid_freezes;		/* nobody: well-formed FREEZEs of targets */
};

static char state_buf[64];

static const char *read_state(void)
{
	ssize_t n;
	int fd = open(SYSFS "state", O_RDONLY);

	if (fd < 0)
		return "unreadable";
	n = read(fd, state_buf, sizeof(state_buf) - 1);
	close(fd);
	if (n <= 0)
		return "unreadable";
	state_buf[n] = '\0';
	state_buf[strcspn(state_buf, "\n")] = '\0';
	return state_buf;
}

static uint64_t read_counter(const char *name)
{
	char path[128], b[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSFS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return UINT64_MAX;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return UINT64_MAX;
	b[n] = '\0';
	return strtoull(b, NULL, 10);
}

static bool freeze_or_thaw(uint8_t cmd)
{
	return cmd == SNAPFREEZE_CMD_FREEZE || cmd == SNAPFREEZE_CMD_THAW;
}

/*
 * Drain what the kernel answered to one send.  Returns how many FREEZE or
 * THAW requests of it took effect: acked with 0, or answered with a reply
 * (the kernel sends those only when the request did its work).  Control
 * messages and other types the core acks with 0 do not count.
 */
static unsigned int drain(int fd, struct stats *st, const struct sent_msgs *m,
			  bool *acked)
{
	static char rbuf[64 * 1024];
	unsigned int effective = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rbuf;
		int left = (int)n;

		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_type == NLMSG_ERROR &&
			    nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct nlmsgerr)) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
				int er = -e->error;

				st->acks++;
				*acked = true;
				if (er >= 0 && er < MAX_ERRNO)
					st->err[er]++;
				if (er || e->msg.nlmsg_type != family)
					continue;
				for (unsigned int i = 0; i < m->n; i++)
					if (m->seq[i] == e->msg.nlmsg_seq &&
					    m->type[i] == family &&
					    freeze_or_thaw(m->cmd[i]))
						effective++;
				continue;
			}
			if (nlh->nlmsg_type == family &&
			    nlh->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN) {
				const struct genlmsghdr *gh = mnl_nlmsg_get_payload(nlh);

				st->replies++;
				*acked = true;
				if (freeze_or_thaw(gh->cmd))
					effective++;
			}
		}
	}
	return effective;
}

/* ---------------------------------------------------------------- phases */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ktap_n;
static int ktap_fail;

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d ", ok ? "ok" : "not ok", ++ktap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		ktap_fail++;
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void print_errnos(const char *who, const struct stats *st)
{
	char line[1024];
	size_t len = 0;

	for (int e = 0; e < MAX_ERRNO; e++) {
		if (!st->err[e] || len > sizeof(line) - 64)
			continue;
		len += snprintf(line + len, sizeof(line) - len, "%s%s %" PRIu64,
				len ? ", " : "", e ? strerrorname_np(e) ?: "?" : "0",
				st->err[e]);
	}
	diag("%s: acks by error: %s", who, len ? line : "none");
}

/* A proper THAW, whatever execution id: as root, after a real freeze. */
static int thaw_force(struct sfgenl *g)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sfgenl_result res;
	struct nlmsghdr *nlh = sfgenl_request(g, buf, SNAPFREEZE_CMD_THAW, 0);

	mnl_attr_put_u32(nlh, SNAPFREEZE_A_FLAGS, SNAPFREEZE_F_FORCE);
	if (sfgenl_call(g, nlh, &res))
		return -1;
	return res.err;
}

static int get_ok(struct sfgenl *g)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sfgenl_result res;
	struct nlmsghdr *nlh = sfgenl_request(g, buf, SNAPFREEZE_CMD_GET, 0);

	return !sfgenl_call(g, nlh, &res) && !res.err && res.has_state;
}

static bool is_valid_freeze(const char *buf, size_t len)
{
	/* Counted for nobody's report only: a FREEZE whose first target is
	 * one of the real ones, well-formed enough to reach the handler. */
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct genlmsghdr *gh = (const void *)(buf + NLMSG_HDRLEN);
	const struct nlattr *a, *in;

	if (len < NLMSG_HDRLEN + GENL_HDRLEN || nlh->nlmsg_len != len ||
	    gh->cmd != SNAPFREEZE_CMD_FREEZE)
		return false;
	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		if (mnl_attr_get_type(a) != SNAPFREEZE_A_TARGET)
			continue;
		mnl_attr_for_each_nested(in, a) {
			if (mnl_attr_get_type(in) != SNAPFREEZE_TARGET_A_PATH ||
			    mnl_attr_validate(in, MNL_TYPE_NUL_STRING))
				continue;
			for (unsigned int i = 0; i < ntargets; i++)
				if (!strcmp(mnl_attr_get_str(in), targets[i]))
					return true;
		}
	}
	return false;
}

static unsigned int msg_timeout_s = 120;

static void on_alarm(int sig)
{
	static const char m[] = "not ok - a single message took longer than the watchdog allows: the kernel is stuck\n";

	(void)sig;
	if (write(1, m, sizeof(m) - 1) < 0)
		_exit(3);
	_exit(3);
}

/*
 * Send @count messages on @socks (alternating); @root decides what to do
 * about the module's state.  Returns the messages sent.
 */
static uint64_t run_phase(const char *who, struct sfgenl *socks, int nsocks,
			  bool root, uint64_t count, double limit,
			  struct stats *st, bool *timed_out)
{
	static char buf[BUF_SIZE];
	struct sent_msgs m;
	double t0 = now_s(), last = t0;
	uint64_t i;

	*timed_out = false;
	for (i = 0; i < count; i++) {
		struct sfgenl *g = &socks[i % nsocks];
		unsigned int effective;
		bool acked = false;
		size_t len;
		ssize_t n;

		if (now_s() - t0 > limit) {
			*timed_out = true;
			break;
		}
		memset(buf, 0, 256);
		len = gen_message(buf, &m);
		if (!root && is_valid_freeze(buf, len))
			st->valid_freezes++;
		alarm(msg_timeout_s);
		n = mnl_socket_sendto(g->nl, buf, len);
		alarm(0);
		st->sent++;
		if (n < 0) {
			st->send_errors++;
			continue;
		}
		effective = drain(mnl_socket_get_fd(g->nl), st, &m, &acked);
		if (!acked)
			st->no_answer++;
		if (!root) {
			const char *s = read_state();

			if (effective) {
				st->allowed += effective;
				diag("%s: message %" PRIu64 ": a FREEZE or THAW took effect",
				     who, i);
			}
			if (strcmp(s, "idle")) {
				st->not_idle++;
				if (st->not_idle <= 5)
					diag("%s: message %" PRIu64 ": state is %s",
					     who, i, s);
			}
		} else {
			const char *s = read_state();

			if (strcmp(s, "idle")) {
				if (!strcmp(s, "frozen"))
					st->real_freezes++;
				if (thaw_force(&socks[0]) && strcmp(read_state(), "idle"))
					diag("%s: message %" PRIu64 ": could not thaw (state %s)",
					     who, i, read_state());
			}
		}
		if (now_s() - last >= 30) {
			last = now_s();
			diag("%s: %" PRIu64 " messages in %.0f s", who, i + 1,
			     last - t0);
		}
	}
	return i;
}

/* Acks with error 0 to FREEZE/THAW requests nobody sent. */
static uint64_t nobody_successes(const struct stats *st)
{
	return st->allowed;
}

struct nobody_report {
	uint64_t sent, allowed, not_idle, valid_freezes, eperm, acks;
	int timed_out, open_err, get_ok;
};

static int drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -errno;
	prctl(PR_SET_DUMPABLE, 0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "nobody-count", required_argument, NULL, 'n' },
		{ "time-limit", required_argument, NULL, 't' },
		{ "dir", required_argument, NULL, 'd' },
		{ "target", required_argument, NULL, 'T' },
		{ "generate-only", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t seed = 0, count = 16000, nobody_count = 8000, sent, gen_only = 0;
	uint64_t before[4], after[4];
	static const char *const counters[4] = {
		"freezes", "thaws", "auto_thaws", "failures",
	};
	double limit = 900, t0;
	const char *dir = "/tmp";
	struct sfgenl g[2];
	struct stats st = { 0 };
	struct nobody_report *rep;
	bool timed_out, same;
	int c, ret, pipefd[2];
	pid_t pid;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'c': count = strtoull(optarg, NULL, 0); break;
		case 'n': nobody_count = strtoull(optarg, NULL, 0); break;
		case 't': limit = atof(optarg); break;
		case 'd': dir = optarg; break;
		case 'g': gen_only = strtoull(optarg, NULL, 0); break;
		case 'T':
			if (ntargets < sizeof(targets) / sizeof(targets[0]))
				targets[ntargets++] = optarg;
			break;
		default:
			fprintf(stderr, "usage: nl_fuzz [--seed N] [--count N] [--nobody-count N] [--time-limit S] [--dir DIR] [--target PATH]...\n");
			return 2;
		}
	}
	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
			(uint64_t)getpid()) % 1000000000ULL + 1;
	}
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (gen_only) {
		static char buf[BUF_SIZE];
		struct sent_msgs m;
		uint64_t bytes = 0;

		make_scratch(dir);
		build_pool();
		rng_seed(seed);
		family = 0x20;
		for (uint64_t i = 0; i < gen_only; i++)
			bytes += gen_message(buf, &m);
		remove_scratch();
		printf("generated %" PRIu64 " messages, %" PRIu64 " bytes, seed %" PRIu64 "\n",
		       gen_only, bytes, seed);
		return 0;
	}
	printf("TAP version 13\n1..6\n");
	diag("seed %" PRIu64 " (reproduce: nl_fuzz --seed %" PRIu64
	     " --count %" PRIu64 " --nobody-count %" PRIu64 " with the same targets)",
	     seed, seed, count, nobody_count);
	make_scratch(dir);
	build_pool();

	ret = sfgenl_open(&g[0]);
	if (!ret)
		ret = sfgenl_open(&g[1]);
	result(!ret, "the snapfreeze family is visible%s", ret ? " (open failed)" : "");
	if (ret) {
		remove_scratch();
		printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
		return 1;
	}
	family = g[0].family;
	diag("family id %u, events group %u, %u path(s) in the pool, %u real target(s)",
	     family, g[0].events_grp, npool, ntargets);
	{
		int big = 1 << 20;

		for (int i = 0; i < 2; i++)
			setsockopt(mnl_socket_get_fd(g[i].nl), SOL_SOCKET,
				   SO_RCVBUFFORCE, &big, sizeof(big));
	}

	/* --- root */
	rng_seed(seed);
	t0 = now_s();
	sent = run_phase("root", g, 2, true, count, limit, &st, &timed_out);
	diag("root: %" PRIu64 " messages in %.1f s (%.0f/s), %" PRIu64
	     " send errors, %" PRIu64 " acks, %" PRIu64 " replies, %" PRIu64
	     " sends without an ack, %" PRIu64 " real freezes (each thawed at once)",
	     sent, now_s() - t0, sent / (now_s() - t0 + 1e-9), st.send_errors,
	     st.acks, st.replies, st.no_answer, st.real_freezes);
	print_errnos("root", &st);
	result(!timed_out && get_ok(&g[0]) && get_ok(&g[1]),
	       "root: %" PRIu64 " fuzzed messages, then GET still answers on both sockets%s",
	       sent, timed_out ? " (TIME LIMIT HIT before the count)" : "");

	/* --- nobody, in a child; the report comes back through a pipe */
	for (int i = 0; i < 4; i++)
		before[i] = read_counter(counters[i]);
	if (pipe(pipefd)) {
		perror("pipe");
		return 1;
	}
	rep = calloc(1, sizeof(*rep));
	pid = fork();
	if (pid == 0) {
		struct sfgenl ng[2];
		struct stats nst = { 0 };
		struct nobody_report r = { 0 };
		bool to;

		close(pipefd[0]);
		ng[1] = g[1];	/* opened by root, used by nobody */
		ret = drop_to_nobody();
		if (!ret)
			ret = sfgenl_open(&ng[0]);
		r.open_err = ret;
		if (!ret) {
			rng_seed(seed + 1);
			r.sent = run_phase("nobody", ng, 2, false, nobody_count,
					   limit, &nst, &to);
			r.timed_out = to;
			r.allowed = nobody_successes(&nst);
			r.not_idle = nst.not_idle;
			r.valid_freezes = nst.valid_freezes;
			r.eperm = nst.err[EPERM];
			r.acks = nst.acks;
			r.get_ok = get_ok(&ng[0]);
			print_errnos("nobody", &nst);
		}
		if (write(pipefd[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	if (pid < 0 || read(pipefd[0], rep, sizeof(*rep)) != sizeof(*rep)) {
		result(false, "nobody: the fuzzing child reported nothing");
		rep->open_err = -1;
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	for (int i = 0; i < 4; i++)
		after[i] = read_counter(counters[i]);

	if (!rep->open_err) {
		diag("nobody: %" PRIu64 " messages, %" PRIu64 " acks (%" PRIu64
		     " EPERM), %" PRIu64 " well-formed FREEZEs of real targets",
		     rep->sent, rep->acks, rep->eperm, rep->valid_freezes);
		result(!rep->timed_out && rep->allowed == 0 && rep->not_idle == 0,
		       "nobody: %" PRIu64 " fuzzed messages, %" PRIu64
		       " FREEZE/THAW took effect, state left idle %s",
		       rep->sent, rep->allowed,
		       rep->not_idle ? "NOT always" : "throughout");
		result(rep->get_ok, "nobody: GET answers an unprivileged caller");
	} else {
		result(false, "nobody: could not drop privileges or open the family (%d)",
		       rep->open_err);
		result(false, "nobody: GET answers an unprivileged caller");
	}
	same = true;
	for (int i = 0; i < 4; i++) {
		if (before[i] != after[i]) {
			same = false;
			diag("counter %s moved while nobody fuzzed: %" PRIu64 " -> %" PRIu64,
			     counters[i], before[i], after[i]);
		}
	}
	result(same && before[0] != UINT64_MAX,
	       "nobody: the module's counters did not move (freezes %" PRIu64
	       ", thaws %" PRIu64 ", auto_thaws %" PRIu64 ", failures %" PRIu64 ")",
	       after[0], after[1], after[2], after[3]);

	/* --- nothing left behind */
	if (strcmp(read_state(), "idle"))
		thaw_force(&g[0]);
	result(!strcmp(read_state(), "idle"), "nothing left frozen: state %s",
	       read_state());

	sfgenl_close(&g[0]);
	sfgenl_close(&g[1]);
	remove_scratch();
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n",
	       ktap_n - ktap_fail, ktap_fail);
	return ktap_fail ? 1 : 0;
}
