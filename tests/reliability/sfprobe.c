// SPDX-License-Identifier: GPL-2.0
/*
 * sfprobe: try one privileged snapfreeze operation and say whether the
 * kernel allowed it; or listen to the events group.  For the privilege and
 * load tests in tests/reliability/.
 *
 *   sfprobe freeze PATH [TIMEOUT_MS]   FREEZE, execution id None
 *   sfprobe thaw                       THAW with SNAPFREEZE_F_FORCE
 *   sfprobe get                        GET
 *   sfprobe join-events                join the events multicast group
 *   sfprobe control                    write "thaw" to the sysfs control file
 *   sfprobe listen                     join the events group and print one
 *                                      line per event until SIGTERM
 *   sfprobe cycles N TIMEOUT_MS PATH...
 *                                      N FREEZE/THAW cycles of PATHs in one
 *                                      process (each its own execution id),
 *                                      every request must succeed
 *
 * Prints one line, "allowed", "denied ERRNAME" or "error ERRNAME[: msg]",
 * and exits 0 (allowed), 1 (denied: EPERM or EACCES), 3 (the family is
 * not visible: ENOENT while resolving it, as in another network
 * namespace) or 2 (any other error).
 *
 * cycles prints "cycles: N done, E errors, X ms per cycle (min M, max
 * M)" and the first error, and exits 0 only if every request succeeded
 * and each reply said so (FREEZE: frozen; THAW: found frozen).
 *
 * listen prints "listening" once it has joined, then for each event
 * "EVENT NAME id=ID reason=N errno=N" (flushed), and "overrun" if the
 * kernel dropped events (ENOBUFS): a listener that missed events must not
 * pass a check.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/snapfreeze.h>

#include "sfgenl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define CONTROL "/sys/kernel/snapfreeze/control"

static const char *errname(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case ESRCH: return "ESRCH";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENODEV: return "ENODEV";
	case EROFS: return "EROFS";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	default: return strerror(err);
	}
}

/* err: positive errno or 0. */
static int verdict(int err, const char *msg)
{
	if (!err) {
		printf("allowed\n");
		return 0;
	}
	if (err == EPERM || err == EACCES) {
		printf("denied %s%s%s\n", errname(err), msg && *msg ? ": " : "",
		       msg ? msg : "");
		return 1;
	}
	printf("error %s%s%s\n", errname(err), msg && *msg ? ": " : "",
	       msg ? msg : "");
	return 2;
}

static int open_family(struct sfgenl *g)
{
	int ret = sfgenl_open(g);

	if (ret == -ENOENT) {
		printf("error ENOENT: no snapfreeze family in this network namespace\n");
		exit(3);
	}
	if (ret) {
		verdict(-ret, "opening the family");
		exit(2);
	}
	return 0;
}

static int request(uint8_t cmd, const char *path, unsigned int timeout_ms)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sfgenl_result res;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	struct sfgenl g;
	int ret;

	open_family(&g);
	nlh = sfgenl_request(&g, buf, cmd, 0);
	if (cmd == SNAPFREEZE_CMD_FREEZE) {
		nest = mnl_attr_nest_start(nlh, SNAPFREEZE_A_TARGET);
		mnl_attr_put_strz(nlh, SNAPFREEZE_TARGET_A_PATH, path);
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_strz(nlh, SNAPFREEZE_A_EXEC_ID,
				  SNAPFREEZE_EXEC_ID_NONE);
		mnl_attr_put_u32(nlh, SNAPFREEZE_A_TIMEOUT_MS, timeout_ms);
	} else if (cmd == SNAPFREEZE_CMD_THAW) {
		mnl_attr_put_u32(nlh, SNAPFREEZE_A_FLAGS, SNAPFREEZE_F_FORCE);
	}
	ret = sfgenl_call(&g, nlh, &res);
	sfgenl_close(&g);
	if (ret)
		return verdict(-ret, "netlink");
	return verdict(-res.err, res.msg);
}

static int join_events(struct sfgenl *g)
{
	int grp;

	if (!g->events_grp) {
		printf("error ENOENT: the family has no events group\n");
		exit(2);
	}
	grp = (int)g->events_grp;
	if (setsockopt(mnl_socket_get_fd(g->nl), SOL_NETLINK,
		       NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)))
		return errno;
	return 0;
}

static int control(void)
{
	int fd = open(CONTROL, O_WRONLY);
	int err = 0;

	if (fd < 0)
		return verdict(errno, "opening " CONTROL);
	if (write(fd, "thaw\n", 5) != 5)
		err = errno;
	close(fd);
	return verdict(err, err ? "writing " CONTROL : NULL);
}

static const char *event_name(uint32_t ev)
{
	switch (ev) {
	case SNAPFREEZE_EVENT_FROZEN: return "frozen";
	case SNAPFREEZE_EVENT_THAWED: return "thawed";
	case SNAPFREEZE_EVENT_AUTO_THAWED: return "auto-thawed";
	case SNAPFREEZE_EVENT_FAILED: return "failed";
	default: return "unknown";
	}
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;
	const char *id = "-";
	uint32_t ev = 0, reason = 0, err = 0;

	(void)data;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case SNAPFREEZE_A_EVENT:
			if (!mnl_attr_validate(a, MNL_TYPE_U32))
				ev = mnl_attr_get_u32(a);
			break;
		case SNAPFREEZE_A_EXEC_ID:
			if (!mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
				id = mnl_attr_get_str(a);
			break;
		case SNAPFREEZE_A_THAW_REASON:
			if (!mnl_attr_validate(a, MNL_TYPE_U32))
				reason = mnl_attr_get_u32(a);
			break;
		case SNAPFREEZE_A_ERRNO:
			if (!mnl_attr_validate(a, MNL_TYPE_U32))
				err = mnl_attr_get_u32(a);
			break;
		}
	}
	printf("EVENT %s id=%s reason=%u errno=%u\n", event_name(ev), id,
	       reason, err);
	fflush(stdout);
	return MNL_CB_OK;
}

static int listen_events(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int size = 4 << 20, err;
	struct sfgenl g;
	ssize_t n;

	open_family(&g);
	setsockopt(mnl_socket_get_fd(g.nl), SOL_SOCKET, SO_RCVBUFFORCE,
		   &size, sizeof(size));
	err = join_events(&g);
	if (err)
		return verdict(err, "joining the events group");
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		n = mnl_socket_recvfrom(g.nl, buf, sizeof(buf));
		if (n < 0 && errno == ENOBUFS) {
			printf("overrun\n");
			fflush(stdout);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return verdict(errno, "receiving events");
		mnl_cb_run(buf, n, 0, 0, event_cb, NULL);
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int cycles(unsigned int n, unsigned int timeout_ms, char **paths,
		  int npaths)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], id[SNAPFREEZE_EXEC_ID_MAX + 1];
	char first[512] = "";
	struct sfgenl_result res;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	struct sfgenl g;
	unsigned int i, errors = 0;
	long long t, dt, tmin = -1, tmax = 0, t0 = now_ms();
	int ret;

	open_family(&g);
	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof(id), "5f0c8a4e-1b2d-4c3e-9f10-%012x", 0x100000 + i);
		t = now_ms();
		nlh = sfgenl_request(&g, buf, SNAPFREEZE_CMD_FREEZE, 0);
		for (int p = 0; p < npaths; p++) {
			nest = mnl_attr_nest_start(nlh, SNAPFREEZE_A_TARGET);
			mnl_attr_put_strz(nlh, SNAPFREEZE_TARGET_A_PATH, paths[p]);
			mnl_attr_nest_end(nlh, nest);
		}
		mnl_attr_put_strz(nlh, SNAPFREEZE_A_EXEC_ID, id);
		mnl_attr_put_u32(nlh, SNAPFREEZE_A_TIMEOUT_MS, timeout_ms);
		ret = sfgenl_call(&g, nlh, &res);
		if (ret || res.err || !res.has_state ||
		    res.state != SNAPFREEZE_STATE_FROZEN) {
			errors++;
			if (!*first)
				snprintf(first, sizeof(first), "cycle %u: FREEZE: %s%s%s (state %u)",
					 i, strerror(-(ret ? ret : res.err)),
					 res.msg[0] ? ": " : "", res.msg, res.state);
		}
		nlh = sfgenl_request(&g, buf, SNAPFREEZE_CMD_THAW, 0);
		mnl_attr_put_strz(nlh, SNAPFREEZE_A_EXEC_ID, id);
		ret = sfgenl_call(&g, nlh, &res);
		if (ret || res.err || !res.has_state ||
		    res.state != SNAPFREEZE_STATE_FROZEN) {
			errors++;
			if (!*first)
				snprintf(first, sizeof(first), "cycle %u: THAW: %s%s%s (state %u)",
					 i, strerror(-(ret ? ret : res.err)),
					 res.msg[0] ? ": " : "", res.msg, res.state);
		}
		dt = now_ms() - t;
		if (tmin < 0 || dt < tmin)
			tmin = dt;
		if (dt > tmax)
			tmax = dt;
	}
	sfgenl_close(&g);
	printf("cycles: %u done, %u errors, %lld ms per cycle (min %lld, max %lld)%s%s\n",
	       n, errors, n ? (now_ms() - t0) / n : 0, tmin, tmax,
	       *first ? "; first: " : "", first);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sfgenl g;

	if (argc >= 3 && argc <= 4 && !strcmp(argv[1], "freeze"))
		return request(SNAPFREEZE_CMD_FREEZE, argv[2],
			       argc == 4 ? (unsigned int)atoi(argv[3]) : 5000);
	if (argc == 2 && !strcmp(argv[1], "thaw"))
		return request(SNAPFREEZE_CMD_THAW, NULL, 0);
	if (argc == 2 && !strcmp(argv[1], "get"))
		return request(SNAPFREEZE_CMD_GET, NULL, 0);
	if (argc == 2 && !strcmp(argv[1], "join-events")) {
		open_family(&g);
		return verdict(join_events(&g), "joining the events group");
	}
	if (argc == 2 && !strcmp(argv[1], "control"))
		return control();
	if (argc == 2 && !strcmp(argv[1], "listen"))
		return listen_events();
	if (argc >= 5 && !strcmp(argv[1], "cycles"))
		return cycles((unsigned int)atoi(argv[2]), (unsigned int)atoi(argv[3]),
			      argv + 4, argc - 4);
	fprintf(stderr,
		"usage: sfprobe freeze PATH [TIMEOUT_MS] | thaw | get | join-events | control | listen\n"
		"       sfprobe cycles N TIMEOUT_MS PATH...\n");
	return 2;
}
