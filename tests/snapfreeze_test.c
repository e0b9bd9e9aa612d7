// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel tests for the snapfreeze module, run inside the test VM as root by
 * tests/run-guest.sh, which mounts the disks and exports:
 *
 *   SF_MNT_EXT4  SF_DEV_EXT4     first ext4 filesystem and its device
 *   SF_MNT_EXT4B SF_DEV_EXT4B    second ext4 filesystem (multi-target tests)
 *   SF_MNT_XFS   SF_DEV_XFS
 *   SF_MNT_BTRFS SF_DEV_BTRFS
 *   SF_MODULE                    the .ko, to insmod again after rmmod
 *
 * "Frozen" is never taken from the module's word: a child creates and
 * writes a file on the target and reports on a pipe when it is done; it must
 * stay silent while the filesystem is frozen and finish once it is thawed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/magic.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <libmnl/libmnl.h>

/* The harness's SIGALRM handler has an unused ucontext parameter. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "nl.h"

/*
 * Each test is a plain TEST_F_TIMEOUT, and what it needs is prepared in
 * its FIXTURE_SETUP: an absent disk there is a SKIP(), anything else that
 * goes wrong an ASSERT.  The harness must then not run the test, and
 * tests/run-guest.sh picks the tests of tests/run --filter with its -l and
 * -r options: 6.12's harness does both (scripts/install-deps installs
 * linux-source-6.12); 6.1's does neither.
 */
#ifndef FIXTURE_TEARDOWN_PARENT
#error "kselftest_harness.h too old: use linux-source-6.12 (LINUX_SOURCE_TAR)"
#endif

#define SYSFS		"/sys/kernel/snapfreeze"
#define PARAMS		"/sys/module/snapfreeze/parameters"
#define ID_A		"123e4567-e89b-12d3-a456-426614174000"
#define ID_B		"00000000-0000-4000-8000-00000000000b"
#define LONG_TMO	30000		/* ms: longer than any test */
#define BLOCKED_MS	300		/* a blocked writer is silent this long */
#define DONE_MS		5000		/* a free writer finishes within this */
#define MAX_WRITERS	32

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* ---- the disks the guest gave us -------------------------------------- */

enum { FS_EXT4, FS_EXT4B, FS_XFS, FS_BTRFS, FS_COUNT };

struct disk {
	const char *env_mnt, *env_dev, *fstype;
	const char *mnt, *dev;		/* NULL if absent */
};

static struct disk disks[FS_COUNT] = {
	[FS_EXT4] = { "SF_MNT_EXT4", "SF_DEV_EXT4", "ext4" },
	[FS_EXT4B] = { "SF_MNT_EXT4B", "SF_DEV_EXT4B", "ext4" },
	[FS_XFS] = { "SF_MNT_XFS", "SF_DEV_XFS", "xfs" },
	[FS_BTRFS] = { "SF_MNT_BTRFS", "SF_DEV_BTRFS", "btrfs" },
};

static void load_disks(void)
{
	for (int i = 0; i < FS_COUNT; i++) {
		const char *m = getenv(disks[i].env_mnt);
		const char *d = getenv(disks[i].env_dev);

		disks[i].mnt = m && *m ? m : NULL;
		disks[i].dev = d && *d ? d : NULL;
	}
}

/* ---- per-test context -------------------------------------------------- */

struct writer {
	pid_t pid;
	int fd;
	int result;		/* 0 running, 1 done, -1 failed */
};

struct ctx {
	struct nlt *nl;
	int kmsg_fd;
	char *kmsg;		/* "L message\n" per record since setup */
	size_t kmsg_len, kmsg_cap;
	struct writer w[MAX_WRITERS];
	int nw;
	char dirs[FS_COUNT][PATH_MAX];	/* per-test directory on each disk */
	char tmp_mnt[PATH_MAX];		/* our own tmpfs mount, if any */
	char min_timeout[32];		/* min_timeout_ms at setup */
};

static long long now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Evaluate @cond until it holds, every 20 ms for up to @ms: whether it
 * held.  Every wait of the tests for something the module or a child does.
 */
#define POLL_MS(ms, cond)							\
	({									\
		long long __end = now_ms(CLOCK_MONOTONIC) + (ms);		\
		bool __ok;							\
										\
		while (!(__ok = (cond)) && now_ms(CLOCK_MONOTONIC) < __end)	\
			usleep(20 * 1000);					\
		__ok;								\
	})

static bool wait_state(const char *want, int ms);
static int target_state(const struct nlt_status *st, const char *path);

/*
 * How late a deadline may be seen to pass by a test process: scheduling
 * and process wake-up under emulation, much more under KASAN and lockdep.
 */
static long long late_ms(void)
{
	const char *dbg = getenv("SF_DEBUG_KERNEL");

	return dbg && !strcmp(dbg, "1") ? 2000 : 250;
}

static int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

/* One-line sysfs value without its newline. */
static const char *sysfs_str(const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS "/%s", name);
	if (read_text(path, buf, size) < 0)
		return "<unreadable>";
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static long long sysfs_num(const char *name)
{
	char buf[64], *end;
	long long v;

	sysfs_str(name, buf, sizeof(buf));
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || *end)
		return -1;
	return v;
}

static int write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static bool module_loaded(void)
{
	return access(SYSFS "/state", F_OK) == 0;
}

/* Run a command quietly: its exit status, or -1. */
static int run(const char *fmt, ...)
{
	char cmd[PATH_MAX * 2];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* major:minor of the filesystem mounted at @mnt, from mountinfo (s_dev). */
static int mnt_devno(const char *mnt, unsigned int *maj, unsigned int *min)
{
	char line[4096], point[PATH_MAX];
	unsigned int a, b;
	int found = -ENOENT;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &a, &b, point) != 3)
			continue;
		if (strcmp(point, mnt))
			continue;
		*maj = a;	/* the last one is the top of the stack */
		*min = b;
		found = 0;
	}
	fclose(f);
	return found;
}

/* ---- kmsg -------------------------------------------------------------- */

static void kmsg_drain(struct ctx *c)
{
	char rec[8192];

	if (c->kmsg_fd < 0)
		return;
	for (;;) {
		ssize_t n = read(c->kmsg_fd, rec, sizeof(rec) - 1);
		char *semi, *nl;
		size_t len;
		int prio;

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		prio = atoi(rec);
		semi = strchr(rec, ';');
		if (!semi)
			continue;
		nl = strchr(semi + 1, '\n');
		if (nl)
			*nl = '\0';
		len = strlen(semi + 1) + 4;
		if (c->kmsg_len + len + 1 > c->kmsg_cap) {
			size_t cap = (c->kmsg_cap + len + 1) * 2;
			char *p = realloc(c->kmsg, cap);

			if (!p)
				return;
			c->kmsg = p;
			c->kmsg_cap = cap;
		}
		c->kmsg_len += sprintf(c->kmsg + c->kmsg_len, "%d %s\n",
				       prio & 7, semi + 1);
	}
}

/*
 * Find a kernel log line containing every string in @needles (NULL
 * terminated), waiting up to a second for it; its level in *@level.
 */
static bool kmsg_find(struct ctx *c, int *level, const char *const *needles)
{
	long long end = now_ms(CLOCK_MONOTONIC) + 1000;

	do {
		char *line = c->kmsg;

		kmsg_drain(c);
		while (line && *line) {
			char *eol = strchr(line, '\n');
			bool all = true;

			*eol = '\0';
			for (int i = 0; needles[i]; i++)
				if (!strstr(line + 2, needles[i]))
					all = false;
			*eol = '\n';
			if (all) {
				if (level)
					*level = line[0] - '0';
				return true;
			}
			line = eol + 1;
		}
		usleep(50 * 1000);
	} while (now_ms(CLOCK_MONOTONIC) < end);
	return false;
}

#define KMSG_FIND(c, level, ...) \
	kmsg_find(c, level, (const char *const[]){ __VA_ARGS__, NULL })

/* The first kernel complaint logged since setup, or NULL. */
static const char *kmsg_complaint(struct ctx *c)
{
	static const char *const bad[] = {
		"WARNING:", "BUG:", "Oops", "INFO: task", "general protection",
		"possible circular locking", "refcount_t:", "list_add corruption",
		"list_del corruption",
	};
	kmsg_drain(c);
	for (size_t i = 0; c->kmsg && i < ARRAY_SIZE(bad); i++) {
		const char *p = strstr(c->kmsg, bad[i]);

		if (p)
			return p;
	}
	return NULL;
}

/* ---- writers: the observation of "frozen" ------------------------------ */

/* A free writer slot: a new one, or one whose writer was reaped. */
static int writer_slot(struct ctx *c)
{
	if (c->nw < MAX_WRITERS)
		return c->nw++;
	for (int i = 0; i < MAX_WRITERS; i++)
		if (c->w[i].result)
			return i;
	return -1;
}

/* Start a child that creates and writes a file in @dir; its index. */
static int writer_start(struct ctx *c, const char *dir)
{
	static int serial;
	int p[2], idx = writer_slot(c);
	pid_t pid;

	if (idx < 0 || pipe2(p, O_CLOEXEC))
		return -1;
	serial++;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		char path[PATH_MAX], data[65536];
		char ok = 'k';
		int fd;

		close(p[0]);
		memset(data, 'x', sizeof(data));
		snprintf(path, sizeof(path), "%s/w.%d.%d", dir, getpid(), serial);
		fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data))
			ok = 'e';
		if (fd >= 0 && close(fd))
			ok = 'e';
		if (write(p[1], &ok, 1) != 1)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	c->w[idx].pid = pid;
	c->w[idx].fd = p[0];
	c->w[idx].result = 0;
	return idx;
}

/* 1 if writer @i finished (within @ms), 0 if still silent, -1 on error. */
static int writer_wait(struct ctx *c, int i, int ms)
{
	struct writer *w;
	struct pollfd pfd;
	char ok;

	if (i < 0 || i >= c->nw)
		return -1;
	w = &c->w[i];
	if (w->result)
		return w->result;
	pfd.fd = w->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	w->result = read(w->fd, &ok, 1) == 1 && ok == 'k' ? 1 : -1;
	close(w->fd);
	w->fd = -1;
	waitpid(w->pid, NULL, 0);
	return w->result;
}

static bool writer_blocked(struct ctx *c, int i)
{
	return i >= 0 && writer_wait(c, i, BLOCKED_MS) == 0;
}

static bool writer_done(struct ctx *c, int i)
{
	return writer_wait(c, i, DONE_MS) == 1;
}

/* A file can be created and written in @dir: the filesystem is not frozen. */
static bool writable(struct ctx *c, const char *dir)
{
	return writer_done(c, writer_start(c, dir));
}

/* ---- capabilities ------------------------------------------------------ */

static int caps(struct __user_cap_data_struct d[2], bool set)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return (int)syscall(set ? SYS_capset : SYS_capget, &h, d);
}

/* Drop CAP_SYS_ADMIN, keep the rest: true if that is what we now have. */
static bool drop_sys_admin(void)
{
	struct __user_cap_data_struct d[2];
	uint32_t bit = 1U << CAP_SYS_ADMIN;

	if (caps(d, false))
		return false;
	d[0].effective &= ~bit;
	d[0].permitted &= ~bit;
	d[0].inheritable &= ~bit;
	if (caps(d, true) || caps(d, false))
		return false;
	return !(d[0].effective & bit) &&
	       (d[0].effective & (1U << CAP_DAC_OVERRIDE));
}

static bool become_nobody(void)
{
	return !setgroups(0, NULL) && !setresgid(65534, 65534, 65534) &&
	       !setresuid(65534, 65534, 65534) && geteuid() == 65534;
}

/* What an unprivileged child saw; sent back over a pipe. */
struct unpriv_report {
	int dropped;			/* the privilege drop worked */
	int nl_open;			/* errno of opening the socket */
	int freeze, dry_run, thaw, force, get;	/* negative errnos */
	int freeze_msg_ok;		/* "CAP_SYS_ADMIN required" */
	uint32_t get_state;
	int get_has_id, get_ntargets, get_has_error;	/* must all be 0 */
	int join;			/* joining the events group */
	int sysfs[3];			/* reading the root-only sysfs files */
	int control;			/* writing the control file */
};

/* The sysfs files only root may read: ids, paths, errors. */
static const char *const root_only_files[] = {
	"execution_id", "targets", "last_error",
};

static void unpriv_child(int fd, bool nobody, bool try_control,
			 const char *target, const char *id)
{
	struct unpriv_report r = { 0 };
	const char *paths[] = { target };
	struct nlt_result *res = calloc(1, sizeof(*res));
	struct nlt *nl;

	r.dropped = nobody ? become_nobody() : drop_sys_admin();
	nl = nlt_open();
	r.nl_open = nl ? 0 : errno;
	if (nl && res && r.dropped) {
		r.freeze = nlt_freeze(nl, paths, 1, ID_B, LONG_TMO, 0, res, NULL);
		r.freeze_msg_ok = !strcmp(res->msg, "CAP_SYS_ADMIN required");
		r.dry_run = nlt_freeze(nl, paths, 1, ID_B, LONG_TMO,
				      SNAPFREEZE_F_DRY_RUN, res, NULL);
		r.thaw = nlt_thaw(nl, id, 0, res);
		r.force = nlt_thaw(nl, NULL, SNAPFREEZE_F_FORCE, res);
		r.get = nlt_get(nl, res);
		r.get_state = res->st.state;
		r.get_has_id = res->st.has_exec_id;
		r.get_ntargets = res->st.ntargets;
		r.get_has_error = res->st.has_last_error;
		r.join = nlt_join_events(nl);
		for (int i = 0; i < 3; i++) {
			char path[PATH_MAX], buf[64];

			snprintf(path, sizeof(path), SYSFS "/%s",
				 root_only_files[i]);
			r.sysfs[i] = read_text(path, buf, sizeof(buf));
		}
		if (try_control)
			r.control = write_text(SYSFS "/control", "thaw");
	}
	if (write(fd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

static bool unpriv_run(bool nobody, bool try_control, const char *target,
		       const char *id, struct unpriv_report *r)
{
	int p[2];
	pid_t pid;
	bool ok;

	if (pipe(p))
		return false;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		unpriv_child(p[1], nobody, try_control, target, id);
	}
	close(p[1]);
	ok = pid > 0 && read(p[0], r, sizeof(*r)) == sizeof(*r);
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ok;
}

/*
 * Whether anyone may join the events group: kernels without
 * GENL_MCAST_CAP_SYS_ADMIN cannot restrict it, and there events carry no
 * execution id.  Asked once, of a child that became nobody.
 */
static bool events_open_to_all(void)
{
	static int open = -1;
	int p[2], ret = -1;
	pid_t pid;

	if (open >= 0 || pipe(p))
		return open > 0;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct nlt *nl;

		close(p[0]);
		ret = become_nobody() && (nl = nlt_open()) ?
		      nlt_join_events(nl) : -EIO;
		_exit(write(p[1], &ret, sizeof(ret)) == sizeof(ret) ? 0 : 1);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &ret, sizeof(ret)) != sizeof(ret))
		ret = -EIO;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	open = ret == 0;
	return open;
}

/* The execution id an event carries for @id (module netlink.c). */
#define EVENT_ID(id) (events_open_to_all() ? "" : (id))

/* ---- setup and teardown shared by the fixtures ------------------------- */

static void reset_module(struct ctx *c)
{
	struct nlt_result *res = calloc(1, sizeof(*res));
	char state[64];

	if (!res)
		return;
	sysfs_str("state", state, sizeof(state));
	if (strcmp(state, "idle"))
		write_text(SYSFS "/control", "thaw");
	/* Consume a left-over auto-thaw report so the next test starts idle. */
	if (c->nl)
		nlt_thaw(c->nl, NULL, SNAPFREEZE_F_FORCE, res);
	free(res);
}

static const char *disk_dir(struct ctx *c, int d)
{
	if (!disks[d].mnt)
		return NULL;
	if (!c->dirs[d][0]) {
		snprintf(c->dirs[d], sizeof(c->dirs[d]), "%s/sf-test.%d",
			 disks[d].mnt, getpid());
		if (mkdir(c->dirs[d], 0755) && errno != EEXIST)
			return NULL;
	}
	return c->dirs[d];
}

/* Fault injection off again (hardening tests). */
static void faults_clear(void);

static bool ctx_setup(struct __test_metadata *_metadata, struct ctx *c)
{
	load_disks();
	c->kmsg_fd = -1;
	/* A missing module is a failure, never a skip. */
	if (!module_loaded()) {
		TH_LOG("snapfreeze is not loaded (" SYSFS " missing)");
		return false;
	}
	read_text(PARAMS "/min_timeout_ms", c->min_timeout,
		  sizeof(c->min_timeout));
	c->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->kmsg_fd >= 0)
		lseek(c->kmsg_fd, 0, SEEK_END);
	c->nl = nlt_open();
	if (!c->nl) {
		TH_LOG("cannot resolve the snapfreeze family: %s",
		       strerror(errno));
		return false;
	}
	reset_module(c);
	if (strcmp(sysfs_str("state", (char[64]){ 0 }, 64), "idle")) {
		TH_LOG("module not idle at test start");
		return false;
	}
	return true;
}

static void ctx_teardown(struct __test_metadata *_metadata, struct ctx *c)
{
	const char *bad;
	bool stuck = false;

	if (!module_loaded()) {
		const char *ko = getenv("SF_MODULE");

		if (ko)
			run("insmod '%s' 2>/dev/null", ko);
	}
	if (module_loaded() && c->min_timeout[0])
		write_text(PARAMS "/min_timeout_ms", c->min_timeout);
	faults_clear();
	if (module_loaded()) {
		if (c->nl) {
			nlt_close(c->nl);
		}
		c->nl = nlt_open();
		reset_module(c);
	}
	/* Last resort, and for tests that froze with fsfreeze(8). */
	for (int i = 0; i < FS_COUNT; i++)
		if (disks[i].mnt)
			run("fsfreeze -u '%s' 2>/dev/null", disks[i].mnt);
	for (int i = 0; i < c->nw; i++) {
		if (c->w[i].result == 0 && writer_wait(c, i, 10000) == 0) {
			/* Still in D state: cannot be reaped; leave it. */
			TH_LOG("writer %d still blocked after teardown", i);
			stuck = true;
		}
	}
	EXPECT_FALSE(stuck);
	/* A test that unmounted a disk must not leave it unmounted. */
	for (int i = 0; i < FS_COUNT; i++) {
		unsigned int a, b;

		if (disks[i].mnt && disks[i].dev &&
		    mnt_devno(disks[i].mnt, &a, &b))
			run("mount -t %s '%s' '%s'", disks[i].fstype,
			    disks[i].dev, disks[i].mnt);
	}
	for (int i = 0; i < FS_COUNT; i++)
		if (c->dirs[i][0])
			run("rm -rf '%s'", c->dirs[i]);
	if (c->tmp_mnt[0]) {
		umount2(c->tmp_mnt, MNT_DETACH);
		rmdir(c->tmp_mnt);
	}
	bad = kmsg_complaint(c);
	if (bad)
		TH_LOG("kernel complained: %.200s", bad);
	EXPECT_EQ(NULL, bad);
	nlt_close(c->nl);
	c->nl = NULL;
	if (c->kmsg_fd >= 0)
		close(c->kmsg_fd);
	free(c->kmsg);
}

/* FREEZE with a literal list of paths. */
#define FREEZE(c, res, id, tmo, flags, offs, ...)				\
	({									\
		const char *const __p[] = { __VA_ARGS__ };			\
		nlt_freeze((c)->nl, __p, ARRAY_SIZE(__p), id, tmo, flags, res,	\
			  offs);						\
	})

static struct nlt_result *new_res(void)
{
	return calloc(1, sizeof(struct nlt_result));
}

static struct nlt_status get_status(struct __test_metadata *_metadata,
				   struct ctx *c)
{
	struct nlt_result *r = new_res();
	struct nlt_status st;

	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, nlt_get(c->nl, r));
	EXPECT_TRUE(r->has_reply);
	EXPECT_FALSE(r->st.malformed);
	EXPECT_TRUE(r->st.has_state);
	st = r->st;
	free(r);
	return st;
}

/* Check that target @t describes the filesystem mounted at @mnt. */
static void expect_target(struct __test_metadata *_metadata,
			  const struct nlt_target *t, const char *path,
			  const char *mnt, const char *fstype)
{
	unsigned int maj = ~0U, min = ~0U;

	EXPECT_STREQ(path, t->path);
	EXPECT_STREQ(fstype, t->fstype);
	EXPECT_NE(0, strlen(t->sb_id));
	ASSERT_EQ(0, mnt_devno(mnt, &maj, &min));
	EXPECT_TRUE(t->has_major);
	EXPECT_TRUE(t->has_minor);
	EXPECT_EQ(maj, t->major);
	EXPECT_EQ(min, t->minor);
}

/* ===================================================================== */
/* Tests that run once per filesystem.                                    */
/* ===================================================================== */

FIXTURE(fs) {
	struct ctx c;
	const char *mnt, *dev, *dir;
	const char *other, *other_dir;	/* a second filesystem, or NULL */
	struct nlt_result *r;
};

FIXTURE_VARIANT(fs) {
	int disk;
};

FIXTURE_VARIANT_ADD(fs, ext4) { .disk = FS_EXT4 };
FIXTURE_VARIANT_ADD(fs, xfs) { .disk = FS_XFS };
FIXTURE_VARIANT_ADD(fs, btrfs) { .disk = FS_BTRFS };

FIXTURE_SETUP(fs)
{
	int other;

	ASSERT_TRUE(ctx_setup(_metadata, &self->c));
	self->r = new_res();
	ASSERT_NE(NULL, self->r);
	self->mnt = disks[variant->disk].mnt;
	self->dev = disks[variant->disk].dev;
	if (!self->mnt)
		SKIP(return, "%s is not set: no %s disk",
		     disks[variant->disk].env_mnt, disks[variant->disk].fstype);
	self->dir = disk_dir(&self->c, variant->disk);
	ASSERT_NE(NULL, self->dir);
	other = variant->disk == FS_EXT4 ? FS_EXT4B : FS_EXT4;
	self->other = disks[other].mnt;
	self->other_dir = disk_dir(&self->c, other);
	/* Prove the probe works before relying on its silence. */
	ASSERT_TRUE(writable(&self->c, self->dir));
}

FIXTURE_TEARDOWN(fs)
{
	ctx_teardown(_metadata, &self->c);
	free(self->r);
}

/* Test that FREEZE blocks writers, reports the set, and THAW releases them. */
TEST_F_TIMEOUT(fs, freeze_thaw, 60)
{
	struct ctx *c = &self->c;
	const char *fstype = disks[variant->disk].fstype;
	struct nlt_status before = get_status(_metadata, c), st;
	long long realtime = now_ms(CLOCK_REALTIME);
	char param[32];
	int w, lvl = -1;

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, 0, 0, NULL, self->mnt));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));

	/* The FREEZE reply is a GET reply. */
	st = self->r->st;
	EXPECT_TRUE(self->r->has_reply);
	EXPECT_FALSE(st.malformed);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, st.state);
	EXPECT_STREQ(ID_A, st.exec_id);
	ASSERT_EQ(1, st.ntargets);
	expect_target(_metadata, &st.targets[0], self->mnt, self->mnt, fstype);
	/* No timeout given: the module's default applies. */
	read_text(PARAMS "/default_timeout_ms", param, sizeof(param));
	EXPECT_TRUE(st.has_timeout);
	EXPECT_EQ(strtoul(param, NULL, 10), st.timeout_ms);

	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, st.state);
	EXPECT_STREQ(ID_A, st.exec_id);
	ASSERT_EQ(1, st.ntargets);
	expect_target(_metadata, &st.targets[0], self->mnt, self->mnt, fstype);
	EXPECT_TRUE(st.has_remaining);
	EXPECT_GT(st.remaining_ms, 0);
	EXPECT_LE(st.remaining_ms, st.timeout_ms);
	EXPECT_TRUE(st.has_frozen_since);
	EXPECT_LT(llabs((long long)(st.frozen_since / 1000000) - realtime),
		  60000);
	EXPECT_FALSE(st.has_thawed_at);
	EXPECT_EQ(before.freezes + 1, st.freezes);
	EXPECT_TRUE(writer_blocked(c, w));

	EXPECT_TRUE(KMSG_FIND(c, &lvl, "snapfreeze: froze 1 filesystem(s) for execution " ID_A ", auto-thaw in ",
			      self->mnt));
	EXPECT_EQ(6, lvl);

	ASSERT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(self->r->has_reply);
	/* The state THAW found: its own attribute, and state as in ABI 1. */
	EXPECT_TRUE(self->r->st.has_found_state);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, self->r->st.found_state);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, self->r->st.state);
	EXPECT_STREQ(ID_A, self->r->st.exec_id);
	EXPECT_TRUE(writer_done(c, w));
	EXPECT_TRUE(writable(c, self->dir));

	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);
	EXPECT_FALSE(st.has_exec_id);
	EXPECT_EQ(0, st.ntargets);
	EXPECT_EQ(before.freezes + 1, st.freezes);
	EXPECT_EQ(before.thaws + 1, st.thaws);
	EXPECT_EQ(before.failures, st.failures);
	lvl = -1;
	EXPECT_TRUE(KMSG_FIND(c, &lvl, "snapfreeze: thawed 1 filesystem(s) for execution " ID_A " after ",
			      self->mnt));
	EXPECT_EQ(6, lvl);
}

/* Test that a bad target in the middle of the list leaves nothing frozen. */
TEST_F_TIMEOUT(fs, all_or_nothing_missing_target, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status before = get_status(_metadata, c), st;
	uint32_t offs[3];
	int ret;

	if (self->other)
		ret = FREEZE(c, self->r, ID_A, LONG_TMO, 0, offs, self->mnt,
			     "/nonexistent/snapfreeze", self->other);
	else
		ret = FREEZE(c, self->r, ID_A, LONG_TMO, 0, offs, self->mnt,
			     "/nonexistent/snapfreeze");
	EXPECT_EQ(-ENOENT, ret);
	EXPECT_STREQ("target not found", self->r->msg);
	EXPECT_TRUE(self->r->has_offset);
	EXPECT_EQ(offs[1], self->r->offset);

	EXPECT_TRUE(writable(c, self->dir));
	if (self->other)
		EXPECT_TRUE(writable(c, self->other_dir));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);
	EXPECT_EQ(0, st.ntargets);
	EXPECT_EQ(before.failures + 1, st.failures);
	EXPECT_EQ(before.freezes, st.freezes);
	EXPECT_TRUE(st.has_last_error);
	EXPECT_NE(0, strlen(st.last_error));
}

/* Test that an unfreezable filesystem in the list fails the whole set. */
TEST_F_TIMEOUT(fs, all_or_nothing_unfreezable_target, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status st;
	uint32_t offs[3];

	EXPECT_EQ(-EOPNOTSUPP, FREEZE(c, self->r, ID_A, LONG_TMO, 0, offs,
				      self->mnt, "/proc/self",
				      self->other ? self->other : self->mnt));
	EXPECT_STREQ("filesystem does not support freezing", self->r->msg);
	EXPECT_TRUE(self->r->has_offset);
	EXPECT_EQ(offs[1], self->r->offset);
	EXPECT_TRUE(writable(c, self->dir));
	if (self->other)
		EXPECT_TRUE(writable(c, self->other_dir));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);
}

/* Test that a target given twice and two paths on one filesystem freeze it once. */
TEST_F_TIMEOUT(fs, duplicate_targets_frozen_once, 60)
{
	struct ctx *c = &self->c;
	const char *fstype = disks[variant->disk].fstype;
	char sub[PATH_MAX];
	struct nlt_status st;
	int w;

	snprintf(sub, sizeof(sub), "%s/sub", self->dir);
	ASSERT_EQ(0, mkdir(sub, 0755));
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt,
			    self->mnt, sub, self->dir));
	EXPECT_EQ(1, self->r->st.ntargets);
	w = writer_start(c, sub);
	EXPECT_TRUE(writer_blocked(c, w));
	st = get_status(_metadata, c);
	ASSERT_EQ(1, st.ntargets);
	expect_target(_metadata, &st.targets[0], self->mnt, self->mnt, fstype);
	ASSERT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_done(c, w));
	/* Thawed once, so not still frozen by a second hold. */
	EXPECT_TRUE(writable(c, self->dir));
}

/* Test that FREEZE while a set is frozen is refused and changes nothing. */
TEST_F_TIMEOUT(fs, freeze_while_frozen_busy, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status st;
	const char *second = self->other ? self->other : self->mnt;
	int w;

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));

	EXPECT_EQ(-EBUSY, FREEZE(c, self->r, ID_B, LONG_TMO, 0, NULL, second));
	EXPECT_STREQ("a freeze set is already active", self->r->msg);
	/* A dry run checks what a real run would: busy too. */
	EXPECT_EQ(-EBUSY, FREEZE(c, self->r, ID_B, LONG_TMO,
				 SNAPFREEZE_F_DRY_RUN, NULL, second));

	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, st.state);
	EXPECT_STREQ(ID_A, st.exec_id);
	ASSERT_EQ(1, st.ntargets);
	EXPECT_STREQ(self->mnt, st.targets[0].path);
	if (self->other)
		EXPECT_TRUE(writable(c, self->other_dir));
	EXPECT_TRUE(writer_blocked(c, w));

	ASSERT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_done(c, w));
}

/* Test that a filesystem frozen with fsfreeze(8) is busy and nothing else is frozen. */
TEST_F_TIMEOUT(fs, target_frozen_by_someone_else, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status before = get_status(_metadata, c), st;
	uint32_t offs[2];
	int ret, w;

	ASSERT_EQ(0, run("fsfreeze -f '%s'", self->mnt));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));

	if (self->other)
		ret = FREEZE(c, self->r, ID_A, LONG_TMO, 0, offs, self->other,
			     self->mnt);
	else
		ret = FREEZE(c, self->r, ID_A, LONG_TMO, 0, offs + 1, self->mnt);
	EXPECT_EQ(-EBUSY, ret);
	EXPECT_STREQ("filesystem is already frozen by someone else",
		     self->r->msg);
	EXPECT_TRUE(self->r->has_offset);
	EXPECT_EQ(offs[1], self->r->offset);
	if (self->other)
		EXPECT_TRUE(writable(c, self->other_dir));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);
	EXPECT_EQ(before.failures + 1, st.failures);

	/* The dry run sees it too. */
	if (self->other)
		ret = FREEZE(c, self->r, ID_A, LONG_TMO, SNAPFREEZE_F_DRY_RUN,
			     offs, self->other, self->mnt);
	else
		ret = FREEZE(c, self->r, ID_A, LONG_TMO, SNAPFREEZE_F_DRY_RUN,
			     offs + 1, self->mnt);
	EXPECT_EQ(-EBUSY, ret);
	EXPECT_EQ(offs[1], self->r->offset);

	/* The module must not have thawed what it did not freeze. */
	EXPECT_TRUE(writer_blocked(c, w));
	EXPECT_EQ(0, run("fsfreeze -u '%s'", self->mnt));
	EXPECT_TRUE(writer_done(c, w));
}

/* Test that THAW with another execution id is refused and thaws nothing. */
TEST_F_TIMEOUT(fs, thaw_wrong_id, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status st;
	int w;

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));

	EXPECT_EQ(-ESRCH, nlt_thaw(c->nl, ID_B, 0, self->r));
	EXPECT_STREQ("execution id does not match the frozen set",
		     self->r->msg);
	EXPECT_EQ(-ESRCH, nlt_thaw(c->nl, SNAPFREEZE_EXEC_ID_NONE, 0, self->r));
	EXPECT_TRUE(writer_blocked(c, w));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, st.state);
	EXPECT_STREQ(ID_A, st.exec_id);

	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_done(c, w));
}

/* Test that THAW with FORCE thaws whatever the execution id. */
TEST_F_TIMEOUT(fs, thaw_force, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status st;
	int w;

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));
	EXPECT_EQ(0, nlt_thaw(c->nl, NULL, SNAPFREEZE_F_FORCE, self->r));
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, self->r->st.state);
	EXPECT_STREQ(ID_A, self->r->st.exec_id);
	EXPECT_TRUE(writer_done(c, w));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);

	/* FORCE with a wrong id thaws too. */
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_B, SNAPFREEZE_F_FORCE, self->r));
	EXPECT_TRUE(writer_done(c, w));
}

/* Test that DRY_RUN freezes nothing, counts nothing and still reports errors. */
TEST_F_TIMEOUT(fs, dry_run, 60)
{
	struct ctx *c = &self->c;
	const char *fstype = disks[variant->disk].fstype;
	struct nlt_status before = get_status(_metadata, c), st;
	uint32_t offs[2];

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, SNAPFREEZE_F_DRY_RUN,
			    NULL, self->mnt, self->dir));
	st = self->r->st;
	EXPECT_TRUE(self->r->has_reply);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);
	ASSERT_EQ(1, st.ntargets);
	expect_target(_metadata, &st.targets[0], self->mnt, self->mnt, fstype);
	EXPECT_TRUE(writable(c, self->dir));

	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);
	EXPECT_EQ(0, st.ntargets);
	EXPECT_EQ(before.freezes, st.freezes);
	EXPECT_EQ(before.thaws, st.thaws);
	EXPECT_EQ(before.auto_thaws, st.auto_thaws);
	EXPECT_EQ(before.failures, st.failures);
	EXPECT_FALSE(KMSG_FIND(c, NULL, "snapfreeze: froze"));

	EXPECT_EQ(-ENOENT, FREEZE(c, self->r, ID_A, LONG_TMO,
				  SNAPFREEZE_F_DRY_RUN, offs, self->mnt,
				  "/nonexistent/snapfreeze"));
	EXPECT_STREQ("target not found", self->r->msg);
	EXPECT_EQ(offs[1], self->r->offset);
	EXPECT_TRUE(writable(c, self->dir));
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, get_status(_metadata, c).state);
}

static void expect_unpriv(struct __test_metadata *_metadata,
			  const struct unpriv_report *r, bool nobody)
{
	EXPECT_TRUE(r->dropped);
	EXPECT_EQ(0, r->nl_open);
	EXPECT_EQ(-EPERM, r->freeze);
	EXPECT_TRUE(r->freeze_msg_ok);
	EXPECT_EQ(-EPERM, r->dry_run);
	EXPECT_EQ(-EPERM, r->thaw);
	EXPECT_EQ(-EPERM, r->force);
	/* GET works for anyone and sees the state, not ids, paths, errors. */
	EXPECT_EQ(0, r->get);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, r->get_state);
	EXPECT_FALSE(r->get_has_id);
	EXPECT_EQ(0, r->get_ntargets);
	EXPECT_FALSE(r->get_has_error);
	/* Where the kernel can restrict the events group, it is restricted. */
	if (!events_open_to_all())
		EXPECT_EQ(-EPERM, r->join);
	/* The root-only sysfs files: mode 0400, so any uid but 0 is out. */
	for (int i = 0; nobody && i < 3; i++)
		EXPECT_EQ(-EACCES, r->sysfs[i]);
}

/*
 * Test that callers without CAP_SYS_ADMIN can only GET, and see neither
 * the execution id, the paths nor the last error (GET or sysfs).
 */
TEST_F_TIMEOUT(fs, unprivileged, 60)
{
	struct ctx *c = &self->c;
	struct unpriv_report r;
	struct nlt_status st;
	int w;

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));

	ASSERT_TRUE(unpriv_run(false, false, self->mnt, ID_A, &r));
	expect_unpriv(_metadata, &r, false);
	ASSERT_TRUE(unpriv_run(true, false, self->mnt, ID_A, &r));
	expect_unpriv(_metadata, &r, true);

	EXPECT_TRUE(writer_blocked(c, w));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, st.state);
	EXPECT_STREQ(ID_A, st.exec_id);
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_done(c, w));
}

/* Wait up to @ms for the module's auto-thaw uevent on @fd. */
static bool wait_uevent(struct __test_metadata *_metadata, int fd, int ms,
			const char *id)
{
	long long end = now_ms(CLOCK_MONOTONIC) + ms;
	char want_id[128];

	snprintf(want_id, sizeof(want_id), "SNAPFREEZE_EXECUTION_ID=%s", id);
	for (;;) {
		long long left = end - now_ms(CLOCK_MONOTONIC);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char buf[8192];
		bool ev = false, eid = false, mod = false;
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			TH_LOG("no auto-thaw uevent for %s", id);
			return false;
		}
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "ACTION@DEVPATH\0KEY=VALUE\0..." */
		for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
			if (!strcmp(p, "change@/module/snapfreeze"))
				mod = true;
			if (!strcmp(p, "SNAPFREEZE_EVENT=auto-thaw"))
				ev = true;
			if (!strcmp(p, want_id))
				eid = true;
		}
		if (mod && ev && eid)
			return true;
		for (char *p = buf; p < buf + n; p += strlen(p) + 1)
			TH_LOG("other uevent: %s", p);
	}
}

/* Test that the deadline thaws in time, is reported, and THAW then says so. */
TEST_F_TIMEOUT(fs, auto_thaw, 60)
{
	struct ctx *c = &self->c;
	const uint32_t tmo = 1500;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	struct nlt_status before = get_status(_metadata, c), st, ev;
	struct nlt *events = nlt_open();
	long long t0, t1, t2;
	int uev, w, lvl = -1;
	uint32_t r1;
	char buf[64];

	ASSERT_NE(NULL, events);
	ASSERT_EQ(0, nlt_join_events(events));
	uev = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	ASSERT_LE(0, uev);
	ASSERT_EQ(0, bind(uev, (struct sockaddr *)&sa, sizeof(sa)));

	t0 = now_ms(CLOCK_MONOTONIC);
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, tmo, 0, NULL, self->mnt));
	t1 = now_ms(CLOCK_MONOTONIC);
	EXPECT_EQ(tmo, self->r->st.timeout_ms);
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));

	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, st.state);
	r1 = st.remaining_ms;
	EXPECT_LE(r1, tmo);
	usleep(200 * 1000);
	st = get_status(_metadata, c);
	EXPECT_LT(st.remaining_ms, r1);

	/* The writer finishes when the deadline thaws: measure, don't assume. */
	EXPECT_EQ(1, writer_wait(c, w, tmo + 3000));
	t2 = now_ms(CLOCK_MONOTONIC);
	TH_LOG("request->writer done %lld ms, reply->writer done %lld ms",
	       t2 - t0, t2 - t1);
	EXPECT_GE(t2 - t0, tmo);
	EXPECT_LE(t2 - t1, tmo + late_ms());

	ASSERT_EQ(0, nlt_recv_event(events, &ev, 2000));
	EXPECT_EQ(SNAPFREEZE_EVENT_FROZEN, ev.event);
	EXPECT_STREQ(EVENT_ID(ID_A), ev.exec_id);
	ASSERT_EQ(0, nlt_recv_event(events, &ev, 2000));
	EXPECT_EQ(SNAPFREEZE_CMD_EVENT, ev.cmd);
	EXPECT_EQ(SNAPFREEZE_EVENT_AUTO_THAWED, ev.event);
	EXPECT_STREQ(EVENT_ID(ID_A), ev.exec_id);
	EXPECT_EQ(SNAPFREEZE_THAW_DEADLINE, ev.thaw_reason);
	EXPECT_TRUE(wait_uevent(_metadata, uev, 2000, ID_A));

	EXPECT_STREQ("auto-thawed", sysfs_str("state", buf, sizeof(buf)));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_AUTO_THAWED, st.state);
	EXPECT_EQ(before.auto_thaws + 1, st.auto_thaws);
	EXPECT_TRUE(KMSG_FIND(c, &lvl, "snapfreeze: auto-thaw: thawed 1 filesystem(s) of execution " ID_A " at the deadline",
			      self->mnt));
	EXPECT_EQ(4, lvl);

	ASSERT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_EQ(SNAPFREEZE_STATE_AUTO_THAWED, self->r->st.state);
	EXPECT_TRUE(self->r->st.has_thawed_at);
	EXPECT_NE(0, self->r->st.thawed_at);
	EXPECT_EQ(SNAPFREEZE_THAW_DEADLINE, self->r->st.thaw_reason);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, get_status(_metadata, c).state);
	EXPECT_EQ(-ENOENT, nlt_thaw(c->nl, ID_A, 0, self->r));
	close(uev);
	nlt_close(events);
}

/* Test that "thaw" written to the control file thaws and is reported. */
TEST_F_TIMEOUT(fs, emergency_thaw, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status st;
	char buf[64];
	int w, lvl = -1;

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));
	EXPECT_EQ(0, write_text(SYSFS "/control", "thaw"));
	EXPECT_TRUE(writer_done(c, w));
	EXPECT_STREQ("auto-thawed", sysfs_str("state", buf, sizeof(buf)));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_AUTO_THAWED, st.state);
	EXPECT_EQ(SNAPFREEZE_THAW_EMERGENCY, st.thaw_reason);
	EXPECT_TRUE(KMSG_FIND(c, &lvl, "snapfreeze: emergency thaw: thawed 1 filesystem(s) of execution " ID_A));
	EXPECT_EQ(4, lvl);

	/* A wrong id is refused in this state too. */
	EXPECT_EQ(-ESRCH, nlt_thaw(c->nl, ID_B, 0, self->r));
	ASSERT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_EQ(SNAPFREEZE_STATE_AUTO_THAWED, self->r->st.state);
	EXPECT_EQ(SNAPFREEZE_THAW_EMERGENCY, self->r->st.thaw_reason);
	EXPECT_TRUE(self->r->st.has_thawed_at);
	EXPECT_EQ(-ENOENT, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_STREQ("idle", sysfs_str("state", buf, sizeof(buf)));
}

/* Test that a block device node target freezes the filesystem on it. */
TEST_F_TIMEOUT(fs, block_device_target, 60)
{
	struct ctx *c = &self->c;
	const char *fstype = disks[variant->disk].fstype;
	struct nlt_status st;
	int w;

	if (!self->dev)
		SKIP(return, "%s is not set", disks[variant->disk].env_dev);
	/* Kernels that cannot map a device say so, and freeze nothing. */
	if (sysfs_num("bdev_targets") == 0) {
		EXPECT_EQ(-EOPNOTSUPP, FREEZE(c, self->r, ID_A, LONG_TMO, 0,
					      NULL, self->dev));
		EXPECT_STREQ("cannot map a block device on this kernel: give a mount point",
			     self->r->msg);
		EXPECT_TRUE(writable(c, self->dir));
		return;
	}
	/* btrfs publishes no device-to-filesystem link on these kernels. */
	if (variant->disk == FS_BTRFS) {
		EXPECT_EQ(-ENODEV, FREEZE(c, self->r, ID_A, LONG_TMO, 0,
					  NULL, self->dev));
		EXPECT_TRUE(writable(c, self->dir));
		return;
	}
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->dev));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));
	st = get_status(_metadata, c);
	ASSERT_EQ(1, st.ntargets);
	expect_target(_metadata, &st.targets[0], self->dev, self->mnt, fstype);
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_done(c, w));
}

/* Test that a frozen filesystem can be lazily unmounted and still thawed. */
TEST_F_TIMEOUT(fs, lazy_umount_while_frozen, 60)
{
	struct ctx *c = &self->c;
	unsigned int a, b;
	int w;

	if (!self->dev)
		SKIP(return, "%s is not set: cannot mount it again",
		     disks[variant->disk].env_dev);
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt));
	w = writer_start(c, self->dir);
	EXPECT_TRUE(writer_blocked(c, w));
	ASSERT_EQ(0, umount2(self->mnt, MNT_DETACH));
	EXPECT_NE(0, mnt_devno(self->mnt, &a, &b));

	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, self->r->st.state);
	EXPECT_TRUE(writer_done(c, w));
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, get_status(_metadata, c).state);

	ASSERT_EQ(0, run("mount -t %s '%s' '%s'", disks[variant->disk].fstype,
			 self->dev, self->mnt));
	EXPECT_TRUE(writable(c, self->dir));
}

/* Test the sysfs files while frozen and when idle. */
TEST_F_TIMEOUT(fs, sysfs_values, 60)
{
	struct ctx *c = &self->c;
	const char *fstype = disks[variant->disk].fstype;
	long long freezes = sysfs_num("freezes"), thaws = sysfs_num("thaws");
	char buf[4096], want[PATH_MAX + 64];
	unsigned int maj, min;
	long long r1, r2;

	ASSERT_LE(0, freezes);
	ASSERT_LE(0, thaws);
	EXPECT_STREQ("idle", sysfs_str("state", buf, sizeof(buf)));
	EXPECT_STREQ("", sysfs_str("execution_id", buf, sizeof(buf)));
	EXPECT_STREQ("", sysfs_str("targets", buf, sizeof(buf)));

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt));
	EXPECT_STREQ("frozen", sysfs_str("state", buf, sizeof(buf)));
	EXPECT_STREQ(ID_A, sysfs_str("execution_id", buf, sizeof(buf)));
	ASSERT_EQ(0, mnt_devno(self->mnt, &maj, &min));
	snprintf(want, sizeof(want), "%s %u:%u %s\n", self->mnt, maj, min,
		 fstype);
	read_text(SYSFS "/targets", buf, sizeof(buf));
	EXPECT_STREQ(want, buf);
	r1 = sysfs_num("remaining_ms");
	EXPECT_GT(r1, 0);
	EXPECT_LE(r1, LONG_TMO);
	usleep(300 * 1000);
	r2 = sysfs_num("remaining_ms");
	EXPECT_LT(r2, r1);
	EXPECT_GE(r2, 0);
	EXPECT_EQ(freezes + 1, sysfs_num("freezes"));
	EXPECT_LE(0, sysfs_num("last_flush_us"));
	EXPECT_LE(0, sysfs_num("last_freeze_us"));
	EXPECT_LE(0, sysfs_num("auto_thaws"));
	EXPECT_LE(0, sysfs_num("failures"));

	ASSERT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_STREQ("idle", sysfs_str("state", buf, sizeof(buf)));
	EXPECT_STREQ("", sysfs_str("execution_id", buf, sizeof(buf)));
	read_text(SYSFS "/targets", buf, sizeof(buf));
	EXPECT_STREQ("", buf);
	EXPECT_EQ(thaws + 1, sysfs_num("thaws"));
}

/* ===================================================================== */
/* Tests across filesystems, and of the request format.                   */
/* ===================================================================== */

FIXTURE(sf) {
	struct ctx c;
	struct nlt_result *r;
	const char *ext4, *ext4_dir;
};

FIXTURE_SETUP(sf)
{
	ASSERT_TRUE(ctx_setup(_metadata, &self->c));
	self->r = new_res();
	ASSERT_NE(NULL, self->r);
	self->ext4 = disks[FS_EXT4].mnt;
	if (!self->ext4)
		SKIP(return, "SF_MNT_EXT4 is not set");
	self->ext4_dir = disk_dir(&self->c, FS_EXT4);
	ASSERT_NE(NULL, self->ext4_dir);
}

FIXTURE_TEARDOWN(sf)
{
	ctx_teardown(_metadata, &self->c);
	free(self->r);
}

/* Test that every filesystem freezes together and thaws together. */
TEST_F_TIMEOUT(sf, freeze_all_filesystems, 60)
{
	struct ctx *c = &self->c;
	const char *paths[FS_COUNT];
	char count[160];
	int w[FS_COUNT], idx[FS_COUNT], n = 0, lvl = -1;
	struct nlt_status st;
	const char *needles[FS_COUNT + 2];

	for (int i = 0; i < FS_COUNT; i++) {
		if (!disks[i].mnt)
			continue;
		ASSERT_NE(NULL, disk_dir(c, i));
		idx[n] = i;
		paths[n++] = disks[i].mnt;
	}
	if (n < 2)
		SKIP(return, "fewer than two disks");
	ASSERT_EQ(0, nlt_freeze(c->nl, paths, n, ID_A, LONG_TMO, 0, self->r,
			       NULL));
	for (int i = 0; i < n; i++)
		w[i] = writer_start(c, c->dirs[idx[i]]);
	for (int i = 0; i < n; i++)
		EXPECT_TRUE(writer_blocked(c, w[i]));
	st = get_status(_metadata, c);
	ASSERT_EQ(n, st.ntargets);
	for (int i = 0; i < n; i++)
		expect_target(_metadata, &st.targets[i], paths[i], paths[i],
			      disks[idx[i]].fstype);

	snprintf(count, sizeof(count),
		 "snapfreeze: froze %d filesystem(s) for execution " ID_A, n);
	needles[0] = count;
	for (int i = 0; i < n; i++)
		needles[i + 1] = paths[i];
	needles[n + 1] = NULL;
	EXPECT_TRUE(kmsg_find(c, &lvl, needles));

	ASSERT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	for (int i = 0; i < n; i++)
		EXPECT_TRUE(writer_done(c, w[i]));
	snprintf(count, sizeof(count),
		 "snapfreeze: thawed %d filesystem(s) for execution " ID_A, n);
	EXPECT_TRUE(kmsg_find(c, &lvl, needles));
}

/* Test that a user-frozen filesystem in the middle fails the whole set. */
TEST_F_TIMEOUT(sf, all_or_nothing_user_frozen_middle, 60)
{
	struct ctx *c = &self->c;
	const char *paths[FS_COUNT];
	uint32_t offs[FS_COUNT];
	int idx[FS_COUNT], n = 0, mid, w, ret;
	struct nlt_status before = get_status(_metadata, c), st, ev;
	struct nlt *events = nlt_open();

	ASSERT_NE(NULL, events);
	ASSERT_EQ(0, nlt_join_events(events));
	for (int i = 0; i < FS_COUNT; i++) {
		if (!disks[i].mnt)
			continue;
		ASSERT_NE(NULL, disk_dir(c, i));
		idx[n] = i;
		paths[n++] = disks[i].mnt;
	}
	if (n < 3)
		SKIP(return, "fewer than three disks");
	mid = n / 2;
	ASSERT_EQ(0, run("fsfreeze -f '%s'", paths[mid]));
	w = writer_start(c, c->dirs[idx[mid]]);
	EXPECT_TRUE(writer_blocked(c, w));

	EXPECT_EQ(-EBUSY, nlt_freeze(c->nl, paths, n, ID_A, LONG_TMO, 0,
				    self->r, offs));
	EXPECT_EQ(offs[mid], self->r->offset);
	EXPECT_STREQ("filesystem is already frozen by someone else",
		     self->r->msg);
	for (int i = 0; i < n; i++)
		if (i != mid)
			EXPECT_TRUE(writable(c, c->dirs[idx[i]]));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);
	EXPECT_EQ(before.failures + 1, st.failures);
	EXPECT_EQ(before.freezes, st.freezes);

	EXPECT_TRUE(writer_blocked(c, w));
	EXPECT_EQ(0, run("fsfreeze -u '%s'", paths[mid]));
	EXPECT_TRUE(writer_done(c, w));

	/* Monitors hear about every failed FREEZE. */
	ret = nlt_recv_event(events, &ev, 2000);
	EXPECT_EQ(0, ret);
	if (!ret) {
		EXPECT_EQ(SNAPFREEZE_EVENT_FAILED, ev.event);
		EXPECT_EQ(EBUSY, ev.err);
		EXPECT_STREQ(EVENT_ID(ID_A), ev.exec_id);
	}
	nlt_close(events);
}

/* Test that THAW with nothing frozen is ENOENT, and that THAW is safe to repeat. */
TEST_F_TIMEOUT(sf, thaw_idle_and_twice, 60)
{
	struct ctx *c = &self->c;
	struct nlt *events = nlt_open();
	struct nlt_status ev;

	ASSERT_NE(NULL, events);
	ASSERT_EQ(0, nlt_join_events(events));
	EXPECT_EQ(-ENOENT, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_STREQ("nothing is frozen", self->r->msg);
	EXPECT_EQ(-ENOENT, nlt_thaw(c->nl, NULL, SNAPFREEZE_F_FORCE, self->r));

	ASSERT_EQ(0, FREEZE(c, self->r, SNAPFREEZE_EXEC_ID_NONE, LONG_TMO, 0,
			    NULL, self->ext4));
	EXPECT_STREQ(SNAPFREEZE_EXEC_ID_NONE, self->r->st.exec_id);
	EXPECT_EQ(0, nlt_thaw(c->nl, SNAPFREEZE_EXEC_ID_NONE, 0, self->r));
	EXPECT_EQ(-ENOENT, nlt_thaw(c->nl, SNAPFREEZE_EXEC_ID_NONE, 0, self->r));
	EXPECT_STREQ("nothing is frozen", self->r->msg);
	EXPECT_TRUE(writable(c, self->ext4_dir));

	ASSERT_EQ(0, nlt_recv_event(events, &ev, 2000));
	EXPECT_EQ(SNAPFREEZE_EVENT_FROZEN, ev.event);
	ASSERT_EQ(0, nlt_recv_event(events, &ev, 2000));
	EXPECT_EQ(SNAPFREEZE_EVENT_THAWED, ev.event);
	EXPECT_EQ(SNAPFREEZE_THAW_REQUEST, ev.thaw_reason);
	EXPECT_STREQ(EVENT_ID(SNAPFREEZE_EXEC_ID_NONE), ev.exec_id);
	nlt_close(events);
}



/* Test the 64-target limit exactly: 64 identical targets freeze one filesystem. */
TEST_F_TIMEOUT(sf, max_targets, 60)
{
	struct ctx *c = &self->c;
	const char *paths[SNAPFREEZE_MAX_TARGETS];
	int w;

	for (int i = 0; i < SNAPFREEZE_MAX_TARGETS; i++)
		paths[i] = self->ext4;
	ASSERT_EQ(0, nlt_freeze(c->nl, paths, SNAPFREEZE_MAX_TARGETS, ID_A,
			       LONG_TMO, 0, self->r, NULL));
	EXPECT_EQ(1, self->r->st.ntargets);
	w = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_blocked(c, w));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_done(c, w));
}

/* Test that filesystems that cannot freeze, and empty devices, are refused. */
TEST_F_TIMEOUT(sf, unfreezable_targets, 60)
{
	struct ctx *c = &self->c;
	struct statfs sfs;
	uint32_t off;
	char img[PATH_MAX];

	EXPECT_EQ(-EOPNOTSUPP, FREEZE(c, self->r, ID_A, LONG_TMO, 0, &off,
				      "/proc"));
	EXPECT_STREQ("filesystem does not support freezing", self->r->msg);
	EXPECT_EQ(off, self->r->offset);
	EXPECT_EQ(-EOPNOTSUPP, FREEZE(c, self->r, ID_A, LONG_TMO, 0, &off,
				      "/sys/kernel"));

	/* A tmpfs: /tmp in the guest, else one of our own. */
	snprintf(img, sizeof(img), "/tmp");
	if (statfs(img, &sfs) || sfs.f_type != TMPFS_MAGIC) {
		snprintf(c->tmp_mnt, sizeof(c->tmp_mnt), "/run/sf-tmpfs.%d",
			 getpid());
		ASSERT_EQ(0, mkdir(c->tmp_mnt, 0700));
		ASSERT_EQ(0, mount("none", c->tmp_mnt, "tmpfs", 0, NULL));
		snprintf(img, sizeof(img), "%s", c->tmp_mnt);
	}
	EXPECT_EQ(-EOPNOTSUPP, FREEZE(c, self->r, ID_A, LONG_TMO, 0, &off, img));
	EXPECT_EQ(off, self->r->offset);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, get_status(_metadata, c).state);
}

/* Test that a block device with no filesystem mounted on it is ENODEV. */
TEST_F_TIMEOUT(sf, block_device_without_filesystem, 60)
{
	struct ctx *c = &self->c;
	char loopdev[64] = "", img[PATH_MAX], cmd[PATH_MAX + 64];
	uint32_t off;
	FILE *p;

	run("modprobe loop 2>/dev/null");
	snprintf(img, sizeof(img), "%s/loop.img", self->ext4_dir);
	ASSERT_EQ(0, run("truncate -s 4M '%s'", img));
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", img);
	fflush(NULL);
	p = popen(cmd, "r");
	if (p) {
		if (!fgets(loopdev, sizeof(loopdev), p))
			loopdev[0] = '\0';
		pclose(p);
	}
	loopdev[strcspn(loopdev, "\n")] = '\0';
	if (!loopdev[0])
		SKIP(return, "no loop device (losetup failed)");
	if (sysfs_num("bdev_targets") == 0) {
		EXPECT_EQ(-EOPNOTSUPP, FREEZE(c, self->r, ID_A, LONG_TMO, 0,
					      &off, loopdev));
	} else {
		EXPECT_EQ(-ENODEV, FREEZE(c, self->r, ID_A, LONG_TMO, 0, &off,
					  loopdev));
		EXPECT_STREQ("no mounted filesystem on this block device",
			     self->r->msg);
	}
	EXPECT_EQ(off, self->r->offset);
	EXPECT_EQ(0, run("losetup -d '%s'", loopdev));
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, get_status(_metadata, c).state);
}

/* Test the control file: "thaw" when idle is harmless, other words are refused. */
TEST_F_TIMEOUT(sf, control_file, 60)
{
	struct ctx *c = &self->c;
	char buf[64];

	EXPECT_EQ(-EINVAL, write_text(SYSFS "/control", "bogus"));
	EXPECT_EQ(-EINVAL, write_text(SYSFS "/control", "thaw now"));
	EXPECT_STREQ("idle", sysfs_str("state", buf, sizeof(buf)));
	EXPECT_EQ(0, access(SYSFS "/control", W_OK));
	EXPECT_TRUE(writable(c, self->ext4_dir));
}

/* Test that FREEZE is allowed over an unreported auto-thaw, which is dropped. */
TEST_F_TIMEOUT(sf, freeze_after_auto_thaw, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status st;
	int w;

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->ext4));
	ASSERT_EQ(0, write_text(SYSFS "/control", "thaw"));
	ASSERT_EQ(SNAPFREEZE_STATE_AUTO_THAWED, get_status(_metadata, c).state);

	ASSERT_EQ(0, FREEZE(c, self->r, ID_B, LONG_TMO, 0, NULL, self->ext4));
	w = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_blocked(c, w));
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, st.state);
	EXPECT_STREQ(ID_B, st.exec_id);
	EXPECT_FALSE(st.has_thawed_at);

	EXPECT_EQ(-ESRCH, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_blocked(c, w));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_B, 0, self->r));
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, self->r->st.state);
	EXPECT_TRUE(writer_done(c, w));
	/* The first set's auto-thaw is not reported any more. */
	EXPECT_EQ(-ENOENT, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_EQ(-ENOENT, nlt_thaw(c->nl, ID_B, 0, self->r));
}

/*
 * Test that the emergency thaw is as privileged as THAW: a root process
 * without CAP_SYS_ADMIN, and uid 65534, cannot thaw through the control file.
 */
TEST_F_TIMEOUT(sf, control_needs_cap_sys_admin, 60)
{
	struct ctx *c = &self->c;
	struct unpriv_report r;
	char buf[64];
	int w;

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->ext4));
	w = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_blocked(c, w));

	ASSERT_TRUE(unpriv_run(true, true, self->ext4, ID_A, &r));
	EXPECT_TRUE(r.dropped);
	EXPECT_NE(0, r.control);
	EXPECT_STREQ("frozen", sysfs_str("state", buf, sizeof(buf)));

	ASSERT_TRUE(unpriv_run(false, true, self->ext4, ID_A, &r));
	EXPECT_TRUE(r.dropped);
	if (!r.control)
		TH_LOG("uid 0 without CAP_SYS_ADMIN emergency-thawed the set");
	EXPECT_NE(0, r.control);
	EXPECT_STREQ("frozen", sysfs_str("state", buf, sizeof(buf)));
	EXPECT_TRUE(writer_blocked(c, w));

	nlt_thaw(c->nl, ID_A, 0, self->r);
	EXPECT_TRUE(writer_done(c, w));
}

/*
 * Test the rollback: with a 1 ms deadline (min_timeout_ms lowered) and
 * dirty data to flush on every disk, the deadline passes while freezing;
 * the set must be undone and reported.
 */
TEST_F_TIMEOUT(sf, deadline_passes_while_freezing, 60)
{
	struct ctx *c = &self->c;
	const char *paths[FS_COUNT];
	int idx[FS_COUNT], n = 0, lvl = -1, ret;
	struct nlt *events = nlt_open();
	struct nlt_status st, ev;
	static char data[1 << 20];

	ASSERT_NE(NULL, events);
	ASSERT_EQ(0, nlt_join_events(events));
	memset(data, 'd', sizeof(data));
	for (int i = 0; i < FS_COUNT; i++) {
		char path[PATH_MAX];
		int fd;

		if (!disks[i].mnt || !disk_dir(c, i))
			continue;
		idx[n] = i;
		paths[n++] = disks[i].mnt;
		snprintf(path, sizeof(path), "%s/dirty", c->dirs[i]);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		ASSERT_LE(0, fd);
		for (int k = 0; k < 8; k++)
			ASSERT_EQ(sizeof(data), write(fd, data, sizeof(data)));
		close(fd);
	}
	ASSERT_EQ(0, write_text(PARAMS "/min_timeout_ms", "1"));
	ret = nlt_freeze(c->nl, paths, n, ID_A, 1, 0, self->r, NULL);
	write_text(PARAMS "/min_timeout_ms", c->min_timeout);
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_STREQ("auto-thaw deadline passed while freezing", self->r->msg);
	st = get_status(_metadata, c);
	EXPECT_NE(SNAPFREEZE_STATE_FROZEN, st.state);
	if (st.state == SNAPFREEZE_STATE_FREEZING) {
		/*
		 * Flushes still running half a second after the deadline:
		 * the request abandoned the set, and they undo it when done.
		 */
		EXPECT_TRUE(wait_state("idle", 60000));
		EXPECT_TRUE(KMSG_FIND(c, &lvl, "snapfreeze: freeze of execution " ID_A " abandoned: "));
	} else {
		EXPECT_TRUE(KMSG_FIND(c, &lvl, "snapfreeze: rollback of execution " ID_A ": "));
	}
	EXPECT_EQ(4, lvl);
	for (int i = 0; i < n; i++)
		EXPECT_TRUE(writable(c, c->dirs[idx[i]]));
	ASSERT_EQ(0, nlt_recv_event(events, &ev, 2000));
	EXPECT_EQ(SNAPFREEZE_EVENT_FAILED, ev.event);
	EXPECT_EQ(ETIMEDOUT, ev.err);
	nlt_close(events);
}

/*
 * Test that the deadline breaks a freeze that stalls, and the request then
 * fails with everything thawed.  The stall is the real one: a filesystem on
 * a loop device backed by a file on the ext4 disk, named AFTER that disk.
 * Once ext4 is frozen, freezing the stacked filesystem must write through
 * the loop device into ext4 and waits forever; only the deadline, thawing
 * ext4, lets it finish.  The right order (stacked first) then just works.
 *
 *   ext4 disk --- loop.img --- /dev/loopN --- ext4 at /mnt/sf-stack-PID
 */
TEST_F_TIMEOUT(sf, deadline_breaks_stalled_freeze, 90)
{
	struct ctx *c = &self->c;
	char img[PATH_MAX], mnt[64], loopdev[64] = "", dir[PATH_MAX];
	char cmd[PATH_MAX + 32];
	long long failures, t0, elapsed;
	uint32_t offs[2];
	FILE *f;
	int w1, w2, lvl = -1, ret, tmo = 1500 + 4 * (int)late_ms();

	snprintf(img, sizeof(img), "%s/loop.img", self->ext4_dir);
	snprintf(mnt, sizeof(mnt), "/mnt/sf-stack-%d", getpid());
	ASSERT_EQ(0, run("truncate -s 64M '%s' && mkfs.ext4 -q -F '%s'", img, img));
	run("modprobe loop 2>/dev/null");
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s'", img);
	fflush(NULL);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(loopdev, sizeof(loopdev), f));
	pclose(f);
	loopdev[strcspn(loopdev, "\n")] = '\0';
	ASSERT_EQ(0, mkdir(mnt, 0755));
	ASSERT_EQ(0, run("mount -t ext4 '%s' '%s'", loopdev, mnt));
	snprintf(dir, sizeof(dir), "%s/d", mnt);
	ASSERT_EQ(0, mkdir(dir, 0755));
	ASSERT_EQ(0, run("dd if=/dev/zero of='%s/dirty' bs=1M count=4 status=none", mnt));
	failures = sysfs_num("failures");

	/*
	 * Wrong order: the stacked filesystem after the one holding it.  The
	 * deadline must leave time to flush and freeze ext4 first.
	 */
	t0 = now_ms(CLOCK_MONOTONIC);
	ret = FREEZE(c, self->r, ID_A, tmo, 0, offs, self->ext4, mnt);
	elapsed = now_ms(CLOCK_MONOTONIC) - t0;
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_STREQ("auto-thaw deadline passed while freezing", self->r->msg);
	EXPECT_TRUE(self->r->has_offset);
	EXPECT_EQ(offs[1], self->r->offset);
	TH_LOG("stalled FREEZE returned after %lld ms (deadline %d ms)",
	       elapsed, tmo);
	EXPECT_LE(tmo, elapsed);
	EXPECT_GT(tmo + 5000, elapsed);
	/* The stacked freeze ends once ext4 is thawed, at most this late. */
	EXPECT_TRUE(wait_state("idle", 30000));
	EXPECT_TRUE(writable(c, self->ext4_dir));
	EXPECT_TRUE(writable(c, dir));
	EXPECT_EQ(failures + 1, sysfs_num("failures"));
	EXPECT_TRUE(KMSG_FIND(c, &lvl, "snapfreeze: auto-thaw: aborted the freeze of execution " ID_A));
	EXPECT_EQ(4, lvl);
	/*
	 * Rolled back by the request, or, when the stacked freeze took more
	 * than half a second to end (a debug kernel), abandoned by it and
	 * undone by that freeze's work.
	 */
	EXPECT_TRUE(KMSG_FIND(c, &lvl, "snapfreeze: rollback of execution " ID_A ": ") ||
		    KMSG_FIND(c, &lvl, "snapfreeze: freeze of execution " ID_A " abandoned: "));

	/* Right order: stacked first; both freeze, both thaw. */
	EXPECT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, mnt, self->ext4));
	w1 = writer_start(c, dir);
	w2 = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_blocked(c, w1));
	EXPECT_TRUE(writer_blocked(c, w2));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_done(c, w1));
	EXPECT_TRUE(writer_done(c, w2));

	run("umount '%s'", mnt);
	rmdir(mnt);
	run("losetup -d '%s'", loopdev);
}

/*
 * Test who may thaw a snapfreeze freeze (docs/kernels.md): up to 6.5 the
 * freeze is anonymous and `fsfreeze -u` thaws it (a THAW then finds it
 * gone and still succeeds); from 6.6 it is a kernel hold that
 * `fsfreeze -u` cannot drop, and the writer stays blocked until THAW.
 * And the limit docs/kernels.md states for up to 6.5: a freeze somebody
 * makes after thawing ours is indistinguishable from ours, and THAW
 * thaws it, reporting the target thawed.
 */
TEST_F_TIMEOUT(sf, who_may_thaw, 60)
{
	struct ctx *c = &self->c;
	char hold[32];
	int w, ret;

	ASSERT_NE(NULL, sysfs_str("freeze_hold", hold, sizeof(hold)));
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->ext4));
	w = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_blocked(c, w));
	ret = run("fsfreeze -u '%s' 2>/dev/null", self->ext4);
	TH_LOG("freeze hold %s: fsfreeze -u exited %d", hold, ret);
	if (!strcmp(hold, "anonymous")) {
		EXPECT_EQ(0, ret);
		EXPECT_TRUE(writer_done(c, w));
		ASSERT_EQ(0, run("fsfreeze -f '%s'", self->ext4));
		w = writer_start(c, self->ext4_dir);
		EXPECT_TRUE(writer_blocked(c, w));
		EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
		EXPECT_EQ(0, self->r->st.held_by_other);
		EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAWED,
			  target_state(&self->r->st, self->ext4));
		EXPECT_TRUE(writer_done(c, w));
	} else {
		EXPECT_TRUE(!strcmp(hold, "kernel") ||
			    !strcmp(hold, "kernel-exclusive"));
		/*
		 * Its exit status differs between kernels (6.12 reports
		 * success for a thaw that dropped nothing); what counts is
		 * that the filesystem stays frozen.
		 */
		EXPECT_TRUE(writer_blocked(c, w));
		EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
		EXPECT_TRUE(writer_done(c, w));
	}
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, get_status(_metadata, c).state);
}

/* Test that unloading the module while frozen thaws first. */
TEST_F_TIMEOUT(sf, rmmod_while_frozen, 90)
{
	struct ctx *c = &self->c;
	const char *ko = getenv("SF_MODULE");
	struct nlt_status st;
	int w, lvl = -1;

	if (!ko || access(ko, R_OK))
		SKIP(return, "SF_MODULE is not set: cannot load the module again");
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->ext4));
	w = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_blocked(c, w));

	ASSERT_EQ(0, run("rmmod snapfreeze"));
	EXPECT_FALSE(module_loaded());
	EXPECT_TRUE(writer_done(c, w));
	EXPECT_TRUE(KMSG_FIND(c, &lvl, "snapfreeze: shutdown: thawed 1 filesystem(s) of execution " ID_A));
	EXPECT_EQ(4, lvl);
	EXPECT_TRUE(writable(c, self->ext4_dir));

	ASSERT_EQ(0, run("insmod '%s'", ko));
	ASSERT_TRUE(module_loaded());
	nlt_close(c->nl);
	c->nl = nlt_open();
	ASSERT_NE(NULL, c->nl);
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);
	/* And usable again. */
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->ext4));
	w = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_blocked(c, w));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_done(c, w));
}

/* ===================================================================== */
/* Hardening: what a review of the module found, each provoked.          */
/* ===================================================================== */

/*
 * A filesystem on a loop device backed by a file in @host_dir:
 *
 *   host filesystem --- s->img --- s->dev (/dev/loopN) --- ext4 at s->mnt
 */
struct stack {
	char img[PATH_MAX], mnt[64], dev[64], dir[PATH_MAX + 8];
};

/* A loop device for the file @img: its node in @dev. */
static bool losetup_file(const char *img, char *dev, size_t size)
{
	char cmd[PATH_MAX + 32];
	FILE *f;

	run("modprobe loop 2>/dev/null");
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s'", img);
	fflush(NULL);
	f = popen(cmd, "r");
	if (!f)
		return false;
	if (!fgets(dev, size, f))
		dev[0] = '\0';
	pclose(f);
	dev[strcspn(dev, "\n")] = '\0';
	return dev[0];
}

static bool stack_setup(struct stack *s, const char *host_dir, const char *tag)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->img, sizeof(s->img), "%s/%s.img", host_dir, tag);
	snprintf(s->mnt, sizeof(s->mnt), "/mnt/sf-%s-%d", tag, getpid());
	if (run("truncate -s 64M '%s' && mkfs.ext4 -q -F '%s'", s->img, s->img))
		return false;
	snprintf(s->dir, sizeof(s->dir), "%s/d", s->mnt);
	return losetup_file(s->img, s->dev, sizeof(s->dev)) &&
	       !mkdir(s->mnt, 0755) &&
	       !run("mount -t ext4 '%s' '%s'", s->dev, s->mnt) &&
	       !mkdir(s->dir, 0755);
}

static void stack_teardown(struct stack *s)
{
	run("umount '%s' 2>/dev/null", s->mnt);
	rmdir(s->mnt);
	if (s->dev[0])
		run("losetup -d '%s' 2>/dev/null", s->dev);
}

/* Dirty data on @dir: a new file of @mb MB, not synced. */
static int make_dirty(const char *dir, int mb)
{
	return run("dd if=/dev/zero of='%s/dirty' bs=1M count=%d status=none",
		   dir, mb);
}

/* Wait up to @ms for the module's sysfs state to read @want. */
static bool wait_state(const char *want, int ms)
{
	char buf[32];

	return POLL_MS(ms, !strcmp(want, sysfs_str("state", buf, sizeof(buf))));
}

/* A request sent from a child, for requests that block. */
struct bg {
	pid_t pid;
	int fd;		/* where its result comes */
};

/* Fork @bg's child: 0 in it, with *@wfd the end to write the result to. */
static pid_t bg_fork(struct bg *bg, int *wfd)
{
	int p[2];

	bg->pid = -1;
	bg->fd = -1;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(NULL);
	bg->pid = fork();
	if (bg->pid == 0) {
		*wfd = p[1];
		return 0;
	}
	close(p[1]);
	bg->fd = p[0];
	return bg->pid;
}

/* Wait up to @ms (-1: forever) for @bg's result: true if it came. */
static bool bg_result(struct bg *bg, void *res, size_t size, int ms)
{
	struct pollfd pfd = { .fd = bg->fd, .events = POLLIN };
	bool ok = poll(&pfd, 1, ms) == 1 &&
		  read(bg->fd, res, size) == (ssize_t)size;

	if (ok) {
		close(bg->fd);
		waitpid(bg->pid, NULL, 0);
	}
	return ok;
}

struct bg_result {
	int ret;
	char msg[256];
	uint32_t offset;
};

static bool bg_freeze_start(struct bg *bg, const char *const *paths,
			    const uint32_t *levels, unsigned int n, int tmo)
{
	int wfd;

	if (bg_fork(bg, &wfd) == 0) {
		struct nlt_result *r = calloc(1, sizeof(*r));
		struct nlt *nl = nlt_open();
		struct bg_result res = { .ret = -EIO };

		if (nl && r) {
			res.ret = nlt_freeze_levels(nl, paths, levels, n, ID_A,
						   tmo, 0, r, NULL);
			snprintf(res.msg, sizeof(res.msg), "%s", r->msg);
			res.offset = r->has_offset ? r->offset : 0;
		}
		_exit(write(wfd, &res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	return bg->pid > 0;
}

/* Fault injection (kmod/faults.h): only on kernels built for it. */
#define FAULTS "/sys/kernel/debug/snapfreeze"

static bool faults_available(void)
{
	return access(FAULTS "/fail_thaw/probability", W_OK) == 0;
}

/* Make fault @name fire the next @times times it is reached (0: never). */
static int fault_set(const char *name, int times)
{
	static const char *const knobs[] = { "interval", "verbose", "times",
					      "probability" };
	char path[PATH_MAX], val[16];
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		snprintf(path, sizeof(path), FAULTS "/%s/%s", name, knobs[i]);
		snprintf(val, sizeof(val), "%d", i == 0 ? 1 : i == 1 ? 1 :
			 i == 2 ? times : times ? 100 : 0);
		ret = ret ?: write_text(path, val);
	}
	return ret;
}

/* A hook run as the last step of a test, whatever happened. */
static void faults_clear(void)
{
	if (faults_available()) {
		fault_set("fail_thaw", 0);
		fault_set("freeze_late", 0);
	}
}

/* The state of the target named @path in @st, or -1. */
static int target_state(const struct nlt_status *st, const char *path)
{
	for (unsigned int i = 0; i < st->ntargets; i++)
		if (!strcmp(st->targets[i].path, path))
			return st->targets[i].has_state ? st->targets[i].state : -1;
	return -1;
}

/*
 * Test that after an auto-thaw the module lets go of the filesystem at
 * once: unmounted, it really shuts down (its device can be opened
 * exclusively), while GET still reports the set's targets.
 */
TEST_F_TIMEOUT(sf, auto_thaw_releases_filesystem, 60)
{
	struct ctx *c = &self->c;
	struct stack s;
	struct nlt_status st;
	int fd = -1;

	ASSERT_TRUE(stack_setup(&s, self->ext4_dir, "release"));
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, 2000, 0, NULL, s.mnt));
	ASSERT_TRUE(wait_state("auto-thawed", 8000));
	ASSERT_EQ(0, run("umount '%s'", s.mnt));
	for (int i = 0; i < 100 && fd < 0; i++) {
		fd = open(s.dev, O_RDONLY | O_EXCL | O_CLOEXEC);
		if (fd < 0)
			usleep(20 * 1000);
	}
	if (fd < 0)
		TH_LOG("%s still busy: %s", s.dev, strerror(errno));
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_AUTO_THAWED, st.state);
	ASSERT_EQ(1, st.ntargets);
	EXPECT_STREQ(s.mnt, st.targets[0].path);
	EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAWED, target_state(&st, s.mnt));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_EQ(SNAPFREEZE_STATE_AUTO_THAWED, self->r->st.state);
	EXPECT_TRUE(self->r->st.has_found_state);
	EXPECT_EQ(SNAPFREEZE_STATE_AUTO_THAWED, self->r->st.found_state);
	stack_teardown(&s);
}

/*
 * Test that a target frozen by someone else after our FREEZE (a root
 * user's `fsfreeze -f`, which nests on our hold on 6.6+) is reported as
 * still frozen after our THAW, never as thawed.
 */
TEST_F_TIMEOUT(fs, held_by_other_after_thaw, 60)
{
	struct ctx *c = &self->c;
	struct nlt *events = nlt_open();
	struct nlt_status ev;
	char hold[32];
	int w, ret, lvl = -1;

	ASSERT_NE(NULL, events);
	ASSERT_EQ(0, nlt_join_events(events));
	sysfs_str("freeze_hold", hold, sizeof(hold));
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->mnt));
	w = writer_start(c, self->dir);
	ret = run("fsfreeze -f '%s' 2>/dev/null", self->mnt);
	TH_LOG("freeze hold %s: fsfreeze -f on our freeze exited %d", hold, ret);
	ASSERT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	ASSERT_EQ(1, self->r->st.ntargets);
	ASSERT_EQ(0, nlt_recv_event(events, &ev, 2000));	/* frozen */
	ASSERT_EQ(0, nlt_recv_event(events, &ev, 2000));
	EXPECT_EQ(SNAPFREEZE_EVENT_THAWED, ev.event);
	if (ret) {
		/* Up to 6.5 the user's freeze is refused: nothing nests. */
		EXPECT_STREQ("anonymous", hold);
		EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAWED,
			  self->r->st.targets[0].state);
		EXPECT_EQ(0, self->r->st.held_by_other);
		EXPECT_TRUE(writer_done(c, w));
	} else {
		EXPECT_STRNE("anonymous", hold);
		EXPECT_EQ(SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER,
			  self->r->st.targets[0].state);
		EXPECT_EQ(1, self->r->st.held_by_other);
		EXPECT_EQ(1, ev.held_by_other);
		EXPECT_EQ(1, sysfs_num("held_by_other"));
		EXPECT_TRUE(KMSG_FIND(c, &lvl, "is still frozen by another holder",
				      self->mnt));
		EXPECT_EQ(4, lvl);
		EXPECT_TRUE(writer_blocked(c, w));
		EXPECT_EQ(0, run("fsfreeze -u '%s'", self->mnt));
		EXPECT_TRUE(writer_done(c, w));
	}
	nlt_close(events);
}

/* Test the same after an auto-thaw: GET and the THAW report say so. */
TEST_F_TIMEOUT(fs, held_by_other_after_auto_thaw, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status st;
	int w, ret;

	/* Long enough for fsfreeze(8) to start under a slow emulator. */
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, 4000, 0, NULL, self->mnt));
	ret = run("fsfreeze -f '%s' 2>/dev/null", self->mnt);
	if (get_status(_metadata, c).state != SNAPFREEZE_STATE_FROZEN) {
		/* fsfreeze came after the auto-thaw: nothing nested. */
		run("fsfreeze -u '%s' 2>/dev/null", self->mnt);
		SKIP(return, "fsfreeze(8) started after the deadline here");
	}
	w = writer_start(c, self->dir);
	ASSERT_TRUE(wait_state("auto-thawed", 10000));
	st = get_status(_metadata, c);
	EXPECT_EQ(ret ? 0 : 1, st.held_by_other);
	EXPECT_EQ(ret ? SNAPFREEZE_TARGET_STATE_THAWED :
			SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER,
		  target_state(&st, self->mnt));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_EQ(SNAPFREEZE_STATE_AUTO_THAWED, self->r->st.state);
	EXPECT_EQ(ret ? 0 : 1, self->r->st.held_by_other);
	if (!ret) {
		EXPECT_TRUE(writer_blocked(c, w));
		EXPECT_EQ(0, run("fsfreeze -u '%s'", self->mnt));
	}
	EXPECT_TRUE(writer_done(c, w));
}

/*
 * Test that a target someone else freezes while the set is being frozen
 * fails the FREEZE (EBUSY, pointing at it), instead of nesting silently.
 * The window is made wide for real: the first level is a filesystem on a
 * loop device whose backing file is on the ext4 disk, which the test
 * freezes itself, so that level's freeze waits; meanwhile the test
 * freezes the second level's target, then lets the first go on.
 */
TEST_F_TIMEOUT(sf, frozen_by_other_during_freeze, 90)
{
	struct ctx *c = &self->c;
	const char *other = disks[FS_EXT4B].mnt ?: disks[FS_XFS].mnt;
	static const uint32_t levels[] = { 0, 1 };
	const char *paths[2];
	struct bg bg;
	struct bg_result res;
	struct stack s;

	if (!other)
		SKIP(return, "needs a second disk");
	ASSERT_TRUE(stack_setup(&s, self->ext4_dir, "window"));
	ASSERT_EQ(0, make_dirty(s.dir, 4));
	paths[0] = s.mnt;
	paths[1] = other;
	ASSERT_EQ(0, run("fsfreeze -f '%s'", self->ext4));
	ASSERT_TRUE(bg_freeze_start(&bg, paths, levels, 2, LONG_TMO));
	usleep(500 * 1000);	/* the first level is stuck behind ext4 */
	EXPECT_EQ(0, run("fsfreeze -f '%s'", other));
	EXPECT_EQ(0, run("fsfreeze -u '%s'", self->ext4));
	ASSERT_TRUE(bg_result(&bg, &res, sizeof(res), -1));
	TH_LOG("FREEZE: %d \"%s\"", res.ret, res.msg);
	EXPECT_EQ(-EBUSY, res.ret);
	EXPECT_STREQ("filesystem is already frozen by someone else", res.msg);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, get_status(_metadata, c).state);
	EXPECT_TRUE(writable(c, s.dir));
	/* Still frozen by its user, who thaws it. */
	EXPECT_EQ(0, run("fsfreeze -u '%s'", other));
	EXPECT_TRUE(writable(c, disk_dir(c, other == disks[FS_EXT4B].mnt ?
					 FS_EXT4B : FS_XFS)));
	stack_teardown(&s);
}

/*
 * Test that levels freeze a stacked filesystem before the one holding
 * its file, whatever the request order, and that the reply reports each
 * target's timings and the set's window and skew.
 */
TEST_F_TIMEOUT(sf, levels_freeze_stacked_first, 90)
{
	struct ctx *c = &self->c;
	static const uint32_t levels[] = { 1, 0 };
	const char *paths[2];
	struct stack s;
	struct nlt_status st;
	long long t0, elapsed;
	int w1, w2;

	ASSERT_TRUE(stack_setup(&s, self->ext4_dir, "levels"));
	ASSERT_EQ(0, make_dirty(s.dir, 4));
	paths[0] = self->ext4;		/* the host first in the request */
	paths[1] = s.mnt;
	t0 = now_ms(CLOCK_MONOTONIC);
	ASSERT_EQ(0, nlt_freeze_levels(c->nl, paths, levels, 2, ID_A, 5000, 0,
				      self->r, NULL));
	elapsed = now_ms(CLOCK_MONOTONIC) - t0;
	TH_LOG("FREEZE took %lld ms", elapsed);
	EXPECT_GT(5000, elapsed);
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, st.state);
	ASSERT_EQ(2, st.ntargets);
	/* Reported in freezing order: level 0 first. */
	EXPECT_STREQ(s.mnt, st.targets[0].path);
	EXPECT_STREQ(self->ext4, st.targets[1].path);
	for (int i = 0; i < 2; i++) {
		EXPECT_TRUE(st.targets[i].has_timings);
		EXPECT_EQ(SNAPFREEZE_TARGET_STATE_FROZEN, st.targets[i].state);
		EXPECT_LE(st.targets[i].frozen_at_ns, st.freeze_ns);
	}
	EXPECT_LT(st.targets[0].frozen_at_ns, st.targets[1].frozen_at_ns);
	EXPECT_TRUE(st.has_skew_ns);
	EXPECT_LE(st.skew_ns, st.freeze_ns);
	w1 = writer_start(c, s.dir);
	w2 = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_blocked(c, w1));
	EXPECT_TRUE(writer_blocked(c, w2));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_TRUE(writer_done(c, w1));
	EXPECT_TRUE(writer_done(c, w2));
	stack_teardown(&s);
}

/*
 * Test that targets of one level freeze together: every disk at level 0,
 * the skew between the first and the last to freeze reported.
 */
TEST_F_TIMEOUT(sf, one_level_freezes_together, 60)
{
	struct ctx *c = &self->c;
	uint32_t levels[FS_COUNT] = { 0 };
	const char *paths[FS_COUNT];
	int idx[FS_COUNT], w[FS_COUNT], n = 0;
	struct nlt_status st;

	for (int i = 0; i < FS_COUNT; i++) {
		if (!disks[i].mnt || !disk_dir(c, i))
			continue;
		idx[n] = i;
		paths[n++] = disks[i].mnt;
	}
	ASSERT_EQ(0, nlt_freeze_levels(c->nl, paths, levels, n, ID_A, LONG_TMO,
				      0, self->r, NULL));
	st = get_status(_metadata, c);
	TH_LOG("%d filesystems: window %llu us, skew %llu us", n,
	       (unsigned long long)st.freeze_ns / 1000,
	       (unsigned long long)st.skew_ns / 1000);
	EXPECT_EQ(n, st.ntargets);
	EXPECT_LE(st.skew_ns, st.freeze_ns);
	EXPECT_EQ(st.freeze_ns / 1000, sysfs_num("last_freeze_us"));
	EXPECT_EQ(st.skew_ns / 1000, sysfs_num("last_skew_us"));
	for (int i = 0; i < n; i++) {
		w[i] = writer_start(c, c->dirs[idx[i]]);
		EXPECT_TRUE(writer_blocked(c, w[i]));
	}
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	for (int i = 0; i < n; i++)
		EXPECT_TRUE(writer_done(c, w[i]));
}

/*
 * ext4 on dm-delay over a loop device on the guest's tmpfs: every write
 * takes DELAY_MS, and so does every thaw, because ext4 writes its super
 * block back when thawed and waits for it.
 */
#define DELAY_FS	4
#define DELAY_MS	400

struct delayed_fs {
	char img[64], loop[64], dm[64], mnt[64];
};

static bool delayed_setup(struct delayed_fs *d, int i)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->img, sizeof(d->img), "/tmp/sf-delay-%d-%d.img", getpid(), i);
	snprintf(d->dm, sizeof(d->dm), "sf-delay-%d-%d", getpid(), i);
	snprintf(d->mnt, sizeof(d->mnt), "/mnt/sf-delay-%d-%d", getpid(), i);
	if (run("truncate -s 16M '%s' && mkfs.ext4 -q -F '%s'", d->img, d->img))
		return false;
	/* Reads at once, writes (and flushes) DELAY_MS late. */
	return losetup_file(d->img, d->loop, sizeof(d->loop)) &&
	       !run("dmsetup create --noudevsync '%s' --table \"0 $(blockdev --getsz %s) delay %s 0 0 %s 0 %d\" && dmsetup mknodes '%s'",
		    d->dm, d->loop, d->loop, d->loop, DELAY_MS, d->dm) &&
	       !mkdir(d->mnt, 0755) &&
	       !run("mount -t ext4 /dev/mapper/'%s' '%s'", d->dm, d->mnt);
}

static void delayed_teardown(struct delayed_fs *d)
{
	run("umount '%s' 2>/dev/null", d->mnt);
	rmdir(d->mnt);
	run("dmsetup remove --noudevsync '%s' 2>/dev/null", d->dm);
	if (d->loop[0])
		run("losetup -d '%s' 2>/dev/null", d->loop);
	unlink(d->img);
}

/*
 * Test that the targets of one level thaw together, not one after
 * another: a THAW of DELAY_FS filesystems whose thaw each takes DELAY_MS
 * takes about DELAY_MS (one after another: DELAY_FS times that).
 */
TEST_F_TIMEOUT(sf, one_level_thaws_together, 120)
{
	struct ctx *c = &self->c;
	uint32_t levels[DELAY_FS] = { 0 };
	struct delayed_fs d[DELAY_FS];
	const char *paths[DELAY_FS];
	long long t0, elapsed;
	int i, n;

	if (run("modprobe dm-delay 2>/dev/null && command -v dmsetup >/dev/null"))
		SKIP(return, "no dm-delay module or no dmsetup here");
	for (n = 0; n < DELAY_FS && delayed_setup(&d[n], n); n++)
		paths[n] = d[n].mnt;
	EXPECT_EQ(DELAY_FS, n);
	if (n == DELAY_FS) {
		EXPECT_EQ(0, nlt_freeze_levels(c->nl, paths, levels, n, ID_A,
					       LONG_TMO, 0, self->r, NULL));
		t0 = now_ms(CLOCK_MONOTONIC);
		EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
		elapsed = now_ms(CLOCK_MONOTONIC) - t0;
		TH_LOG("THAW of %d filesystems whose writes take %d ms: %lld ms",
		       n, DELAY_MS, elapsed);
		/* The premise: each thaw waits for a delayed write. */
		EXPECT_LE(DELAY_MS, elapsed);
		/* Halfway to one after another: together, with room for load. */
		EXPECT_GT(DELAY_FS * DELAY_MS / 2, elapsed);
		EXPECT_STREQ("idle", sysfs_str("state", (char[32]){ 0 }, 32));
	}
	for (i = n < DELAY_FS ? n : n - 1; i >= 0; i--)
		delayed_teardown(&d[i]);
}

/*
 * Test that a FREEZE with a budget fails with ETIME, nothing frozen, when
 * the set is not frozen within it, long before its auto-thaw deadline: the
 * target is a filesystem whose flush waits on a host frozen by the test.
 */
TEST_F_TIMEOUT(sf, budget_exhausted, 90)
{
	struct ctx *c = &self->c;
	char buf[SF_MSG_SIZE];
	struct nlmsghdr *nlh;
	long long t0, elapsed;
	struct stack s;
	int ret;

	ASSERT_TRUE(stack_setup(&s, self->ext4_dir, "budget"));
	ASSERT_EQ(0, make_dirty(s.dir, 4));
	ASSERT_EQ(0, run("fsfreeze -f '%s'", self->ext4));
	nlh = nlt_msg_new(c->nl, buf, SNAPFREEZE_CMD_FREEZE);
	nlt_put_target(nlh, s.mnt);
	mnl_attr_put_strz(nlh, SNAPFREEZE_A_EXEC_ID, ID_A);
	mnl_attr_put_u32(nlh, SNAPFREEZE_A_TIMEOUT_MS, LONG_TMO);
	mnl_attr_put_u32(nlh, SNAPFREEZE_A_BUDGET_MS, 1500);
	t0 = now_ms(CLOCK_MONOTONIC);
	ret = nlt_request(c->nl, nlh, self->r);
	elapsed = now_ms(CLOCK_MONOTONIC) - t0;
	/* Given up, not finished: still freezing until its flush ends. */
	EXPECT_EQ(SNAPFREEZE_STATE_FREEZING, get_status(_metadata, c).state);
	EXPECT_EQ(0, run("fsfreeze -u '%s'", self->ext4));
	TH_LOG("FREEZE with a 1500 ms budget: %d after %lld ms", ret, elapsed);
	EXPECT_EQ(-ETIME, ret);
	EXPECT_STREQ("freeze budget exhausted before the set was frozen",
		     self->r->msg);
	EXPECT_LE(1500, elapsed);
	EXPECT_GT(LONG_TMO, elapsed);
	/* Its stuck flush finishes once the host thaws, and undoes the rest. */
	EXPECT_TRUE(wait_state("idle", 10000));
	EXPECT_TRUE(writable(c, s.dir));
	/* A budget that is enough changes nothing. */
	nlh = nlt_msg_new(c->nl, buf, SNAPFREEZE_CMD_FREEZE);
	nlt_put_target(nlh, s.mnt);
	mnl_attr_put_strz(nlh, SNAPFREEZE_A_EXEC_ID, ID_A);
	mnl_attr_put_u32(nlh, SNAPFREEZE_A_BUDGET_MS, 20000);
	EXPECT_EQ(0, nlt_request(c->nl, nlh, self->r));
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, get_status(_metadata, c).state);
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	stack_teardown(&s);
}

/*
 * Test that a caller killed while its FREEZE waits on a stuck flush goes
 * away at once (the request gives the set up), and that the set is undone
 * when the flush ends.
 */
TEST_F_TIMEOUT(sf, killed_caller_leaves_at_once, 90)
{
	struct ctx *c = &self->c;
	const char *paths[1];
	struct bg bg;
	long long t0, waited;
	struct stack s;
	int status = 0;

	ASSERT_TRUE(stack_setup(&s, self->ext4_dir, "killed"));
	ASSERT_EQ(0, make_dirty(s.dir, 4));
	paths[0] = s.mnt;
	ASSERT_EQ(0, run("fsfreeze -f '%s'", self->ext4));
	ASSERT_TRUE(bg_freeze_start(&bg, paths, NULL, 1, LONG_TMO));
	usleep(800 * 1000);
	EXPECT_EQ(SNAPFREEZE_STATE_FREEZING, get_status(_metadata, c).state);
	t0 = now_ms(CLOCK_MONOTONIC);
	kill(bg.pid, SIGKILL);
	waitpid(bg.pid, &status, 0);
	waited = now_ms(CLOCK_MONOTONIC) - t0;
	close(bg.fd);
	TH_LOG("the killed caller was gone after %lld ms", waited);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_GT(3000, waited);
	EXPECT_EQ(0, run("fsfreeze -u '%s'", self->ext4));
	EXPECT_TRUE(wait_state("idle", 10000));
	EXPECT_TRUE(writable(c, s.dir));
	EXPECT_TRUE(writable(c, self->ext4_dir));
	stack_teardown(&s);
}

/*
 * Test that the targets file is never cut in the middle of a line: with
 * paths too long for one page it shows the lines that fit and says how
 * many did not.
 */
TEST_F_TIMEOUT(sf, sysfs_targets_cut_cleanly, 60)
{
	struct ctx *c = &self->c;
	char *deep[FS_COUNT] = { NULL }, buf[8192], want[32];
	const char *paths[FS_COUNT];
	int n = 0, len;

	for (int i = 0; i < FS_COUNT; i++) {
		char *p;

		if (!disks[i].mnt || !disk_dir(c, i))
			continue;
		/* About 2,200 bytes: two do not fit in a page. */
		p = deep[n] = malloc(PATH_MAX);
		ASSERT_NE(NULL, p);
		strcpy(p, c->dirs[i]);
		for (int k = 0; k < 9; k++) {
			size_t l = strlen(p);

			p[l] = '/';
			memset(p + l + 1, 'a' + k, 240);
			p[l + 241] = '\0';
			ASSERT_EQ(0, mkdir(p, 0755));
		}
		paths[n++] = p;
	}
	ASSERT_LE(2, n);
	ASSERT_EQ(0, nlt_freeze(c->nl, paths, n, ID_A, LONG_TMO, 0, self->r,
			       NULL));
	len = read_text(SYSFS "/targets", buf, sizeof(buf));
	EXPECT_LT(0, len);
	EXPECT_GE(4096, len);
	EXPECT_EQ('\n', buf[len - 1]);
	EXPECT_EQ(0, strncmp(buf, paths[0], strlen(paths[0])));
	snprintf(want, sizeof(want), "... and %d more\n", n - 1);
	EXPECT_NE(NULL, strstr(buf, want));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	for (int i = 0; i < n; i++)
		free(deep[i]);
}

/*
 * Test that the timeout bounds cannot be set out of range or out of
 * order, at run time or at load time.
 */
TEST_F_TIMEOUT(sf, params_bounded, 90)
{
	static const struct {
		const char *name, *value;
		int err;
	} bad[] = {
		{ "max_timeout_ms", "4294967295", ERANGE },
		{ "max_timeout_ms", "3600001", ERANGE },
		{ "max_timeout_ms", "50000", EINVAL },	/* below default */
		{ "default_timeout_ms", "0", ERANGE },
		{ "default_timeout_ms", "50", EINVAL },	/* below min */
		{ "min_timeout_ms", "70000", EINVAL },	/* above default */
		{ "min_timeout_ms", "-1", EINVAL },
		{ "min_timeout_ms", "ten", EINVAL },
	};
	const char *ko = getenv("SF_MODULE");
	char path[PATH_MAX], before[32], after[32];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(path, sizeof(path), PARAMS "/%s", bad[i].name);
		ASSERT_LT(0, read_text(path, before, sizeof(before)));
		EXPECT_EQ(-bad[i].err, write_text(path, bad[i].value));
		ASSERT_LT(0, read_text(path, after, sizeof(after)));
		EXPECT_STREQ(before, after);
	}
	EXPECT_EQ(0, write_text(PARAMS "/default_timeout_ms", "30000"));
	EXPECT_EQ(0, write_text(PARAMS "/default_timeout_ms", "60000"));

	if (!ko || access(ko, R_OK))
		SKIP(return, "SF_MODULE is not set: cannot load the module again");
	ASSERT_EQ(0, run("rmmod snapfreeze"));
	EXPECT_NE(0, run("insmod '%s' min_timeout_ms=70000 2>/dev/null", ko));
	EXPECT_NE(0, run("insmod '%s' max_timeout_ms=4000000 2>/dev/null", ko));
	EXPECT_FALSE(module_loaded());
	/* In an order that is inconsistent half way: checked as a whole. */
	ASSERT_EQ(0, run("insmod '%s' min_timeout_ms=70000 default_timeout_ms=80000", ko));
	EXPECT_EQ(0, run("rmmod snapfreeze"));
	ASSERT_EQ(0, run("insmod '%s'", ko));
	nlt_close(self->c.nl);
	self->c.nl = nlt_open();
	ASSERT_NE(NULL, self->c.nl);
}

/*
 * Test that FREEZE never reports a set frozen after its deadline passed:
 * the request stalls (fault freeze_late) between its last freeze and
 * declaring the set frozen, past the deadline, holding the lock the
 * deadline work needs.  It must fail with ETIMEDOUT, nothing frozen, and
 * no auto-thaw counted.
 */
TEST_F_TIMEOUT(sf, no_success_after_deadline, 60)
{
	struct ctx *c = &self->c;
	long long auto0 = sysfs_num("auto_thaws"), fail0 = sysfs_num("failures");
	int ret;

	if (!faults_available())
		SKIP(return, "no fault injection in this kernel (make check-debug)");
	/*
	 * freeze_late stalls the freeze for the whole timeout once every
	 * target is frozen; the timeout is long enough for the flush and
	 * freeze themselves to finish first on a slow (debug) kernel.
	 */
	ASSERT_EQ(0, fault_set("freeze_late", 1));
	ret = FREEZE(c, self->r, ID_A, 3000, 0, NULL, self->ext4);
	faults_clear();
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_STREQ("auto-thaw deadline passed while freezing", self->r->msg);
	EXPECT_TRUE(writable(c, self->ext4_dir));
	usleep(200 * 1000);	/* a stale deadline work, if any, has run */
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, get_status(_metadata, c).state);
	EXPECT_EQ(auto0, sysfs_num("auto_thaws"));
	EXPECT_EQ(fail0 + 1, sysfs_num("failures"));
}

/*
 * Test that a target whose thaw fails stays frozen and reported so
 * (THAW_FAILED), keeps the module loaded, and is thawed by a later THAW.
 */
TEST_F_TIMEOUT(sf, stuck_target_pins_module, 60)
{
	struct ctx *c = &self->c;
	struct nlt_status st;
	int w;

	if (!faults_available())
		SKIP(return, "no fault injection in this kernel (make check-debug)");
	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->ext4));
	w = writer_start(c, self->ext4_dir);
	ASSERT_EQ(0, fault_set("fail_thaw", 2));
	EXPECT_EQ(-EIO, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_STREQ("thawing a filesystem failed", self->r->msg);
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, st.state);
	EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAW_FAILED,
		  target_state(&st, self->ext4));
	EXPECT_TRUE(writer_blocked(c, w));
	/* Pinned: rmmod must refuse rather than leave it frozen for good. */
	EXPECT_NE(0, run("rmmod snapfreeze 2>/dev/null"));
	EXPECT_TRUE(module_loaded());
	EXPECT_EQ(-EIO, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	faults_clear();
	EXPECT_TRUE(writer_done(c, w));
	EXPECT_EQ(0, sysfs_num("../../module/snapfreeze/refcnt"));
}

/*
 * Test that a rollback whose thaw fails keeps the target, says which one
 * in GET, and retries until it is thawed, all the while a failed freeze
 * (FREEZING, never FROZEN: it was never frozen as a set) that ends idle,
 * with no auto-thaw reported for a set that was never frozen; and that
 * the FREEZE's error says a filesystem is still frozen.
 */
TEST_F_TIMEOUT(sf, failed_rollback_retried, 60)
{
	struct ctx *c = &self->c;
	long long auto0 = sysfs_num("auto_thaws");
	struct nlt_status st;
	int w;

	if (!faults_available())
		SKIP(return, "no fault injection in this kernel (make check-debug)");
	ASSERT_EQ(0, fault_set("freeze_late", 1));
	ASSERT_EQ(0, fault_set("fail_thaw", 1));
	EXPECT_EQ(-ETIMEDOUT, FREEZE(c, self->r, ID_A, 3000, 0, NULL,
				     self->ext4));
	EXPECT_STREQ("auto-thaw deadline passed while freezing; a filesystem is still frozen: its thaw failed and is retried",
		     self->r->msg);
	w = writer_start(c, self->ext4_dir);
	st = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FREEZING, st.state);
	EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAW_FAILED,
		  target_state(&st, self->ext4));
	EXPECT_TRUE(writer_blocked(c, w));
	/* A FREEZE gets EBUSY, a THAW EBUSY saying why. */
	EXPECT_EQ(-EBUSY, FREEZE(c, self->r, ID_B, LONG_TMO, 0, NULL,
				 self->ext4));
	EXPECT_EQ(-EBUSY, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_STREQ("a failed freeze is still being rolled back", self->r->msg);
	faults_clear();
	EXPECT_TRUE(wait_state("idle", 3000 + 2 * (int)late_ms()));
	EXPECT_TRUE(writer_done(c, w));
	EXPECT_EQ(auto0, sysfs_num("auto_thaws"));
}

/*
 * A request whose allocations failed may leave its reply or ack half
 * delivered; the next request must not read it: start a fresh socket.
 */
static void reopen_nl(struct ctx *c)
{
	nlt_close(c->nl);
	c->nl = nlt_open();
}

/*
 * Test allocation failures (fail-nth, on kernels with fault injection) at
 * every allocation a THAW makes: the set is thawed, or still frozen and the
 * request failed, never anything else; and some THAW whose allocation
 * failed still thaws and succeeds (its reply falls back to one without
 * targets).  The same for FREEZE: frozen and acked, or not frozen at all.
 */
TEST_F_TIMEOUT(sf, allocation_failures, 120)
{
	struct ctx *c = &self->c;
	bool thawed_despite_failure = false;
	char left[16];
	int ret, w, n;

	/* verbose 1: one line per injected failure, no stack dump. */
	if (access("/proc/thread-self/fail-nth", W_OK) ||
	    write_text("/sys/kernel/debug/failslab/ignore-gfp-wait", "N") ||
	    write_text("/sys/kernel/debug/failslab/verbose", "1"))
		SKIP(return, "no fail-nth/failslab in this kernel (make check-debug)");
	for (n = 1; n < 40; n++) {
		char nth[16];

		ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL,
				    self->ext4));
		snprintf(nth, sizeof(nth), "%d", n);
		ASSERT_EQ(0, write_text("/proc/thread-self/fail-nth", nth));
		ret = nlt_thaw(c->nl, ID_A, 0, self->r);
		read_text("/proc/thread-self/fail-nth", left, sizeof(left));
		write_text("/proc/thread-self/fail-nth", "0");
		reopen_nl(c);
		ASSERT_NE(NULL, c->nl);
		w = writer_start(c, self->ext4_dir);
		if (get_status(_metadata, c).state == SNAPFREEZE_STATE_IDLE) {
			/* The n-th allocation failed, yet the THAW succeeded. */
			if (ret == 0 && atoi(left) == 0)
				thawed_despite_failure = true;
			EXPECT_TRUE(writer_done(c, w));
		} else {
			EXPECT_NE(0, ret);
			EXPECT_TRUE(writer_blocked(c, w));
			EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
			EXPECT_TRUE(writer_done(c, w));
		}
		if (atoi(left) > 0)	/* no n-th allocation: all tried */
			break;
	}
	TH_LOG("THAW: %d allocation points tried", n);
	EXPECT_TRUE(thawed_despite_failure);

	for (n = 1; n < 60; n++) {
		char nth[16];
		struct nlt_status st;

		snprintf(nth, sizeof(nth), "%d", n);
		ASSERT_EQ(0, write_text("/proc/thread-self/fail-nth", nth));
		/* Short: fault freeze_late may stall it past its deadline. */
		ret = FREEZE(c, self->r, ID_A, 2000, 0, NULL, self->ext4);
		read_text("/proc/thread-self/fail-nth", left, sizeof(left));
		write_text("/proc/thread-self/fail-nth", "0");
		reopen_nl(c);
		ASSERT_NE(NULL, c->nl);
		st = get_status(_metadata, c);
		w = writer_start(c, self->ext4_dir);
		if (st.state == SNAPFREEZE_STATE_FROZEN) {
			EXPECT_TRUE(writer_blocked(c, w));
			EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
		} else {
			EXPECT_NE(0, ret);
			EXPECT_EQ(SNAPFREEZE_STATE_IDLE, st.state);
		}
		EXPECT_TRUE(writer_done(c, w));
		if (atoi(left) > 0)
			break;
	}
	TH_LOG("FREEZE: %d allocation points tried", n);
}

/* ===================================================================== */
/* Second review: stacked sets, stuck works, the genetlink lock.         */
/* ===================================================================== */

/*
 * A writer stalled inside write(2) on a filesystem, holding its
 * sb_start_write(), so that a freeze_super() of that filesystem waits for
 * it for as long as the test wants: exactly what a writer whose buffer is
 * mmapped from a FUSE file its daemon does not serve does to every freeze
 * (docs/kernels.md).  The write's source buffer is a page that
 * userfaultfd keeps missing until the test lets it go.
 *
 *   stall child:  userfaultfd, a missing page; a thread write()s it to
 *                 DIR/stall -> faults inside write(2) -> 's' to the test
 *   test:         ... freezes stall on DIR's filesystem ...
 *                 'g' -> the page is filled, the write ends, the child exits
 */
struct stall {
	pid_t pid;
	int go, ready;		/* pipe ends: to the child, from it */
};

struct stall_write {
	int fd;
	void *page;
	size_t size;
};

static void *stall_write_fn(void *arg)
{
	struct stall_write *w = arg;

	if (write(w->fd, w->page, w->size) != (ssize_t)w->size)
		return (void *)1;
	return NULL;
}

static void stall_child(const char *dir, int go, int ready)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zp = { 0 };
	struct stall_write w = { .size = sysconf(_SC_PAGESIZE) };
	char path[PATH_MAX], c = 'e';
	struct uffd_msg msg;
	pthread_t th;
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	w.page = mmap(NULL, w.size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range.start = (unsigned long)w.page;
	reg.range.len = w.size;
	snprintf(path, sizeof(path), "%s/stall", dir);
	w.fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) ||
	    w.page == MAP_FAILED || ioctl(uffd, UFFDIO_REGISTER, &reg) ||
	    w.fd < 0 || pthread_create(&th, NULL, stall_write_fn, &w))
		_exit(write(ready, &c, 1) == 1 ? 1 : 2);
	/* The fault comes from inside write(2), sb_start_write() held. */
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		_exit(write(ready, &c, 1) == 1 ? 1 : 2);
	c = 's';
	if (write(ready, &c, 1) != 1)
		_exit(2);
	/* Until told to go, or until the test is gone (EOF). */
	if (read(go, &c, 1) < 0)
		c = 0;
	zp.range = reg.range;
	ioctl(uffd, UFFDIO_ZEROPAGE, &zp);
	pthread_join(th, NULL);
	_exit(0);
}

/* Start a stalled writer on @dir's filesystem: 0, -errno, or 1 (no uffd). */
static int stall_start(struct stall *s, const char *dir)
{
	int go[2], ready[2];
	char c = 0;

	s->pid = -1;
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(ready, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0) {
		close(go[1]);
		close(ready[0]);
		stall_child(dir, go[0], ready[1]);
	}
	close(go[0]);
	close(ready[1]);
	s->go = go[1];
	s->ready = ready[0];
	if (s->pid < 0 || read(s->ready, &c, 1) != 1 || c != 's') {
		int st = 0;

		if (s->pid > 0)
			waitpid(s->pid, &st, 0);
		s->pid = -1;
		close(s->go);
		close(s->ready);
		return WIFEXITED(st) && WEXITSTATUS(st) == 1 ? 1 : -EIO;
	}
	return 0;
}

/* Let the stalled write finish; true if it did. */
static bool stall_release(struct stall *s)
{
	int st = 0;

	if (s->pid <= 0)
		return true;
	if (write(s->go, "g", 1) != 1)
		kill(s->pid, SIGKILL);
	close(s->go);
	close(s->ready);
	waitpid(s->pid, &st, 0);
	s->pid = -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

#define STALL(s, dir)								\
	do {									\
		int __r = stall_start(s, dir);					\
		if (__r == 1)							\
			SKIP(return, "no userfaultfd in this kernel");		\
		ASSERT_EQ(0, __r);						\
	} while (0)

/* How long the module may take to answer, and a blocked one never does. */
static int answer_ms(void)
{
	return 3000 + 4 * (int)late_ms();
}

/*
 * Ask for the state from a child: the state, or -1 if no answer came in
 * @ms (the child is left behind: it is blocked in the kernel).
 */
static int bg_get_state(int ms)
{
	uint32_t state = ~0U;
	struct pollfd pfd;
	int p[2], ret = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct nlt_result *r = calloc(1, sizeof(*r));
		struct nlt *nl = nlt_open();

		if (nl && r && !nlt_get(nl, r))
			state = r->st.state;
		_exit(write(p[1], &state, sizeof(state)) == sizeof(state) ? 0 : 1);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (pid > 0 && poll(&pfd, 1, ms) == 1 &&
	    read(p[0], &state, sizeof(state)) == sizeof(state)) {
		ret = (int)state;
		waitpid(pid, NULL, 0);
	}
	close(p[0]);
	return ret;
}

/* Run a shell command from a child: its exit status, or -1 after @ms. */
static int bg_run(int ms, const char *cmd)
{
	int st;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || !POLL_MS(ms, waitpid(pid, &st, WNOHANG) == pid))
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Wait up to @ms for child @pid to end: true if it did. */
static bool wait_child(pid_t pid, int ms)
{
	return POLL_MS(ms, waitpid(pid, NULL, WNOHANG) == pid);
}

/* A THAW sent from a child (struct bg). */
struct bg_thaw_result {
	int ret;
	uint32_t found_state, held_by_other;
	bool has_found_state;
	unsigned int ntargets;
	uint32_t tstate[4];
};

static bool bg_thaw_start(struct bg *bg, const char *id)
{
	int wfd;

	if (bg_fork(bg, &wfd) == 0) {
		struct nlt_result *r = calloc(1, sizeof(*r));
		struct nlt *nl = nlt_open();
		struct bg_thaw_result res = { .ret = -EIO };

		if (nl && r) {
			res.ret = nlt_thaw(nl, id, 0, r);
			res.found_state = r->st.found_state;
			res.has_found_state = r->st.has_found_state;
			res.held_by_other = r->st.held_by_other;
			res.ntargets = r->st.ntargets;
			for (unsigned int i = 0; i < r->st.ntargets && i < 4; i++)
				res.tstate[i] = r->st.targets[i].state;
		}
		_exit(write(wfd, &res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	return bg->pid > 0;
}

/* Poll GET until @pred holds for its status, up to @ms. */
static bool wait_status(struct __test_metadata *_metadata, struct ctx *c,
			bool (*pred)(const struct nlt_status *, const void *),
			const void *arg, int ms)
{
	struct nlt_status st;

	return POLL_MS(ms, (st = get_status(_metadata, c), pred(&st, arg)));
}

/* The target at @arg (a path) is frozen, the set still being frozen. */
static bool target_frozen_while_freezing(const struct nlt_status *st,
					 const void *arg)
{
	return st->state == SNAPFREEZE_STATE_FREEZING &&
	       target_state(st, arg) == SNAPFREEZE_TARGET_STATE_FROZEN;
}

/* The flush phase is over (its duration is recorded), still freezing. */
static bool flushed_while_freezing(const struct nlt_status *st,
				   const void *arg)
{
	(void)arg;
	return st->state == SNAPFREEZE_STATE_FREEZING && st->flush_ns > 0;
}

enum undo_trigger { UNDO_EMERGENCY, UNDO_KILLED, UNDO_DEADLINE };

/*
 * Test that a set with a stacked filesystem whose backing filesystem's
 * freeze is still in flight can be given up (an emergency thaw, the
 * caller killed, the deadline) without a deadlock, and is undone
 * completely once that freeze ends:
 *
 *   ext4 disk (level 1) <- its file -- loop -- ext4 at s.mnt (level 0)
 *
 * The stacked filesystem freezes first; the disk's freeze then waits for
 * a writer stalled inside write(2) (userfaultfd).  Undoing the set thaws
 * the stacked one, whose thaw writes its super block through the loop
 * device into the disk being frozen, and waits for it.  Before the fix
 * that thaw ran under the set's lock, and the disk's freeze, once the
 * writer let go, waited for that lock to report: nothing ever moved
 * again, GET, sysfs and the emergency thaw included.
 */
/* Not inlined into the harness's wrapper, which calls setjmp(). */
static __attribute__((noinline)) void
stacked_undo(struct __test_metadata *_metadata, FIXTURE_DATA(sf) *self,
	     enum undo_trigger how)
{
	static const uint32_t levels[] = { 0, 1 };
	/* Long enough to flush and freeze the stacked one first. */
	const int tmo = how == UNDO_DEADLINE ? 6000 + 4 * (int)late_ms() :
					      LONG_TMO;
	struct ctx *c = &self->c;
	struct bg bg;
	struct bg_result res;
	const char *paths[2];
	struct stall st;
	struct stack s;
	int w1, w2, emergency = 0, state;

	ASSERT_TRUE(stack_setup(&s, self->ext4_dir, "undo"));
	paths[0] = s.mnt;
	paths[1] = self->ext4;
	STALL(&st, self->ext4_dir);
	ASSERT_TRUE(bg_freeze_start(&bg, paths, levels, 2, tmo));
	/* The stacked one is frozen, the disk's freeze waits for the writer. */
	ASSERT_TRUE(wait_status(_metadata, c, target_frozen_while_freezing,
				s.mnt, 10000));
	usleep(300 * 1000);
	switch (how) {
	case UNDO_EMERGENCY:
		/* From a child: the write returns once the thaw is done. */
		fflush(NULL);
		emergency = fork();
		if (emergency == 0)
			_exit(write_text(SYSFS "/control", "thaw") ? 1 : 0);
		break;
	case UNDO_KILLED:
		kill(bg.pid, SIGKILL);
		break;
	case UNDO_DEADLINE:
		ASSERT_TRUE(wait_state("freezing", tmo));
		usleep((tmo + 300) * 1000);
		break;
	}
	/* The request returns at once; the state can be read meanwhile. */
	if (how != UNDO_KILLED) {
		ASSERT_TRUE(bg_result(&bg, &res, sizeof(res),
				      answer_ms()));
		TH_LOG("FREEZE: %d \"%s\"", res.ret, res.msg);
		EXPECT_EQ(how == UNDO_EMERGENCY ? -ECANCELED : -ETIMEDOUT,
			  res.ret);
	} else {
		/* It goes at once, whatever its work is stuck in. */
		EXPECT_TRUE(wait_child(bg.pid, answer_ms()));
		close(bg.fd);
	}
	usleep(800 * 1000);	/* past the grace period: the stacked thaw runs */
	state = bg_get_state(answer_ms());
	EXPECT_EQ(SNAPFREEZE_STATE_FREEZING, state);
	EXPECT_STREQ("freezing", sysfs_str("state", (char[32]){ 0 }, 32));
	/* The disk's freeze ends; its work thaws it, then the stacked one. */
	EXPECT_TRUE(stall_release(&st));
	EXPECT_TRUE(wait_state("idle", 10000 + 4 * (int)late_ms()));
	w1 = writer_start(c, s.dir);
	w2 = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_done(c, w1));
	EXPECT_TRUE(writer_done(c, w2));
	if (emergency > 0) {
		int status = 0;

		waitpid(emergency, &status, 0);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	stack_teardown(&s);
}

/*
 * Bodies this small get inlined into the harness's wrapper, and gcc then
 * warns that the wrapper's own variable 'child' might be clobbered by its
 * longjmp() (-Wextra's -Wclobbered, in 6.12's kselftest_harness.h).
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
TEST_F_TIMEOUT(sf, stacked_undo_emergency, 120)
{
	stacked_undo(_metadata, self, UNDO_EMERGENCY);
}

TEST_F_TIMEOUT(sf, stacked_undo_killed, 120)
{
	stacked_undo(_metadata, self, UNDO_KILLED);
}

TEST_F_TIMEOUT(sf, stacked_undo_deadline, 120)
{
	stacked_undo(_metadata, self, UNDO_DEADLINE);
}
#pragma GCC diagnostic pop

/*
 * A module that registers a genetlink family, for the tests of
 * genetlink's cb_lock: loading it takes that lock for writing.  Its name,
 * unloaded and ready to load, or NULL.
 */
static const char *genl_module(void)
{
	if (!access("/sys/module/nbd", F_OK) && run("rmmod nbd 2>/dev/null"))
		return NULL;
	return run("modinfo nbd >/dev/null 2>&1") ? NULL : "nbd";
}

/*
 * Test that a THAW waiting for a stacked filesystem's thaw (its backing
 * filesystem frozen by root's fsfreeze -f, which nests on our freeze from
 * 6.6) holds no lock meanwhile: GET, sysfs and another genetlink family's
 * registration all get through, and the THAW completes, everything
 * thawed, once root thaws.  Before, it held the set's lock and genetlink's
 * cb_lock until then.
 */
TEST_F_TIMEOUT(sf, thaw_waits_without_locks, 120)
{
	static const uint32_t levels[] = { 0, 1 };
	struct ctx *c = &self->c;
	struct bg_thaw_result res;
	const char *paths[2], *mod;
	struct bg bg;
	struct stack s;
	char cmd[64];
	int w1, w2;

	ASSERT_TRUE(stack_setup(&s, self->ext4_dir, "held"));
	paths[0] = s.mnt;
	paths[1] = self->ext4;
	ASSERT_EQ(0, nlt_freeze_levels(c->nl, paths, levels, 2, ID_A, LONG_TMO,
				      0, self->r, NULL));
	if (run("fsfreeze -f '%s' 2>/dev/null", self->ext4)) {
		EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
		stack_teardown(&s);
		SKIP(return, "freezes do not nest on this kernel (up to 6.5)");
	}
	ASSERT_TRUE(bg_thaw_start(&bg, ID_A));
	usleep(1000 * 1000);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, bg_get_state(answer_ms()));
	EXPECT_STREQ("frozen", sysfs_str("state", (char[32]){ 0 }, 32));
	mod = genl_module();
	if (mod) {
		snprintf(cmd, sizeof(cmd), "modprobe %s", mod);
		EXPECT_EQ(0, bg_run(answer_ms(), cmd));
		run("rmmod %s", mod);
	} else {
		TH_LOG("no module with a genetlink family to load here");
	}
	/* Still waiting for root's freeze to go. */
	EXPECT_FALSE(bg_result(&bg, &res, sizeof(res), 200));
	EXPECT_EQ(0, run("fsfreeze -u '%s'", self->ext4));
	ASSERT_TRUE(bg_result(&bg, &res, sizeof(res),
			      10000 + 4 * (int)late_ms()));
	EXPECT_EQ(0, res.ret);
	EXPECT_TRUE(res.has_found_state);
	EXPECT_EQ(SNAPFREEZE_STATE_FROZEN, res.found_state);
	/* Root's freeze is gone by the end: nothing is held by another. */
	EXPECT_EQ(0, res.held_by_other);
	ASSERT_EQ(2, res.ntargets);
	EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAWED, res.tstate[0]);
	EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAWED, res.tstate[1]);
	EXPECT_STREQ("idle", sysfs_str("state", (char[32]){ 0 }, 32));
	w1 = writer_start(c, s.dir);
	w2 = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_done(c, w1));
	EXPECT_TRUE(writer_done(c, w2));
	stack_teardown(&s);
}

/*
 * Test that a FREEZE whose freeze is stuck holds no genetlink lock:
 * loading a module that registers a genetlink family (cb_lock for
 * writing) and unloading it again finish at once, and GET answers.
 * Before, the module load waited until the FREEZE returned.
 */
TEST_F_TIMEOUT(sf, freeze_waits_without_genl_lock, 90)
{
	struct ctx *c = &self->c;
	const char *paths[1] = { self->ext4 };
	struct bg bg;
	struct bg_result res;
	struct stall st;
	const char *mod;
	char cmd[64];

	mod = genl_module();
	if (!mod)
		SKIP(return, "no module with a genetlink family to load here");
	STALL(&st, self->ext4_dir);
	ASSERT_TRUE(bg_freeze_start(&bg, paths, NULL, 1, LONG_TMO));
	ASSERT_TRUE(wait_status(_metadata, c, flushed_while_freezing, NULL,
				10000));
	usleep(300 * 1000);
	snprintf(cmd, sizeof(cmd), "modprobe %s", mod);
	EXPECT_EQ(0, bg_run(answer_ms(), cmd));
	snprintf(cmd, sizeof(cmd), "rmmod %s", mod);
	EXPECT_EQ(0, bg_run(answer_ms(), cmd));
	EXPECT_EQ(SNAPFREEZE_STATE_FREEZING, bg_get_state(answer_ms()));
	EXPECT_TRUE(stall_release(&st));
	ASSERT_TRUE(bg_result(&bg, &res, sizeof(res),
			      10000 + 4 * (int)late_ms()));
	EXPECT_EQ(0, res.ret);
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
}

/*
 * Test that the module cannot be unloaded while a FREEZE's work is stuck,
 * neither while its request waits nor once the request has given the set
 * up (its deadline passed), and that the set is undone when the work
 * ends.  Before, rmmod went ahead while the request waited, freed the set
 * under the stuck work, and that work wrote freed memory once it ended.
 */
TEST_F_TIMEOUT(sf, rmmod_refused_while_work_stuck, 120)
{
	/* Long enough to flush, and try rmmod, before the deadline. */
	const int tmo = 6000 + 4 * (int)late_ms();
	struct ctx *c = &self->c;
	const char *paths[1] = { self->ext4 };
	struct bg bg;
	struct bg_result res;
	struct stall st;

	STALL(&st, self->ext4_dir);
	ASSERT_TRUE(bg_freeze_start(&bg, paths, NULL, 1, tmo));
	ASSERT_TRUE(wait_status(_metadata, c, flushed_while_freezing, NULL,
				10000));
	usleep(300 * 1000);
	/* The request waits: refused, at once (not -1: still running). */
	EXPECT_LT(0, bg_run(answer_ms(), "rmmod snapfreeze 2>/dev/null"));
	EXPECT_TRUE(module_loaded());
	/* The request gave up at its deadline; the work is still stuck. */
	ASSERT_TRUE(bg_result(&bg, &res, sizeof(res),
			      tmo + answer_ms()));
	EXPECT_EQ(-ETIMEDOUT, res.ret);
	EXPECT_STREQ("freezing", sysfs_str("state", (char[32]){ 0 }, 32));
	EXPECT_LT(0, bg_run(answer_ms(), "rmmod snapfreeze 2>/dev/null"));
	EXPECT_TRUE(module_loaded());
	EXPECT_TRUE(stall_release(&st));
	EXPECT_TRUE(wait_state("idle", 10000 + 4 * (int)late_ms()));
	EXPECT_TRUE(writable(c, self->ext4_dir));
	EXPECT_EQ(0, sysfs_num("../../module/snapfreeze/refcnt"));
}

/*
 * Test that when the set is given up (an emergency thaw) while targets of
 * one level are still being frozen, the request returns at once, and a
 * target whose freeze ends afterwards is thawed right then, not when the
 * request would have woken (its deadline, up to an hour).
 *
 *   loop on tmpfs: ext4 at a.mnt   both level 0, each freeze held up
 *   loop on tmpfs: ext4 at b.mnt   by a writer stalled in write(2)
 */
TEST_F_TIMEOUT(sf, late_freeze_after_abort_thawed, 120)
{
	static const uint32_t levels[] = { 0, 0 };
	struct ctx *c = &self->c;
	struct stall sa, sb;
	struct bg bg;
	struct bg_result res;
	const char *paths[2];
	struct stack a, b;
	pid_t emergency;
	int w;

	ASSERT_TRUE(stack_setup(&a, "/tmp", "late-a"));
	ASSERT_TRUE(stack_setup(&b, "/tmp", "late-b"));
	paths[0] = a.mnt;
	paths[1] = b.mnt;
	STALL(&sa, a.dir);
	STALL(&sb, b.dir);
	ASSERT_TRUE(bg_freeze_start(&bg, paths, levels, 2, LONG_TMO));
	ASSERT_TRUE(wait_status(_metadata, c, flushed_while_freezing, NULL,
				10000));
	usleep(300 * 1000);
	/* From a child: it waits (a while) for what it started. */
	fflush(NULL);
	emergency = fork();
	if (emergency == 0)
		_exit(write_text(SYSFS "/control", "thaw") ? 1 : 0);
	ASSERT_TRUE(bg_result(&bg, &res, sizeof(res), answer_ms()));
	EXPECT_EQ(-ECANCELED, res.ret);
	/* a's freeze ends now, b's is still stuck: a is thawed at once. */
	EXPECT_TRUE(stall_release(&sa));
	w = writer_start(c, a.dir);
	EXPECT_TRUE(writer_done(c, w));
	EXPECT_STREQ("freezing", sysfs_str("state", (char[32]){ 0 }, 32));
	EXPECT_TRUE(stall_release(&sb));
	EXPECT_TRUE(wait_state("idle", 10000 + 4 * (int)late_ms()));
	EXPECT_TRUE(writable(c, b.dir));
	EXPECT_TRUE(wait_child(emergency, answer_ms()));
	stack_teardown(&b);
	stack_teardown(&a);
}

/*
 * Test that a thaw that fails while the set is being given up, with
 * another target's freeze still stuck, is retried at once (every second)
 * rather than when that freeze ends: the target is thawed while the other
 * one is still stuck.
 *
 *   loop on tmpfs: ext4 at a.mnt   level 0, frozen; its thaw fails once
 *   loop on tmpfs: ext4 at b.mnt   level 0, its freeze stuck (a writer)
 */
TEST_F_TIMEOUT(sf, abandoned_thaw_failure_retried, 120)
{
	static const uint32_t levels[] = { 0, 0 };
	struct ctx *c = &self->c;
	const char *paths[2];
	struct bg bg;
	struct nlt_status s;
	struct stall sb;
	struct stack a, b;
	int w;

	if (!faults_available())
		SKIP(return, "no fault injection in this kernel (make check-debug)");
	ASSERT_TRUE(stack_setup(&a, "/tmp", "retry-a"));
	ASSERT_TRUE(stack_setup(&b, "/tmp", "retry-b"));
	paths[0] = a.mnt;
	paths[1] = b.mnt;
	STALL(&sb, b.dir);
	ASSERT_TRUE(bg_freeze_start(&bg, paths, levels, 2, LONG_TMO));
	ASSERT_TRUE(wait_status(_metadata, c, target_frozen_while_freezing,
				a.mnt, 10000));
	ASSERT_EQ(0, fault_set("fail_thaw", 1));
	/* The caller is killed: the set is given up, a's thaw fails. */
	kill(bg.pid, SIGKILL);
	waitpid(bg.pid, NULL, 0);
	close(bg.fd);
	usleep(500 * 1000);
	s = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FREEZING, s.state);
	EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAW_FAILED, target_state(&s, a.mnt));
	faults_clear();
	/* Retried while b's freeze is still stuck. */
	w = writer_start(c, a.dir);
	EXPECT_EQ(1, writer_wait(c, w, 3000 + 2 * (int)late_ms()));
	s = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_FREEZING, s.state);
	EXPECT_EQ(SNAPFREEZE_TARGET_STATE_THAWED, target_state(&s, a.mnt));
	EXPECT_TRUE(stall_release(&sb));
	EXPECT_TRUE(wait_state("idle", 10000 + 4 * (int)late_ms()));
	EXPECT_TRUE(writable(c, b.dir));
	stack_teardown(&b);
	stack_teardown(&a);
}

/*
 * Test that execution ids that are UUIDs compare without regard to case:
 * a post-script given the pre-script's UUID in upper case thaws the set;
 * another UUID does not, in any case.  Reports keep FREEZE's spelling.
 */
TEST_F_TIMEOUT(sf, exec_id_any_case, 60)
{
	struct ctx *c = &self->c;
	int w;

	ASSERT_EQ(0, FREEZE(c, self->r, ID_A, LONG_TMO, 0, NULL, self->ext4));
	w = writer_start(c, self->ext4_dir);
	EXPECT_TRUE(writer_blocked(c, w));
	EXPECT_EQ(-ESRCH, nlt_thaw(c->nl, "00000000-0000-4000-8000-00000000000B",
				   0, self->r));
	EXPECT_STREQ(ID_A, sysfs_str("execution_id", (char[64]){ 0 }, 64));
	EXPECT_EQ(0, nlt_thaw(c->nl, "123E4567-E89B-12D3-A456-426614174000",
			      0, self->r));
	EXPECT_STREQ(ID_A, self->r->st.exec_id);
	EXPECT_TRUE(writer_done(c, w));
	/* And the other way round. */
	ASSERT_EQ(0, FREEZE(c, self->r, "123E4567-E89B-12D3-A456-426614174000",
			    LONG_TMO, 0, NULL, self->ext4));
	EXPECT_EQ(0, nlt_thaw(c->nl, ID_A, 0, self->r));
	EXPECT_STREQ("idle", sysfs_str("state", (char[32]){ 0 }, 32));
}

_Static_assert(SNAPFREEZE_A_BUDGET_MS == 22, "malformed.budget_0's type");

/*
 * Malformed requests, one case each: a builder puts the attributes after
 * the header and returns the offset of the attribute the error must point
 * at (0: not checked).  Each must get a clean error and change nothing.
 */
struct case_in {
	const char *target;	/* a mounted filesystem (FREEZE only) */
	const char *arg;	/* the case's own argument */
};

typedef uint32_t (*build_fn)(struct nlmsghdr *nlh, const struct case_in *in);

static uint32_t put_id(struct nlmsghdr *nlh, const char *id)
{
	return nlt_put_raw(nlh, SNAPFREEZE_A_EXEC_ID, id, strlen(id) + 1);
}

static uint32_t b_no_targets(struct nlmsghdr *nlh, const struct case_in *in)
{
	(void)in;
	put_id(nlh, ID_A);
	return 0;
}

static uint32_t b_no_exec_id(struct nlmsghdr *nlh, const struct case_in *in)
{
	nlt_put_target(nlh, in->target);
	return 0;
}

static uint32_t b_bad_exec_id(struct nlmsghdr *nlh, const struct case_in *in)
{
	nlt_put_target(nlh, in->target);
	return put_id(nlh, in->arg);
}

/* TIMEOUT_MS of the wrong size: @arg is "u8", "u64" or "string". */
static uint32_t b_timeout_type(struct nlmsghdr *nlh, const struct case_in *in)
{
	uint8_t u8 = 100;
	uint64_t u64 = 1000;

	nlt_put_target(nlh, in->target);
	put_id(nlh, ID_A);
	if (!strcmp(in->arg, "u8"))
		return nlt_put_raw(nlh, SNAPFREEZE_A_TIMEOUT_MS, &u8, sizeof(u8));
	if (!strcmp(in->arg, "u64"))
		return nlt_put_raw(nlh, SNAPFREEZE_A_TIMEOUT_MS, &u64,
				  sizeof(u64));
	return nlt_put_raw(nlh, SNAPFREEZE_A_TIMEOUT_MS, "1000", 5);
}

/* A timeout of @arg ms, out of the module's bounds. */
static uint32_t b_timeout(struct nlmsghdr *nlh, const struct case_in *in)
{
	uint32_t tmo = strtoul(in->arg, NULL, 0);

	nlt_put_target(nlh, in->target);
	put_id(nlh, ID_A);
	return nlt_put_raw(nlh, SNAPFREEZE_A_TIMEOUT_MS, &tmo, sizeof(tmo));
}

static uint32_t b_target_not_nested(struct nlmsghdr *nlh,
				    const struct case_in *in)
{
	nlt_put_raw(nlh, SNAPFREEZE_A_TARGET, in->target, strlen(in->target) + 1);
	put_id(nlh, ID_A);
	return 0;
}

static uint32_t b_target_without_path(struct nlmsghdr *nlh,
				      const struct case_in *in)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, SNAPFREEZE_A_TARGET);

	(void)in;
	mnl_attr_nest_end(nlh, nest);
	put_id(nlh, ID_A);
	return nlt_attr_offset(nlh, nest);
}

/* A second target whose path is @arg: "" or a relative one. */
static uint32_t b_second_path(struct nlmsghdr *nlh, const struct case_in *in)
{
	uint32_t off;

	nlt_put_target(nlh, in->target);
	off = nlt_put_target(nlh, in->arg);
	put_id(nlh, ID_A);
	return off;
}

static uint32_t b_path_without_nul(struct nlmsghdr *nlh,
				   const struct case_in *in)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, SNAPFREEZE_A_TARGET);

	mnl_attr_put(nlh, SNAPFREEZE_TARGET_A_PATH, strlen(in->target),
		     in->target);
	mnl_attr_nest_end(nlh, nest);
	put_id(nlh, ID_A);
	return 0;
}

/* A target nest with a reply-only attribute ("state"), or a LEVEL as a u8. */
static uint32_t b_target_attr(struct nlmsghdr *nlh, const struct case_in *in)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, SNAPFREEZE_A_TARGET);
	uint8_t u8 = 1;

	mnl_attr_put_strz(nlh, SNAPFREEZE_TARGET_A_PATH, in->target);
	if (!strcmp(in->arg, "state"))
		mnl_attr_put_u32(nlh, SNAPFREEZE_TARGET_A_STATE, 1);
	else
		mnl_attr_put(nlh, SNAPFREEZE_TARGET_A_LEVEL, sizeof(u8), &u8);
	mnl_attr_nest_end(nlh, nest);
	put_id(nlh, ID_A);
	return 0;
}

static uint8_t msg_cmd(const struct nlmsghdr *nlh)
{
	return ((const struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd;
}

/*
 * What the command needs (FREEZE a target and an id, THAW an id, GET
 * nothing), then a u32 attribute of type @arg: flags it does not take, or
 * an attribute it does not take.
 */
static uint32_t b_extra(struct nlmsghdr *nlh, const struct case_in *in,
			uint16_t type)
{
	uint32_t v = strtoul(in->arg, NULL, 0);

	if (msg_cmd(nlh) == SNAPFREEZE_CMD_FREEZE)
		nlt_put_target(nlh, in->target);
	if (msg_cmd(nlh) != SNAPFREEZE_CMD_GET)
		put_id(nlh, ID_A);
	if (type == SNAPFREEZE_A_UNSPEC && v == SNAPFREEZE_A_TARGET)
		nlt_put_target(nlh, "/");
	else if (type == SNAPFREEZE_A_UNSPEC)
		mnl_attr_put_u32(nlh, v, 0);
	else
		mnl_attr_put_u32(nlh, type, v);
	return 0;
}

/* Flags @arg (a number) the command does not take. */
static uint32_t b_flags(struct nlmsghdr *nlh, const struct case_in *in)
{
	return b_extra(nlh, in, SNAPFREEZE_A_FLAGS);
}

/* An attribute of type @arg (a number) the command does not take. */
static uint32_t b_extra_attr(struct nlmsghdr *nlh, const struct case_in *in)
{
	return b_extra(nlh, in, SNAPFREEZE_A_UNSPEC);
}

static uint32_t b_too_many(struct nlmsghdr *nlh, const struct case_in *in)
{
	for (int i = 0; i < SNAPFREEZE_MAX_TARGETS + 1; i++)
		nlt_put_target(nlh, in->target);
	put_id(nlh, ID_A);
	return 0;
}

static uint32_t b_long_path(struct nlmsghdr *nlh, const struct case_in *in)
{
	static char path[PATH_MAX + 64];

	(void)in;
	path[0] = '/';
	memset(path + 1, 'a', sizeof(path) - 2);
	path[sizeof(path) - 1] = '\0';
	nlt_put_target(nlh, path);
	put_id(nlh, ID_A);
	return 0;
}

static uint32_t b_thaw_id_u32(struct nlmsghdr *nlh, const struct case_in *in)
{
	(void)in;
	mnl_attr_put_u32(nlh, SNAPFREEZE_A_EXEC_ID, 7);
	return 0;
}

FIXTURE(malformed) {
	struct ctx c;
	const char *ext4;
};

FIXTURE_VARIANT(malformed) {
	uint8_t cmd;
	build_fn build;
	const char *arg;
	int err;		/* -1: ENAMETOOLONG, EINVAL or ERANGE */
	const char *msg;	/* NULL: any */
};

#define MALFORMED(name, cmd_, fn, arg_, err_, msg_)			\
	FIXTURE_VARIANT_ADD(malformed, name) {				\
		.cmd = SNAPFREEZE_CMD_##cmd_, .build = fn, .arg = arg_,	\
		.err = err_, .msg = msg_,				\
	}

#define BAD_ID "execution id must be None or a UUID"
#define BOUNDS "timeout outside the module's bounds"
MALFORMED(no_targets, FREEZE, b_no_targets, "", EINVAL,
	  "FREEZE needs at least one target");
MALFORMED(no_exec_id, FREEZE, b_no_exec_id, "", EINVAL, "execution id missing");
MALFORMED(id_lowercase_none, FREEZE, b_bad_exec_id, "none", EINVAL, BAD_ID);
MALFORMED(id_empty, FREEZE, b_bad_exec_id, "", EINVAL, BAD_ID);
MALFORMED(id_short, FREEZE, b_bad_exec_id, "1234", EINVAL, BAD_ID);
MALFORMED(id_uppercase_none, FREEZE, b_bad_exec_id, "NONE", EINVAL, BAD_ID);
MALFORMED(id_not_hex, FREEZE, b_bad_exec_id,
	  "123e4567-e89b-12d3-a456-42661417400g", EINVAL, BAD_ID);
MALFORMED(id_too_long, FREEZE, b_bad_exec_id,
	  "123e4567-e89b-12d3-a456-4266141740000", EINVAL, NULL);
MALFORMED(id_bad_separator, FREEZE, b_bad_exec_id,
	  "123e4567+e89b-12d3-a456-426614174000", EINVAL, BAD_ID);
MALFORMED(id_one_short, FREEZE, b_bad_exec_id,
	  "123e4567-e89b-12d3-a456-42661417400", EINVAL, BAD_ID);
MALFORMED(timeout_u8, FREEZE, b_timeout_type, "u8", EINVAL, NULL);
MALFORMED(timeout_u64, FREEZE, b_timeout_type, "u64", EINVAL, NULL);
MALFORMED(timeout_string, FREEZE, b_timeout_type, "string", EINVAL, NULL);
MALFORMED(timeout_0, FREEZE, b_timeout, "0", ERANGE, NULL);
MALFORMED(timeout_1, FREEZE, b_timeout, "1", ERANGE, BOUNDS);
MALFORMED(timeout_99, FREEZE, b_timeout, "99", ERANGE, BOUNDS);
MALFORMED(timeout_over_an_hour, FREEZE, b_timeout, "3600001", ERANGE, BOUNDS);
MALFORMED(timeout_max_u32, FREEZE, b_timeout, "0xffffffff", ERANGE, BOUNDS);
/* 22 is SNAPFREEZE_A_BUDGET_MS, sent as 0: FREEZE's policy wants >= 1. */
MALFORMED(budget_0, FREEZE, b_extra_attr, "22", ERANGE, NULL);
MALFORMED(thaw_budget, THAW, b_extra_attr, "22", EINVAL, NULL);
MALFORMED(target_not_nested, FREEZE, b_target_not_nested, "", EINVAL, NULL);
MALFORMED(target_without_path, FREEZE, b_target_without_path, "", EINVAL,
	  "target path missing or empty");
MALFORMED(empty_path, FREEZE, b_second_path, "", EINVAL,
	  "target path missing or empty");
MALFORMED(relative_path, FREEZE, b_second_path, "mnt/ext4", EINVAL,
	  "target path must be absolute");
MALFORMED(path_without_nul, FREEZE, b_path_without_nul, "", EINVAL, NULL);
MALFORMED(target_reply_attr, FREEZE, b_target_attr, "state", EINVAL, NULL);
MALFORMED(target_level_u8, FREEZE, b_target_attr, "level", EINVAL, NULL);
MALFORMED(unknown_flag, FREEZE, b_flags, "0x80", EINVAL, NULL);
MALFORMED(unknown_flag_and_dry_run, FREEZE, b_flags, "0x80000001", EINVAL,
	  NULL);
MALFORMED(freeze_force_flag, FREEZE, b_flags, "2", EINVAL, NULL);
MALFORMED(unknown_attribute, FREEZE, b_extra_attr, "64", EINVAL, NULL);
MALFORMED(freeze_reply_attr, FREEZE, b_extra_attr, "6", EINVAL, NULL);
MALFORMED(too_many_targets, FREEZE, b_too_many, "", E2BIG, "too many targets");
MALFORMED(path_over_path_max, FREEZE, b_long_path, "", -1, NULL);
MALFORMED(thaw_unknown_flag, THAW, b_flags, "0x200", EINVAL, NULL);
MALFORMED(thaw_dry_run_flag, THAW, b_flags, "1", EINVAL, NULL);
MALFORMED(thaw_id_u32, THAW, b_thaw_id_u32, "", EINVAL, NULL);
MALFORMED(thaw_timeout, THAW, b_extra_attr, "4", EINVAL, NULL);
MALFORMED(get_timeout, GET, b_extra_attr, "4", EINVAL, NULL);
MALFORMED(get_target, GET, b_extra_attr, "2", EINVAL, NULL);
MALFORMED(get_flags, GET, b_extra_attr, "5", EINVAL, NULL);

FIXTURE_SETUP(malformed)
{
	ASSERT_TRUE(ctx_setup(_metadata, &self->c));
	self->ext4 = disks[FS_EXT4].mnt;
	if (!self->ext4)
		SKIP(return, "SF_MNT_EXT4 is not set");
}

FIXTURE_TEARDOWN(malformed)
{
	ctx_teardown(_metadata, &self->c);
}

/* Test that a malformed request gets a clean error and changes nothing. */
TEST_F_TIMEOUT(malformed, rejected, 60)
{
	struct ctx *c = &self->c;
	struct nlt_result *r = new_res();
	struct nlt_status before, after;
	char buf[SF_MSG_SIZE];
	struct nlmsghdr *nlh;
	struct case_in in;
	uint32_t off;
	int ret;

	ASSERT_NE(NULL, r);
	nlh = nlt_msg_new(c->nl, buf, variant->cmd);
	in.target = variant->cmd == SNAPFREEZE_CMD_FREEZE ? self->ext4 : NULL;
	in.arg = variant->arg;
	off = variant->build(nlh, &in);
	before = get_status(_metadata, c);
	ret = nlt_request(c->nl, nlh, r);
	TH_LOG("got %d (%s) \"%s\"", ret, strerror(-ret), r->msg);
	if (variant->err < 0) {
		EXPECT_TRUE(ret == -ENAMETOOLONG || ret == -EINVAL ||
			    ret == -ERANGE);
	} else {
		EXPECT_EQ(-variant->err, ret);
	}
	if (variant->msg)
		EXPECT_STREQ(variant->msg, r->msg);
	if (off) {
		EXPECT_TRUE(r->has_offset);
		EXPECT_EQ(off, r->offset);
	}
	after = get_status(_metadata, c);
	EXPECT_EQ(SNAPFREEZE_STATE_IDLE, after.state);
	EXPECT_EQ(before.freezes, after.freezes);
	free(r);
	/* Still fully usable afterwards. */
	EXPECT_TRUE(writable(c, disk_dir(c, FS_EXT4)));
}

TEST_HARNESS_MAIN
