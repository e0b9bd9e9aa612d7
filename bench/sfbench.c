// SPDX-License-Identifier: GPL-2.0
/*
 * sfbench: the guest side of the freeze benchmark (bench/README.md).
 *
 *   sfbench cycle [options] MOUNT:DIRTY_MIB:BW_MIBS...
 *	One measured cycle of one method on N mounted volumes: make each
 *	volume's dirty data (new files, never synced), start one writer per
 *	volume, run the method's pre-script, hold the "snapshot", run its
 *	post-script, stop the writers, and print one RUN line and N VOL lines
 *	(CSV, see print_results()).  Methods:
 *	  a  `fsfreeze -f` on each mount in turn (the reference pre-script),
 *	     thaw loop `fsfreeze -u` in turn
 *	  b  one `fsfreeze -f` per mount, all at once; thaw loop as (a)
 *	  c  `snapfreeze pre-script` / `snapfreeze post-script` (the helper)
 *	  d  the module, every target at level 0 (sfbench nl-freeze -l 0),
 *	     thawed by sfbench nl-thaw
 *	  e  the module without levels: one after another (sfbench nl-freeze)
 *	  n  nothing at all: a check of the benchmark itself, whose cycles
 *	     must fail ("a volume took writes while the set was frozen")
 *   sfbench nl-freeze [-l LEVEL] ID TIMEOUT_MS PATH...
 *   sfbench nl-thaw ID
 *	A minimal client of the family: one request, its in-process time on
 *	stdout as "request_ns=N".
 *   sfbench spawn-time K CMD [ARGS...] [-- CMD [ARGS...]]...
 *	K rounds, each starting every CMD once in turn; per CMD the median,
 *	min and max wall time (spawn to exit) in microseconds.
 *   sfbench fsfreeze-time K MOUNT
 *	`fsfreeze -f MOUNT` then `fsfreeze -u MOUNT`, K times; medians (us).
 *   sfbench ioctl-time K MOUNT
 *	FIFREEZE then FITHAW of MOUNT in this process, K times; medians (us).
 *   sfbench nl-time K PATH...
 *	FREEZE then THAW of PATH... in this process (level 0), K times;
 *	medians of each request (us), plus the family lookup.
 *   sfbench frozen-run K PATH... -- CMD [ARGS...] [-- CMD [ARGS...]]...
 *	K rounds; for each CMD in turn: freeze PATH... here (level 0,
 *	execution id FIXED_ID below), run CMD, which should thaw the set (a
 *	post-script), and time it.  With SFB_PHASE_OUT set (and
 *	build/bench/libsfphases.so preloaded into CMD), it passes each spawn
 *	time in SFB_SPAWN_NS and appends "E ns", the reaping, to that file.
 *
 * Every time is CLOCK_MONOTONIC; the writers are forked children that
 * record into shared memory, so a writer blocked on a frozen filesystem
 * never blocks the driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>
#include <libmnl/libmnl.h>

#include "nl.h"

extern char **environ;

#define MAX_VOLS	SNAPFREEZE_MAX_TARGETS
/* Writes at least this long are kept with their times. */
#define LONG_WRITE_NS	(5 * 1000 * 1000LL)
#define MAX_LONG	512
#define MIB		(1024 * 1024LL)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };

	while (ns > 0 && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("sfbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t median(int64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- processes ------------------------------------------------------- */

/* posix_spawnp @argv with stdout to @out (NULL: /dev/null); the pid. */
static pid_t spawn(char *const *argv, const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO,
					 out ? out : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		errno = err;
		return -1;
	}
	return pid;
}

/* Wait for @pid; its exit status, or -1 if it did not exit normally. */
static int wait_pid(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_wait(char *const *argv, const char *out)
{
	pid_t pid = spawn(argv, out);

	return pid < 0 ? -1 : wait_pid(pid);
}

/* "request_ns=N" from a child's output file, or -1. */
static int64_t read_request_ns(const char *file)
{
	long long v = -1;
	FILE *f = fopen(file, "r");
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "request_ns=%lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* ---- volumes and writers --------------------------------------------- */

struct wstat {
	int64_t nwrites;
	int64_t hold_writes;		/* completed while the set should be frozen */
	int64_t max_ns, max_start;	/* the longest write of the run */
	int nlong;
	int err;
	int64_t lstart[MAX_LONG], lend[MAX_LONG];
};

struct shared {
	volatile int stop;
	/* The driver: everything is frozen since hold_from (the hold). */
	volatile int hold;
	volatile int64_t hold_from;
	struct wstat w[MAX_VOLS];
};

struct vol {
	char mnt[256];
	double dirty_mib;		/* asked for */
	double bw_mibs;
	dev_t dev;
	/* measured */
	long long dirty_kb, written_kb_before, written_kb;
	int64_t frozen_ns;		/* (a/b) fsfreeze -f returned; module frozen_at */
	int64_t block_ns;		/* writers' view: the stalled write began */
	int64_t stall_ns;		/* the writer's longest write */
	int64_t flush_ns, freeze_call_ns;	/* module's per-target timings */
	pid_t fpid;
};

/* One line of /sys/kernel/debug/bdi/MAJ:MIN/stats, in kB; -1 if absent. */
static long long bdi_stat(dev_t dev, const char *key)
{
	char path[128], line[256];
	long long v = -1, x;
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/bdi/%u:%u/stats",
		 major(dev), minor(dev));
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%lld", &x) == 1)
			v = x;
	fclose(f);
	return v;
}

static void writer(struct wstat *w, const char *file, int64_t interval_ns,
		   size_t rec, struct shared *sh)
{
	char buf[65536];
	int fd;

	memset(buf, 'w', sizeof(buf));
	if (rec > sizeof(buf))
		rec = sizeof(buf);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0) {
		w->err = errno;
		_exit(1);
	}
	while (!sh->stop) {
		int64_t t0 = now_ns(), t1, d;
		ssize_t n = write(fd, buf, rec);

		t1 = now_ns();
		if (n < 0) {
			w->err = errno;
			break;
		}
		d = t1 - t0;
		w->nwrites++;
		/*
		 * A write that began and ended during the hold: the filesystem
		 * was not frozen after all.
		 */
		if (sh->hold && t0 > sh->hold_from)
			w->hold_writes++;
		if (d > w->max_ns) {
			w->max_ns = d;
			w->max_start = t0;
		}
		if (d >= LONG_WRITE_NS && w->nlong < MAX_LONG) {
			w->lstart[w->nlong] = t0;
			w->lend[w->nlong] = t1;
			w->nlong++;
		}
		sleep_ns(interval_ns);
	}
	close(fd);
	_exit(0);
}

/* Write @mib MiB to the new file @file and close it, unsynced. */
static int make_dirty(const char *file, double mib)
{
	static char buf[1 << 20];
	long long left = (long long)(mib * MIB);
	int fd;

	memset(buf, 0x5a, sizeof(buf));
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return -errno;
	while (left > 0) {
		size_t n = left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			close(fd);
			return -errno;
		}
		left -= w;
	}
	return close(fd) ? -errno : 0;
}

/* ---- the cycle ------------------------------------------------------- */

struct cfg {
	char method;
	int run, order;
	int64_t hold_ns, warmup_ns, cooldown_ns, interval_ns;
	size_t rec;
	unsigned int timeout_s;
	const char *budget_s;		/* the helper's --budget; NULL: its default */
	const char *snapfreeze;
	const char *self;
	const char *tmp;
	const char *tag;
};

struct result {
	int ok;
	const char *why;
	int64_t prep_ns, pre_ns, post_ns, request_ns, post_request_ns;
	int64_t skew_ns, skew_writers_ns, window_ns, flush_ns;
	int64_t stall_least_ns, stall_max_ns;
	double limit_s, dirty_mib, written_mib;
	int unfrozen;			/* volumes whose writer wrote while "frozen" */
};

static struct vol vols[MAX_VOLS];
static unsigned int nvols;

/* Best effort: thaw everything, whoever froze it. */
static void emergency_thaw(void)
{
	FILE *f = fopen("/sys/kernel/snapfreeze/control", "w");
	unsigned int i;

	if (f) {
		fputs("thaw\n", f);
		fclose(f);
	}
	for (i = 0; i < nvols; i++) {
		int fd = open(vols[i].mnt, O_RDONLY | O_DIRECTORY);

		if (fd >= 0) {
			while (!ioctl(fd, FITHAW, 0))
				;
			close(fd);
		}
	}
}

static void exec_id(char *buf, size_t size, const struct cfg *c)
{
	snprintf(buf, size, "5f0c8a4e-0000-4000-8000-%06d%06d",
		 c->run % 1000000, (int)(getpid() % 1000000));
}

static int fsfreeze_all(const char *flag, int parallel, int record)
{
	char *argv[4] = { "fsfreeze", (char *)flag, NULL, NULL };
	int64_t t0 = now_ns();
	unsigned int i, left;
	int bad = 0;

	for (i = 0; i < nvols; i++) {
		argv[2] = vols[i].mnt;
		vols[i].fpid = spawn(argv, NULL);
		if (vols[i].fpid < 0)
			return -1;
		if (parallel)
			continue;
		if (wait_pid(vols[i].fpid) != 0)
			bad = -1;
		if (record)
			vols[i].frozen_ns = now_ns() - t0;
		if (bad)
			return bad;
	}
	if (!parallel)
		return 0;
	for (left = nvols; left > 0; left--) {
		int st;
		pid_t pid = wait(&st);
		int64_t t = now_ns() - t0;

		if (pid < 0)
			return -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad = -1;
		for (i = 0; i < nvols; i++)
			if (vols[i].fpid == pid && record)
				vols[i].frozen_ns = t;
	}
	return bad;
}

/* Module timings of the set just frozen, from a GET. */
static int module_timings(struct nlt *nl, struct result *r)
{
	static struct nlt_result res;
	unsigned int i, j;
	int ret = nlt_get(nl, &res);

	if (ret || !res.has_reply)
		return -1;
	if (res.st.state != SNAPFREEZE_STATE_FROZEN)
		return -1;
	r->skew_ns = res.st.skew_ns;
	r->window_ns = res.st.freeze_ns;
	r->flush_ns = res.st.flush_ns;
	for (i = 0; i < res.st.ntargets; i++) {
		const struct nlt_target *t = &res.st.targets[i];

		for (j = 0; j < nvols; j++)
			if (major(vols[j].dev) == t->major &&
			    minor(vols[j].dev) == t->minor) {
				vols[j].frozen_ns = t->frozen_at_ns;
				vols[j].flush_ns = t->flush_ns;
				vols[j].freeze_call_ns = t->freeze_ns;
			}
	}
	return 0;
}

static int pre_script(const struct cfg *c, const char *id, struct result *r)
{
	char out[PATH_MAX], tmo[32], tmo_ms[32];
	char *argv[MAX_VOLS + 8];
	unsigned int i, k = 0;

	snprintf(out, sizeof(out), "%s/%s-pre.out", c->tmp, c->tag);
	snprintf(tmo, sizeof(tmo), "%u", c->timeout_s);
	snprintf(tmo_ms, sizeof(tmo_ms), "%u", c->timeout_s * 1000);
	switch (c->method) {
	case 'n':
		return 0;
	case 'a':
		return fsfreeze_all("-f", 0, 1);
	case 'b':
		return fsfreeze_all("-f", 1, 1);
	case 'c':
		/* As the scheduler runs it: the helper discovers the targets. */
		argv[k++] = (char *)c->snapfreeze;
		argv[k++] = "pre-script";
		argv[k++] = "--execution-id";
		argv[k++] = (char *)id;
		argv[k++] = "--timeout";
		argv[k++] = tmo;
		if (c->budget_s) {
			argv[k++] = "--budget";
			argv[k++] = (char *)c->budget_s;
		}
		argv[k] = NULL;
		return run_wait(argv, out) == 0 ? 0 : -1;
	case 'd':
	case 'e':
		argv[k++] = (char *)c->self;
		argv[k++] = "nl-freeze";
		if (c->method == 'd') {
			argv[k++] = "-l";
			argv[k++] = "0";
		}
		argv[k++] = (char *)id;
		argv[k++] = tmo_ms;
		for (i = 0; i < nvols; i++)
			argv[k++] = vols[i].mnt;
		argv[k] = NULL;
		if (run_wait(argv, out) != 0)
			return -1;
		r->request_ns = read_request_ns(out);
		return 0;
	}
	return -1;
}

static int post_script(const struct cfg *c, const char *id, struct result *r)
{
	char out[PATH_MAX];
	char *argv[8];

	snprintf(out, sizeof(out), "%s/%s-post.out", c->tmp, c->tag);
	switch (c->method) {
	case 'n':
		return 0;
	case 'a':
	case 'b':
		return fsfreeze_all("-u", 0, 0);
	case 'c':
		argv[0] = (char *)c->snapfreeze;
		argv[1] = "post-script";
		argv[2] = "--execution-id";
		argv[3] = (char *)id;
		argv[4] = NULL;
		return run_wait(argv, out) == 0 ? 0 : -1;
	default:
		argv[0] = (char *)c->self;
		argv[1] = "nl-thaw";
		argv[2] = (char *)id;
		argv[3] = NULL;
		if (run_wait(argv, out) != 0)
			return -1;
		r->post_request_ns = read_request_ns(out);
		return 0;
	}
}

/* Stalls, the writers' view of the freeze, skew and the physical limit. */
static void analyse(const struct cfg *c, const struct shared *sh,
		    int64_t pre_start, int64_t post_start,
		    struct result *r)
{
	int64_t first = INT64_MAX, last = INT64_MIN;
	int64_t bfirst = INT64_MAX, blast = INT64_MIN;
	unsigned int i, least = 0;
	int k;

	for (i = 0; i < nvols; i++) {
		const struct wstat *w = &sh->w[i];
		double mib = vols[i].dirty_kb / 1024.0;
		r->dirty_mib += mib;
		if (mib / vols[i].bw_mibs > r->limit_s)
			r->limit_s = mib / vols[i].bw_mibs;
		if (vols[i].dirty_mib < vols[least].dirty_mib)
			least = i;
		vols[i].stall_ns = w->max_ns;
		if (w->max_ns > r->stall_max_ns)
			r->stall_max_ns = w->max_ns;
		/*
		 * The write the freeze blocked: the one still blocked when the
		 * post-script began.  It began when the writer first hit the
		 * frozen (or freezing) filesystem.
		 */
		vols[i].block_ns = -1;
		for (k = 0; post_start >= 0 && k < w->nlong; k++)
			if (w->lstart[k] <= post_start && w->lend[k] >= post_start)
				vols[i].block_ns = w->lstart[k] - pre_start;
		if (w->hold_writes)
			r->unfrozen++;
		if (vols[i].block_ns >= 0) {
			if (vols[i].block_ns < bfirst)
				bfirst = vols[i].block_ns;
			if (vols[i].block_ns > blast)
				blast = vols[i].block_ns;
		}
		if (vols[i].frozen_ns >= 0) {
			if (vols[i].frozen_ns < first)
				first = vols[i].frozen_ns;
			if (vols[i].frozen_ns > last)
				last = vols[i].frozen_ns;
		}
	}
	r->stall_least_ns = vols[least].stall_ns;
	r->skew_writers_ns = blast >= bfirst ? blast - bfirst : -1;
	/*
	 * fsfreeze: from the first `fsfreeze -f` to return to the last; the
	 * module reports its own (first target frozen to last).
	 */
	if (c->method == 'a' || c->method == 'b')
		r->skew_ns = last >= first ? last - first : -1;
}

/* A time in ms with 3 decimals, or nothing when unknown (< 0). */
static void put_ms(int64_t ns)
{
	if (ns < 0)
		fputs(",", stdout);
	else
		printf(",%.3f", ns / 1e6);
}

/*
 * RUN,n,method,run,order,ok,limit_s,dirty_mib,pre_s,ratio,post_ms,skew_ms,
 *     skew_writers_ms,window_ms,flush_ms,stall_least_ms,stall_max_ms,
 *     request_ms,post_request_ms,prep_s,written_mib,unfrozen,why
 * VOL,n,method,run,vol,dirty_asked_mib,dirty_mib,bw_mibs,written_mib,
 *     frozen_ms,block_ms,stall_ms,flush_ms,freeze_call_ms,writes,hold_writes
 *
 * frozen_ms: (a)/(b) when its `fsfreeze -f` returned, from the start of
 * the pre-script; (c)-(e) the module's frozen-at, from its first freeze
 * call.  block_ms: when the writer's write that the freeze blocked began,
 * from the start of the pre-script.  unfrozen: volumes whose writer
 * completed a write during the hold (should be 0: the set was frozen).
 */
static void print_results(const struct cfg *c, const struct shared *sh,
			  const struct result *r)
{
	unsigned int i;

	printf("RUN,%u,%c,%d,%d,%d,%.4f,%.2f,%.4f,%.4f", nvols, c->method,
	       c->run, c->order, r->ok, r->limit_s, r->dirty_mib,
	       r->pre_ns / 1e9, r->limit_s > 0 ? r->pre_ns / 1e9 / r->limit_s : 0);
	put_ms(r->post_ns);
	put_ms(r->skew_ns);
	put_ms(r->skew_writers_ns);
	put_ms(r->window_ns);
	put_ms(r->flush_ns);
	put_ms(r->stall_least_ns);
	put_ms(r->stall_max_ns);
	put_ms(r->request_ns);
	put_ms(r->post_request_ns);
	printf(",%.3f,%.2f,%d,%s\n", r->prep_ns / 1e9, r->written_mib,
	       r->unfrozen, r->why ? r->why : "");
	for (i = 0; i < nvols; i++) {
		printf("VOL,%u,%c,%d,%u,%.2f,%.2f,%.2f,%.2f", nvols, c->method,
		       c->run, i + 1, vols[i].dirty_mib,
		       vols[i].dirty_kb / 1024.0, vols[i].bw_mibs,
		       vols[i].written_kb / 1024.0);
		put_ms(vols[i].frozen_ns);
		put_ms(vols[i].block_ns);
		put_ms(vols[i].stall_ns);
		put_ms(vols[i].flush_ns);
		put_ms(vols[i].freeze_call_ns);
		printf(",%lld,%lld\n", (long long)sh->w[i].nwrites,
		       (long long)sh->w[i].hold_writes);
	}
	fflush(stdout);
}

static void file_name(char *buf, size_t size, unsigned int i,
		      const char *what, const struct cfg *c)
{
	if (snprintf(buf, size, "%s/sfbench-%s-%s", vols[i].mnt, what,
		     c->tag) >= (int)size)
		die("path too long: %s", vols[i].mnt);
}

/* Each volume's dirty data, written in parallel, one process each. */
static int prepare(const struct cfg *c)
{
	char file[PATH_MAX];
	unsigned int i;
	int bad = 0;

	for (i = 0; i < nvols; i++) {
		file_name(file, sizeof(file), i, "dirty", c);
		vols[i].fpid = fork();
		if (vols[i].fpid < 0)
			return -1;
		if (vols[i].fpid == 0)
			_exit(make_dirty(file, vols[i].dirty_mib) ? 1 : 0);
	}
	for (i = 0; i < nvols; i++)
		if (wait_pid(vols[i].fpid) != 0)
			bad = -1;
	return bad;
}

/* Stop the writers; thaw everything if one stays blocked for 20 s. */
static void stop_writers(struct shared *sh, pid_t *wpid)
{
	int64_t t0 = now_ns();
	unsigned int i, left = nvols;
	int thawed = 0;

	sh->stop = 1;
	while (left > 0) {
		for (i = 0; i < nvols; i++) {
			if (wpid[i] > 0 && waitpid(wpid[i], NULL, WNOHANG) == wpid[i]) {
				wpid[i] = 0;
				left--;
			}
		}
		if (left && !thawed && now_ns() - t0 > 20000000000LL) {
			fprintf(stderr, "sfbench: a writer is still blocked 20 s after the post-script: thawing everything\n");
			emergency_thaw();
			thawed = 1;
		}
		if (left)
			sleep_ns(5000000);
	}
}

static void cleanup_files(const struct cfg *c)
{
	char file[PATH_MAX];
	unsigned int i;

	for (i = 0; i < nvols; i++) {
		int fd;

		file_name(file, sizeof(file), i, "dirty", c);
		unlink(file);
		file_name(file, sizeof(file), i, "writer", c);
		unlink(file);
		fd = open(vols[i].mnt, O_RDONLY | O_DIRECTORY);
		if (fd >= 0) {
			syncfs(fd);
			close(fd);
		}
	}
}

static void usage_cycle(void)
{
	fputs("usage: sfbench cycle -m a|b|c|d|e|n [-r RUN] [-o ORDER] [-H HOLD_MS] [-W WARMUP_MS]\n"
	      "       [-C COOLDOWN_MS] [-i INTERVAL_US] [-b RECORD_BYTES] [-T TIMEOUT_S] [-B BUDGET_S]\n"
	      "       [-s SNAPFREEZE] [-t TMPDIR] MOUNT:DIRTY_MIB:BW_MIBS...\n", stderr);
	exit(2);
}

static int cmd_cycle(int argc, char **argv)
{
	struct cfg c = {
		.method = 0, .hold_ns = 200000000LL, .warmup_ns = 300000000LL,
		.cooldown_ns = 300000000LL, .interval_ns = 2000000LL,
		.rec = 512, .timeout_s = 300, .snapfreeze = "snapfreeze",
		.tmp = "/tmp",
	};
	static char self[PATH_MAX], tag[64], file[PATH_MAX];
	struct result r = { .skew_ns = -1, .skew_writers_ns = -1,
			    .window_ns = -1, .flush_ns = -1, .request_ns = -1,
			    .post_request_ns = -1 };
	pid_t wpid[MAX_VOLS];
	struct nlt *nl = NULL;
	struct shared *sh;
	char id[64];
	int64_t t, pre0, pre1, post0 = -1;
	unsigned int i;
	int opt;

	while ((opt = getopt(argc, argv, "m:r:o:H:W:C:i:b:T:B:s:t:")) != -1) {
		switch (opt) {
		case 'm': c.method = optarg[0]; break;
		case 'r': c.run = atoi(optarg); break;
		case 'o': c.order = atoi(optarg); break;
		case 'H': c.hold_ns = atoll(optarg) * 1000000LL; break;
		case 'W': c.warmup_ns = atoll(optarg) * 1000000LL; break;
		case 'C': c.cooldown_ns = atoll(optarg) * 1000000LL; break;
		case 'i': c.interval_ns = atoll(optarg) * 1000LL; break;
		case 'b': c.rec = strtoul(optarg, NULL, 0); break;
		case 'T': c.timeout_s = strtoul(optarg, NULL, 0); break;
		case 'B': c.budget_s = optarg; break;
		case 's': c.snapfreeze = optarg; break;
		case 't': c.tmp = optarg; break;
		default: usage_cycle();
		}
	}
	if (!c.method || !strchr("abcden", c.method) || optind >= argc)
		usage_cycle();
	for (; optind < argc && nvols < MAX_VOLS; optind++) {
		struct vol *v = &vols[nvols++];
		struct stat st;
		char *p = strchr(argv[optind], ':');

		if (!p || sscanf(p + 1, "%lf:%lf", &v->dirty_mib, &v->bw_mibs) != 2 ||
		    v->bw_mibs <= 0 || (size_t)(p - argv[optind]) >= sizeof(v->mnt))
			usage_cycle();
		memcpy(v->mnt, argv[optind], p - argv[optind]);
		if (stat(v->mnt, &st))
			die("%s: %s", v->mnt, strerror(errno));
		v->dev = st.st_dev;
		v->frozen_ns = v->block_ns = v->flush_ns = v->freeze_call_ns = -1;
	}
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) < 0)
		die("/proc/self/exe: %s", strerror(errno));
	c.self = self;
	snprintf(tag, sizeof(tag), "r%d-%c-%d", c.run, c.method, (int)getpid());
	c.tag = tag;
	exec_id(id, sizeof(id), &c);
	if (strchr("cde", c.method)) {
		nl = nlt_open();
		if (!nl)
			die("snapfreeze family: %s", strerror(errno));
	}

	t = now_ns();
	if (prepare(&c)) {
		r.why = "writing the dirty data failed";
		goto out_files;
	}
	r.prep_ns = now_ns() - t;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	for (i = 0; i < nvols; i++) {
		file_name(file, sizeof(file), i, "writer", &c);
		wpid[i] = fork();
		if (wpid[i] < 0)
			die("fork: %s", strerror(errno));
		if (wpid[i] == 0)
			writer(&sh->w[i], file, c.interval_ns, c.rec, sh);
	}
	sleep_ns(c.warmup_ns);

	for (i = 0; i < nvols; i++) {
		long long d = bdi_stat(vols[i].dev, "BdiReclaimable");
		long long wb = bdi_stat(vols[i].dev, "BdiWriteback");

		vols[i].dirty_kb = (d > 0 ? d : 0) + (wb > 0 ? wb : 0);
		vols[i].written_kb_before = bdi_stat(vols[i].dev, "BdiWritten");
	}

	pre0 = now_ns();
	if (pre_script(&c, id, &r)) {
		pre1 = now_ns();
		r.why = "pre-script failed";
		emergency_thaw();
		goto out_writers;
	}
	pre1 = now_ns();
	r.pre_ns = pre1 - pre0;
	for (i = 0; i < nvols; i++) {
		vols[i].written_kb = bdi_stat(vols[i].dev, "BdiWritten") -
				     vols[i].written_kb_before;
		r.written_mib += vols[i].written_kb / 1024.0;
	}
	if (nl && module_timings(nl, &r))
		r.why = "GET after the freeze: the set is not frozen";

	/* The snapshot. */
	sh->hold_from = now_ns();
	sh->hold = 1;
	t = pre1 + c.hold_ns - now_ns();
	sleep_ns(t);
	sh->hold = 0;

	post0 = now_ns();
	t = post0;
	if (post_script(&c, id, &r)) {
		r.why = "post-script failed";
		emergency_thaw();
	} else if (!r.why) {
		r.ok = 1;
	}
	r.post_ns = now_ns() - t;
	sleep_ns(c.cooldown_ns);

out_writers:
	stop_writers(sh, wpid);
	for (i = 0; i < nvols; i++)
		if (sh->w[i].err && !r.why)
			r.why = "a writer failed";
	analyse(&c, sh, pre0, post0, &r);
	if (r.unfrozen && !r.why)
		r.why = "a volume took writes while the set was frozen";
	if (r.why)
		r.ok = 0;
	print_results(&c, sh, &r);
	munmap(sh, sizeof(*sh));
out_files:
	cleanup_files(&c);
	if (nl)
		nlt_close(nl);
	if (r.why && !r.pre_ns)
		fprintf(stderr, "sfbench: %s\n", r.why);
	return r.ok ? 0 : 1;
}

/* ---- single requests, for (d) and (e) and for the overhead figures ---- */

static int cmd_nl_freeze(int argc, char **argv)
{
	static struct nlt_result res;
	uint32_t levels[MAX_VOLS];
	int have_level = 0, ret, opt;
	unsigned int i, n;
	struct nlt *nl;
	int64_t t0, t1;

	while ((opt = getopt(argc, argv, "l:")) != -1) {
		if (opt != 'l')
			return 2;
		have_level = 1;
		for (i = 0; i < MAX_VOLS; i++)
			levels[i] = strtoul(optarg, NULL, 0);
	}
	if (argc - optind < 3)
		die("usage: sfbench nl-freeze [-l LEVEL] ID TIMEOUT_MS PATH...");
	n = argc - optind - 2;
	if (n > MAX_VOLS)
		die("too many targets");
	nl = nlt_open();
	if (!nl)
		die("snapfreeze family: %s", strerror(errno));
	t0 = now_ns();
	ret = nlt_freeze_levels(nl, (const char *const *)argv + optind + 2,
			       have_level ? levels : NULL, n, argv[optind],
			       strtoul(argv[optind + 1], NULL, 0), 0, &res, NULL);
	t1 = now_ns();
	printf("request_ns=%lld\n", (long long)(t1 - t0));
	if (ret) {
		fprintf(stderr, "sfbench: freeze: %s: %s\n", strerror(-ret),
			res.msg);
	} else if (res.has_reply) {
		printf("flush_ns=%llu freeze_ns=%llu skew_ns=%llu\n",
		       (unsigned long long)res.st.flush_ns,
		       (unsigned long long)res.st.freeze_ns,
		       (unsigned long long)res.st.skew_ns);
	}
	nlt_close(nl);
	return ret ? 1 : 0;
}

static int cmd_nl_thaw(int argc, char **argv)
{
	static struct nlt_result res;
	struct nlt *nl;
	int64_t t0, t1;
	int ret;

	if (argc != 2)
		die("usage: sfbench nl-thaw ID");
	nl = nlt_open();
	if (!nl)
		die("snapfreeze family: %s", strerror(errno));
	t0 = now_ns();
	ret = nlt_thaw(nl, argv[1], 0, &res);
	t1 = now_ns();
	printf("request_ns=%lld\n", (long long)(t1 - t0));
	if (ret)
		fprintf(stderr, "sfbench: thaw: %s: %s\n", strerror(-ret),
			res.msg);
	nlt_close(nl);
	return ret ? 1 : 0;
}

static void print_stats(const char *what, int64_t *v, int n)
{
	int64_t med = median(v, n);

	printf("%-44s median %9.1f us  min %9.1f  max %9.1f  (n=%d)\n", what,
	       med / 1e3, v[0] / 1e3, v[n - 1] / 1e3, n);
}

/* "basename ARGS...", for the tables. */
static const char *label(char *const *argv)
{
	static char buf[128];
	const char *b = strrchr(argv[0], '/');
	size_t len;

	snprintf(buf, sizeof(buf), "%s", b ? b + 1 : argv[0]);
	for (argv++; *argv; argv++) {
		len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, " %s", *argv);
	}
	return buf;
}

/*
 * Split argv at each "--" into at most @max commands (NULL-terminated in
 * place); returns how many.
 */
static int split_cmds(int argc, char **argv, char ***cmds, int max)
{
	int n = 0, i;

	for (i = 0; i < argc && n < max; i++) {
		if (!strcmp(argv[i], "--")) {
			argv[i] = NULL;
			continue;
		}
		if (i == 0 || argv[i - 1] == NULL)
			cmds[n++] = argv + i;
	}
	return n;
}

#define MAX_CMDS 16

/*
 * K rounds; each round starts every command once, in turn, so that the
 * machine's load changes hurt all of them alike.
 */
static int cmd_spawn_time(int argc, char **argv)
{
	char **cmds[MAX_CMDS];
	int64_t *v[MAX_CMDS];
	int k, i, j, n;

	if (argc < 3)
		die("usage: sfbench spawn-time K CMD [ARGS...] [-- CMD [ARGS...]]...");
	k = atoi(argv[1]);
	if (k < 1)
		die("K must be positive");
	n = split_cmds(argc - 2, argv + 2, cmds, MAX_CMDS);
	for (j = 0; j < n; j++)
		v[j] = calloc(k, sizeof(int64_t));
	for (i = 0; i < k; i++) {
		for (j = 0; j < n; j++) {
			int64_t t0 = now_ns();

			if (run_wait(cmds[j], NULL) != 0)
				die("%s failed", cmds[j][0]);
			v[j][i] = now_ns() - t0;
		}
	}
	for (j = 0; j < n; j++) {
		print_stats(label(cmds[j]), v[j], k);
		free(v[j]);
	}
	return 0;
}

static int cmd_ioctl_time(int argc, char **argv)
{
	int64_t *f, *u;
	int k, i, fd;

	if (argc != 3)
		die("usage: sfbench ioctl-time K MOUNT");
	k = atoi(argv[1]);
	if (k < 1)
		die("K must be positive");
	fd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		die("%s: %s", argv[2], strerror(errno));
	f = calloc(k, sizeof(*f));
	u = calloc(k, sizeof(*u));
	for (i = 0; i < k; i++) {
		int64_t t0 = now_ns(), t1;

		if (ioctl(fd, FIFREEZE, 0))
			die("FIFREEZE %s: %s", argv[2], strerror(errno));
		t1 = now_ns();
		if (ioctl(fd, FITHAW, 0))
			die("FITHAW %s: %s", argv[2], strerror(errno));
		f[i] = t1 - t0;
		u[i] = now_ns() - t1;
	}
	print_stats("FIFREEZE (ioctl, idle fs)", f, k);
	print_stats("FITHAW (ioctl, idle fs)", u, k);
	close(fd);
	return 0;
}

/* K times: `fsfreeze -f MOUNT`, then `fsfreeze -u MOUNT`, each timed. */
static int cmd_fsfreeze_time(int argc, char **argv)
{
	char *fa[] = { "fsfreeze", "-f", NULL, NULL };
	char *ua[] = { "fsfreeze", "-u", NULL, NULL };
	int64_t *f, *u;
	int k, i;

	if (argc != 3)
		die("usage: sfbench fsfreeze-time K MOUNT");
	k = atoi(argv[1]);
	if (k < 1)
		die("K must be positive");
	fa[2] = ua[2] = argv[2];
	f = calloc(k, sizeof(*f));
	u = calloc(k, sizeof(*u));
	for (i = 0; i < k; i++) {
		int64_t t0 = now_ns(), t1;

		if (run_wait(fa, NULL) != 0)
			die("fsfreeze -f %s failed", argv[2]);
		t1 = now_ns();
		if (run_wait(ua, NULL) != 0)
			die("fsfreeze -u %s failed", argv[2]);
		f[i] = t1 - t0;
		u[i] = now_ns() - t1;
	}
	print_stats("fsfreeze -f (process, idle fs)", f, k);
	print_stats("fsfreeze -u (process, idle fs)", u, k);
	return 0;
}

#define FIXED_ID "5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6"

static int cmd_nl_time(int argc, char **argv)
{
	static struct nlt_result res;
	uint32_t levels[MAX_VOLS] = { 0 };
	int64_t *f, *u, *o, *sk;
	unsigned int n;
	int k, i, ret;

	if (argc < 3)
		die("usage: sfbench nl-time K PATH...");
	k = atoi(argv[1]);
	n = argc - 2;
	if (k < 1 || n > MAX_VOLS)
		die("bad arguments");
	f = calloc(k, sizeof(*f));
	u = calloc(k, sizeof(*u));
	o = calloc(k, sizeof(*o));
	sk = calloc(k, sizeof(*sk));
	for (i = 0; i < k; i++) {
		int64_t t0 = now_ns(), t1;
		struct nlt *nl = nlt_open();

		if (!nl)
			die("snapfreeze family: %s", strerror(errno));
		o[i] = now_ns() - t0;
		t0 = now_ns();
		ret = nlt_freeze_levels(nl, (const char *const *)argv + 2, levels,
				       n, FIXED_ID, 60000, 0, &res, NULL);
		t1 = now_ns();
		if (ret)
			die("freeze: %s: %s", strerror(-ret), res.msg);
		/* The module's own skew (first frozen to last), while frozen. */
		ret = nlt_get(nl, &res);
		if (ret)
			die("get: %s: %s", strerror(-ret), res.msg);
		sk[i] = res.st.has_skew_ns ? (int64_t)res.st.skew_ns : 0;
		ret = nlt_thaw(nl, FIXED_ID, 0, &res);
		if (ret)
			die("thaw: %s: %s", strerror(-ret), res.msg);
		f[i] = t1 - t0;
		u[i] = now_ns() - t1;
		nlt_close(nl);
	}
	print_stats("socket + family lookup (libmnl)", o, k);
	printf("%u target(s), idle:\n", n);
	print_stats("FREEZE request, level 0", f, k);
	print_stats("THAW request", u, k);
	print_stats("skew, first frozen to last (module)", sk, k);
	return 0;
}

/*
 * K rounds: for each CMD in turn, freeze PATH... in this process (level 0,
 * execution id FIXED_ID), run CMD, which should thaw the set (a
 * post-script), and time it; thaw by force if it did not.
 */
static int cmd_frozen_run(int argc, char **argv)
{
	static struct nlt_result res;
	uint32_t levels[MAX_VOLS] = { 0 };
	char **cmds[MAX_CMDS];
	int64_t *v[MAX_CMDS];
	unsigned int n = 0;
	const char *phase_out = getenv("SFB_PHASE_OUT");
	int k, i, j, nc, sep, ret, bad = 0;
	struct nlt *nl;

	for (sep = 2; sep < argc && strcmp(argv[sep], "--"); sep++)
		n++;
	if (argc < 4 || sep >= argc - 1 || !n || n > MAX_VOLS)
		die("usage: sfbench frozen-run K PATH... -- CMD [ARGS...] [-- CMD [ARGS...]]... (execution id " FIXED_ID ")");
	k = atoi(argv[1]);
	if (k < 1)
		die("K must be positive");
	nc = split_cmds(argc - sep - 1, argv + sep + 1, cmds, MAX_CMDS);
	argv[sep] = NULL;
	nl = nlt_open();
	if (!nl)
		die("snapfreeze family: %s", strerror(errno));
	for (j = 0; j < nc; j++)
		v[j] = calloc(k, sizeof(int64_t));
	for (i = 0; i < k; i++) {
		for (j = 0; j < nc; j++) {
			int64_t t0;

			ret = nlt_freeze_levels(nl, (const char *const *)argv + 2,
					       levels, n, FIXED_ID, 60000, 0,
					       &res, NULL);
			if (ret)
				die("freeze: %s: %s", strerror(-ret), res.msg);
			t0 = now_ns();
			if (phase_out) {
				/* For libsfphases.so (bench/phases.c). */
				char t[32];

				snprintf(t, sizeof(t), "%lld", (long long)t0);
				setenv("SFB_SPAWN_NS", t, 1);
			}
			if (run_wait(cmds[j], NULL) != 0)
				bad = 1;
			v[j][i] = now_ns() - t0;
			if (phase_out) {
				FILE *f = fopen(phase_out, "a");

				if (f) {
					fprintf(f, "E %lld\n",
						(long long)(t0 + v[j][i]));
					fclose(f);
				}
			}
			ret = nlt_get(nl, &res);
			if (!ret && res.st.state != SNAPFREEZE_STATE_IDLE) {
				bad = 1;
				nlt_thaw(nl, NULL, SNAPFREEZE_F_FORCE, &res);
			}
		}
	}
	for (j = 0; j < nc; j++) {
		printf("%u frozen, then: ", n);
		print_stats(label(cmds[j]), v[j], k);
		free(v[j]);
	}
	nlt_close(nl);
	if (bad)
		fprintf(stderr, "sfbench: a command failed or did not thaw at least once\n");
	return bad;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "cycle"))
		return cmd_cycle(argc - 1, argv + 1);
	if (!strcmp(argv[1], "nl-freeze"))
		return cmd_nl_freeze(argc - 1, argv + 1);
	if (!strcmp(argv[1], "nl-thaw"))
		return cmd_nl_thaw(argc - 1, argv + 1);
	if (!strcmp(argv[1], "spawn-time"))
		return cmd_spawn_time(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ioctl-time"))
		return cmd_ioctl_time(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fsfreeze-time"))
		return cmd_fsfreeze_time(argc - 1, argv + 1);
	if (!strcmp(argv[1], "nl-time"))
		return cmd_nl_time(argc - 1, argv + 1);
	if (!strcmp(argv[1], "frozen-run"))
		return cmd_frozen_run(argc - 1, argv + 1);
usage:
	fputs("usage: sfbench cycle|nl-freeze|nl-thaw|spawn-time|fsfreeze-time|ioctl-time|nl-time|frozen-run ...\n"
	      "(see the comment at the top of bench/sfbench.c)\n", stderr);
	return 2;
}
