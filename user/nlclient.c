// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "nlclient.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct client {
	struct nl_sock *sk;
	int family;
};

/* One request's state, shared with the callbacks. */
struct request {
	struct client_status *st;
	struct client_error *err;
	uint32_t target_offs[SNAPFREEZE_MAX_TARGETS];
	unsigned int nr_targets;
	bool done;
	int parse_err;
	int (*event_fn)(const struct client_event *ev, void *arg);
	void *event_arg;
};

static struct nla_policy status_policy[SNAPFREEZE_A_MAX + 1] = {
	[SNAPFREEZE_A_TARGET] = { .type = NLA_NESTED },
	[SNAPFREEZE_A_EXEC_ID] = { .type = NLA_STRING,
				   .maxlen = SNAPFREEZE_EXEC_ID_MAX + 1 },
	[SNAPFREEZE_A_TIMEOUT_MS] = { .type = NLA_U32 },
	[SNAPFREEZE_A_STATE] = { .type = NLA_U32 },
	[SNAPFREEZE_A_FROZEN_SINCE] = { .type = NLA_U64 },
	[SNAPFREEZE_A_REMAINING_MS] = { .type = NLA_U32 },
	[SNAPFREEZE_A_THAWED_AT] = { .type = NLA_U64 },
	[SNAPFREEZE_A_THAW_REASON] = { .type = NLA_U32 },
	[SNAPFREEZE_A_FLUSH_NS] = { .type = NLA_U64 },
	[SNAPFREEZE_A_FREEZE_NS] = { .type = NLA_U64 },
	[SNAPFREEZE_A_FREEZES] = { .type = NLA_U64 },
	[SNAPFREEZE_A_THAWS] = { .type = NLA_U64 },
	[SNAPFREEZE_A_AUTO_THAWS] = { .type = NLA_U64 },
	[SNAPFREEZE_A_FAILURES] = { .type = NLA_U64 },
	[SNAPFREEZE_A_LAST_ERROR] = { .type = NLA_STRING },
	[SNAPFREEZE_A_EVENT] = { .type = NLA_U32 },
	[SNAPFREEZE_A_ERRNO] = { .type = NLA_U32 },
	[SNAPFREEZE_A_HELD_BY_OTHER] = { .type = NLA_U32 },
	[SNAPFREEZE_A_SKEW_NS] = { .type = NLA_U64 },
};

static struct nla_policy target_policy[SNAPFREEZE_TARGET_A_MAX + 1] = {
	[SNAPFREEZE_TARGET_A_PATH] = { .type = NLA_STRING },
	[SNAPFREEZE_TARGET_A_FSTYPE] = { .type = NLA_STRING },
	[SNAPFREEZE_TARGET_A_SB_ID] = { .type = NLA_STRING },
	[SNAPFREEZE_TARGET_A_MAJOR] = { .type = NLA_U32 },
	[SNAPFREEZE_TARGET_A_MINOR] = { .type = NLA_U32 },
	[SNAPFREEZE_TARGET_A_STATE] = { .type = NLA_U32 },
	[SNAPFREEZE_TARGET_A_FLUSH_NS] = { .type = NLA_U64 },
	[SNAPFREEZE_TARGET_A_FREEZE_NS] = { .type = NLA_U64 },
	[SNAPFREEZE_TARGET_A_FROZEN_AT_NS] = { .type = NLA_U64 },
	[SNAPFREEZE_TARGET_A_LEVEL] = { .type = NLA_U32 },
};

static void copy_string(char *dst, size_t size, struct nlattr *a)
{
	snprintf(dst, size, "%s", a ? nla_get_string(a) : "");
}

/*
 * The numbers of a reply, a target or an event, and the field each lands
 * in; the policies have checked their sizes.  An absent one stays 0.
 */
struct field {
	uint16_t attr;
	bool u64;
	size_t offset;
};

#define U32(type, a, f) { a, false, offsetof(struct type, f) }
#define U64(type, a, f) { a, true, offsetof(struct type, f) }

static const struct field status_fields[] = {
	U32(client_status, SNAPFREEZE_A_STATE, state),
	U32(client_status, SNAPFREEZE_A_TIMEOUT_MS, timeout_ms),
	U32(client_status, SNAPFREEZE_A_REMAINING_MS, remaining_ms),
	U32(client_status, SNAPFREEZE_A_THAW_REASON, thaw_reason),
	U64(client_status, SNAPFREEZE_A_FROZEN_SINCE, frozen_since_ns),
	U64(client_status, SNAPFREEZE_A_THAWED_AT, thawed_at_ns),
	U64(client_status, SNAPFREEZE_A_FLUSH_NS, flush_ns),
	U64(client_status, SNAPFREEZE_A_FREEZE_NS, freeze_ns),
	U64(client_status, SNAPFREEZE_A_FREEZES, freezes),
	U64(client_status, SNAPFREEZE_A_THAWS, thaws),
	U64(client_status, SNAPFREEZE_A_AUTO_THAWS, auto_thaws),
	U64(client_status, SNAPFREEZE_A_FAILURES, failures),
	U32(client_status, SNAPFREEZE_A_HELD_BY_OTHER, held_by_other),
	U64(client_status, SNAPFREEZE_A_SKEW_NS, skew_ns),
};

static const struct field target_fields[] = {
	U32(client_target, SNAPFREEZE_TARGET_A_MAJOR, major),
	U32(client_target, SNAPFREEZE_TARGET_A_MINOR, minor),
	U32(client_target, SNAPFREEZE_TARGET_A_STATE, state),
	U64(client_target, SNAPFREEZE_TARGET_A_FLUSH_NS, flush_ns),
	U64(client_target, SNAPFREEZE_TARGET_A_FREEZE_NS, freeze_ns),
	U64(client_target, SNAPFREEZE_TARGET_A_FROZEN_AT_NS, frozen_at_ns),
};

static const struct field event_fields[] = {
	U32(client_event, SNAPFREEZE_A_EVENT, event),
	U32(client_event, SNAPFREEZE_A_THAW_REASON, thaw_reason),
	U32(client_event, SNAPFREEZE_A_ERRNO, err),
	U32(client_event, SNAPFREEZE_A_HELD_BY_OTHER, held_by_other),
};

static void get_fields(struct nlattr **tb, const struct field *f, size_t n,
		       void *dst)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct nlattr *a = tb[f[i].attr];

		if (!a)
			continue;
		if (f[i].u64)
			*(uint64_t *)((char *)dst + f[i].offset) = nla_get_u64(a);
		else
			*(uint32_t *)((char *)dst + f[i].offset) = nla_get_u32(a);
	}
}

static int parse_target(struct nlattr *nest, struct client_target *t)
{
	struct nlattr *tb[SNAPFREEZE_TARGET_A_MAX + 1];
	int ret;

	ret = nla_parse_nested(tb, SNAPFREEZE_TARGET_A_MAX, nest,
			       target_policy);
	if (ret < 0 || !tb[SNAPFREEZE_TARGET_A_PATH])
		return -EBADMSG;
	t->path = strdup(nla_get_string(tb[SNAPFREEZE_TARGET_A_PATH]));
	if (!t->path)
		return -ENOMEM;
	copy_string(t->fstype, sizeof(t->fstype), tb[SNAPFREEZE_TARGET_A_FSTYPE]);
	copy_string(t->sb_id, sizeof(t->sb_id), tb[SNAPFREEZE_TARGET_A_SB_ID]);
	get_fields(tb, target_fields, ARRAY_SIZE(target_fields), t);
	t->has_state = tb[SNAPFREEZE_TARGET_A_STATE];
	t->has_timings = tb[SNAPFREEZE_TARGET_A_FLUSH_NS] ||
			 tb[SNAPFREEZE_TARGET_A_FREEZE_NS] ||
			 tb[SNAPFREEZE_TARGET_A_FROZEN_AT_NS];
	return 0;
}

int client_parse_status(struct nl_msg *msg, struct client_status *st)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[SNAPFREEZE_A_MAX + 1];
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *a;
	int rem, ret;

	ret = genlmsg_parse(nlh, 0, tb, SNAPFREEZE_A_MAX, status_policy);
	if (ret < 0)
		return -EBADMSG;
	client_status_free(st);
	memset(st, 0, sizeof(*st));
	get_fields(tb, status_fields, ARRAY_SIZE(status_fields), st);
	copy_string(st->exec_id, sizeof(st->exec_id), tb[SNAPFREEZE_A_EXEC_ID]);
	copy_string(st->last_error, sizeof(st->last_error),
		    tb[SNAPFREEZE_A_LAST_ERROR]);
	st->has_held_by_other = tb[SNAPFREEZE_A_HELD_BY_OTHER];
	st->has_skew = tb[SNAPFREEZE_A_SKEW_NS];

	/* The repeated targets: genlmsg_parse() kept only the last one. */
	nla_for_each_attr(a, genlmsg_attrdata(gnlh, 0), genlmsg_attrlen(gnlh, 0),
			  rem) {
		if (nla_type(a) != SNAPFREEZE_A_TARGET ||
		    st->nr_targets == SNAPFREEZE_MAX_TARGETS)
			continue;
		ret = parse_target(a, &st->targets[st->nr_targets]);
		if (ret)
			return ret;
		st->nr_targets++;
	}
	return 0;
}

void client_status_free(struct client_status *st)
{
	unsigned int i;

	for (i = 0; i < st->nr_targets; i++)
		free(st->targets[i].path);
	st->nr_targets = 0;
}

static int parse_event(struct nl_msg *msg, struct client_event *ev)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *tb[SNAPFREEZE_A_MAX + 1];

	if (gnlh->cmd != SNAPFREEZE_CMD_EVENT ||
	    genlmsg_parse(nlh, 0, tb, SNAPFREEZE_A_MAX, status_policy) < 0)
		return -EBADMSG;
	memset(ev, 0, sizeof(*ev));
	get_fields(tb, event_fields, ARRAY_SIZE(event_fields), ev);
	copy_string(ev->exec_id, sizeof(ev->exec_id), tb[SNAPFREEZE_A_EXEC_ID]);
	return 0;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;
	struct client_event ev;
	int ret;

	if (!req->event_fn) {
		ret = client_parse_status(msg, req->st);
		if (ret)
			req->parse_err = ret;
		return NL_OK;
	}
	/* Anything but a well-formed event is not for us. */
	if (parse_event(msg, &ev) || !req->event_fn(&ev, req->event_arg))
		return NL_OK;
	req->done = true;
	return NL_STOP;
}

/* The extack TLVs follow the error header, and the request unless capped. */
static void parse_extack(struct nlmsgerr *e, struct request *req)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	char *tlvs;
	int len;
	unsigned int i;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	tlvs = (char *)&e->msg + (nlh->nlmsg_flags & NLM_F_CAPPED ?
				  sizeof(e->msg) : NLMSG_ALIGN(e->msg.nlmsg_len));
	len = (char *)nlh + nlh->nlmsg_len - tlvs;
	if (len <= 0 || nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)tlvs,
				  len, NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		copy_string(req->err->msg, sizeof(req->err->msg),
			    tb[NLMSGERR_ATTR_MSG]);
	if (tb[NLMSGERR_ATTR_OFFS]) {
		uint32_t off = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);

		for (i = 0; i < req->nr_targets; i++)
			if (req->target_offs[i] == off)
				req->err->target = i;
	}
}

static int error_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct request *req = arg;

	(void)who;
	req->err->err = e->error;
	parse_extack(e, req);
	req->done = true;
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;

	(void)msg;
	req->done = true;
	return NL_STOP;
}

static int resolve(struct client *c)
{
	c->family = genl_ctrl_resolve(c->sk, SNAPFREEZE_GENL_NAME);
	return c->family < 0 ? -ENOENT : 0;
}

/*
 * modprobe snapfreeze, quietly (the caller explains a failure), and only
 * when the kernel's own autoload on the family lookup did not load it.
 * A program rather than libkmod: libkmod brings libcrypto, liblzma and
 * libzstd into every start of the helper, for a path almost never taken.
 */
static void load_module(void)
{
	static const char *const progs[] = {
		"modprobe", "/usr/sbin/modprobe", "/sbin/modprobe",
	};
	char *argv[] = { "modprobe", "-q", "snapfreeze", NULL };
	posix_spawn_file_actions_t fa;
	unsigned int i;
	int ret = ENOENT, status;
	pid_t pid;

	if (posix_spawn_file_actions_init(&fa))
		return;
	if (posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
					     O_RDONLY, 0) ||
	    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
					     O_WRONLY, 0) ||
	    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
					     O_WRONLY, 0))
		goto out;
	/* $PATH first; the scheduler's may lack the sbin directories. */
	for (i = 0; i < ARRAY_SIZE(progs) && ret == ENOENT; i++)
		ret = posix_spawnp(&pid, progs[i], &fa, NULL, argv, environ);
	if (!ret)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
out:
	posix_spawn_file_actions_destroy(&fa);
}

int client_open(struct client **cp)
{
	struct client *c;
	int one = 1;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sk = nl_socket_alloc();
	if (!c->sk) {
		ret = -ENOMEM;
		goto err_free;
	}
	if (genl_connect(c->sk)) {
		ret = -ECONNREFUSED;
		goto err_sock;
	}
	/* Ask for the kernel's own words on errors. */
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	nl_socket_set_msg_buf_size(c->sk, 1 << 20);
	/* The family lookup itself asks the kernel to load the module. */
	ret = resolve(c);
	if (ret) {
		load_module();
		ret = resolve(c);
	}
	if (ret)
		goto err_sock;
	*cp = c;
	return 0;

err_sock:
	nl_socket_free(c->sk);
err_free:
	free(c);
	return ret;
}

void client_close(struct client *c)
{
	if (!c)
		return;
	nl_socket_free(c->sk);
	free(c);
}

static int transact(struct client *c, struct nl_msg *msg, struct request *req)
{
	int ret;

	req->err->err = 0;
	req->err->msg[0] = '\0';
	req->err->target = -1;
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, req);
	nl_socket_modify_cb(c->sk, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, req);
	nl_socket_modify_err_cb(c->sk, NL_CB_CUSTOM, error_cb, req);
	ret = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return -EIO;
	while (!req->done) {
		ret = nl_recvmsgs_default(c->sk);
		if (ret < 0 && !req->done)
			return -EIO;
	}
	if (req->err->err)
		return req->err->err;
	return req->parse_err;
}

static struct nl_msg *new_msg(struct client *c, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc_size(1 << 20);

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0,
				0, cmd, SNAPFREEZE_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

int client_freeze_set(struct client *c, const struct client_freeze_args *a,
		      struct client_status *st, struct client_error *err)
{
	struct request req = { .st = st, .err = err };
	struct nl_msg *msg;
	struct nlattr *nest;
	unsigned int i;

	msg = new_msg(c, SNAPFREEZE_CMD_FREEZE);
	if (!msg)
		return -ENOMEM;
	for (i = 0; i < a->n && i < SNAPFREEZE_MAX_TARGETS; i++) {
		nest = nla_nest_start(msg, SNAPFREEZE_A_TARGET | NLA_F_NESTED);
		if (!nest ||
		    nla_put_string(msg, SNAPFREEZE_TARGET_A_PATH, a->paths[i]) ||
		    (a->levels && nla_put_u32(msg, SNAPFREEZE_TARGET_A_LEVEL,
					      a->levels[i])))
			goto err_msg;
		nla_nest_end(msg, nest);
		req.target_offs[i] = (char *)nest - (char *)nlmsg_hdr(msg);
	}
	req.nr_targets = i;
	if (nla_put_string(msg, SNAPFREEZE_A_EXEC_ID, a->exec_id) ||
	    nla_put_u32(msg, SNAPFREEZE_A_TIMEOUT_MS, a->timeout_ms) ||
	    (a->budget_ms &&
	     nla_put_u32(msg, SNAPFREEZE_A_BUDGET_MS, a->budget_ms)) ||
	    (a->flags && nla_put_u32(msg, SNAPFREEZE_A_FLAGS, a->flags)))
		goto err_msg;
	return transact(c, msg, &req);

err_msg:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

int client_freeze(struct client *c, const char *exec_id, uint32_t timeout_ms,
		  const char *const *paths, unsigned int n, uint32_t flags,
		  struct client_status *st, struct client_error *err)
{
	const struct client_freeze_args a = {
		.exec_id = exec_id, .timeout_ms = timeout_ms, .paths = paths,
		.n = n, .flags = flags,
	};

	return client_freeze_set(c, &a, st, err);
}

/* The words of lib/nlattr.c for an attribute above the policy's maximum. */
bool client_unknown_attr(const struct client_error *err)
{
	return err->err == -EINVAL &&
	       !strcmp(err->msg, "Unknown attribute type");
}

int client_thaw(struct client *c, const char *exec_id, uint32_t flags,
		struct client_status *st, struct client_error *err)
{
	struct request req = { .st = st, .err = err };
	struct nl_msg *msg;

	msg = new_msg(c, SNAPFREEZE_CMD_THAW);
	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, SNAPFREEZE_A_EXEC_ID, exec_id) ||
	    (flags && nla_put_u32(msg, SNAPFREEZE_A_FLAGS, flags))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return transact(c, msg, &req);
}

int client_get(struct client *c, struct client_status *st,
	       struct client_error *err)
{
	struct request req = { .st = st, .err = err };
	struct nl_msg *msg;

	msg = new_msg(c, SNAPFREEZE_CMD_GET);
	if (!msg)
		return -ENOMEM;
	return transact(c, msg, &req);
}

int client_monitor(struct client *c,
		   int (*fn)(const struct client_event *ev, void *arg),
		   void *arg)
{
	struct client_error err;
	struct request req = { .err = &err, .event_fn = fn, .event_arg = arg };
	int grp, ret;

	grp = genl_ctrl_resolve_grp(c->sk, SNAPFREEZE_GENL_NAME,
				    SNAPFREEZE_MCGRP_EVENTS);
	if (grp < 0)
		return -ENOENT;
	if (nl_socket_add_membership(c->sk, grp))
		return -EPERM;
	nl_socket_disable_seq_check(c->sk);
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &req);
	while (!req.done) {
		ret = nl_recvmsgs_default(c->sk);
		if (ret < 0 && ret != -NLE_INTR)
			return -EIO;
	}
	return 0;
}
