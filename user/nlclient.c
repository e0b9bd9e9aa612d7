// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libkmod.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "nlclient.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct sf_nl {
	struct nl_sock *sk;
	int family;
};

/* One request's state, shared with the callbacks. */
struct request {
	struct sf_nl_status *st;
	struct sf_nl_error *err;
	uint32_t target_offs[SNAPFREEZE_MAX_TARGETS];
	unsigned int nr_targets;
	bool done;
	int parse_err;
	int (*event_fn)(const struct sf_nl_status *ev, void *arg);
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

static const char *const state_names[] = {
	[SNAPFREEZE_STATE_IDLE] = "idle",
	[SNAPFREEZE_STATE_FREEZING] = "freezing",
	[SNAPFREEZE_STATE_FROZEN] = "frozen",
	[SNAPFREEZE_STATE_AUTO_THAWED] = "auto-thawed",
};

static const char *const reason_names[] = {
	[SNAPFREEZE_THAW_NONE] = "none",
	[SNAPFREEZE_THAW_REQUEST] = "request",
	[SNAPFREEZE_THAW_DEADLINE] = "deadline",
	[SNAPFREEZE_THAW_EMERGENCY] = "emergency",
	[SNAPFREEZE_THAW_SHUTDOWN] = "shutdown",
};

static const char *const event_names[] = {
	[SNAPFREEZE_EVENT_FROZEN] = "frozen",
	[SNAPFREEZE_EVENT_THAWED] = "thawed",
	[SNAPFREEZE_EVENT_AUTO_THAWED] = "auto-thawed",
	[SNAPFREEZE_EVENT_FAILED] = "failed",
};

static const char *const target_state_names[] = {
	[SNAPFREEZE_TARGET_STATE_RESOLVED] = "resolved",
	[SNAPFREEZE_TARGET_STATE_FROZEN] = "frozen",
	[SNAPFREEZE_TARGET_STATE_THAWED] = "thawed",
	[SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER] = "held-by-other",
	[SNAPFREEZE_TARGET_STATE_THAW_FAILED] = "thaw-failed",
};

#define NAME_OF(table, i)						\
	((i) < sizeof(table) / sizeof(table[0]) && (table)[i] ? (table)[i] : "unknown")

const char *sf_nl_state_name(uint32_t state)
{
	return NAME_OF(state_names, state);
}

const char *sf_nl_reason_name(uint32_t reason)
{
	return NAME_OF(reason_names, reason);
}

const char *sf_nl_event_name(uint32_t event)
{
	return NAME_OF(event_names, event);
}

const char *sf_nl_target_state_name(uint32_t state)
{
	return NAME_OF(target_state_names, state);
}

static void copy_string(char *dst, size_t size, struct nlattr *a)
{
	snprintf(dst, size, "%s", a ? nla_get_string(a) : "");
}

#define GET_U32(tb, a, dst) do { if ((tb)[a]) (dst) = nla_get_u32((tb)[a]); } while (0)
#define GET_U64(tb, a, dst) do { if ((tb)[a]) (dst) = nla_get_u64((tb)[a]); } while (0)

static int parse_target(struct nlattr *nest, struct sf_nl_target *t)
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
	GET_U32(tb, SNAPFREEZE_TARGET_A_MAJOR, t->major);
	GET_U32(tb, SNAPFREEZE_TARGET_A_MINOR, t->minor);
	t->has_state = tb[SNAPFREEZE_TARGET_A_STATE];
	GET_U32(tb, SNAPFREEZE_TARGET_A_STATE, t->state);
	t->has_timings = tb[SNAPFREEZE_TARGET_A_FLUSH_NS] ||
			 tb[SNAPFREEZE_TARGET_A_FREEZE_NS] ||
			 tb[SNAPFREEZE_TARGET_A_FROZEN_AT_NS];
	GET_U64(tb, SNAPFREEZE_TARGET_A_FLUSH_NS, t->flush_ns);
	GET_U64(tb, SNAPFREEZE_TARGET_A_FREEZE_NS, t->freeze_ns);
	GET_U64(tb, SNAPFREEZE_TARGET_A_FROZEN_AT_NS, t->frozen_at_ns);
	return 0;
}

int sf_nl_parse_status(struct nl_msg *msg, struct sf_nl_status *st)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[SNAPFREEZE_A_MAX + 1];
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *a;
	int rem, ret;

	ret = genlmsg_parse(nlh, 0, tb, SNAPFREEZE_A_MAX, status_policy);
	if (ret < 0)
		return -EBADMSG;
	sf_nl_status_free(st);
	memset(st, 0, sizeof(*st));
	st->cmd = gnlh->cmd;
	GET_U32(tb, SNAPFREEZE_A_STATE, st->state);
	copy_string(st->exec_id, sizeof(st->exec_id), tb[SNAPFREEZE_A_EXEC_ID]);
	GET_U32(tb, SNAPFREEZE_A_TIMEOUT_MS, st->timeout_ms);
	GET_U32(tb, SNAPFREEZE_A_REMAINING_MS, st->remaining_ms);
	GET_U32(tb, SNAPFREEZE_A_THAW_REASON, st->thaw_reason);
	GET_U64(tb, SNAPFREEZE_A_FROZEN_SINCE, st->frozen_since_ns);
	GET_U64(tb, SNAPFREEZE_A_THAWED_AT, st->thawed_at_ns);
	GET_U64(tb, SNAPFREEZE_A_FLUSH_NS, st->flush_ns);
	GET_U64(tb, SNAPFREEZE_A_FREEZE_NS, st->freeze_ns);
	GET_U64(tb, SNAPFREEZE_A_FREEZES, st->freezes);
	GET_U64(tb, SNAPFREEZE_A_THAWS, st->thaws);
	GET_U64(tb, SNAPFREEZE_A_AUTO_THAWS, st->auto_thaws);
	GET_U64(tb, SNAPFREEZE_A_FAILURES, st->failures);
	GET_U32(tb, SNAPFREEZE_A_EVENT, st->event);
	GET_U32(tb, SNAPFREEZE_A_ERRNO, st->err);
	st->has_held_by_other = tb[SNAPFREEZE_A_HELD_BY_OTHER];
	GET_U32(tb, SNAPFREEZE_A_HELD_BY_OTHER, st->held_by_other);
	st->has_skew = tb[SNAPFREEZE_A_SKEW_NS];
	GET_U64(tb, SNAPFREEZE_A_SKEW_NS, st->skew_ns);
	copy_string(st->last_error, sizeof(st->last_error),
		    tb[SNAPFREEZE_A_LAST_ERROR]);

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

void sf_nl_status_free(struct sf_nl_status *st)
{
	unsigned int i;

	for (i = 0; i < st->nr_targets; i++)
		free(st->targets[i].path);
	st->nr_targets = 0;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;
	int ret;

	if (req->event_fn) {
		struct sf_nl_status ev = { 0 };

		ret = sf_nl_parse_status(msg, &ev);
		if (!ret && ((struct genlmsghdr *)nlmsg_data(nlmsg_hdr(msg)))->cmd ==
			    SNAPFREEZE_CMD_EVENT)
			ret = req->event_fn(&ev, req->event_arg);
		sf_nl_status_free(&ev);
		if (ret) {
			req->done = true;
			return NL_STOP;
		}
		return NL_OK;
	}
	ret = sf_nl_parse_status(msg, req->st);
	if (ret)
		req->parse_err = ret;
	return NL_OK;
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

static int resolve(struct sf_nl *nl)
{
	nl->family = genl_ctrl_resolve(nl->sk, SNAPFREEZE_GENL_NAME);
	return nl->family < 0 ? -ENOENT : 0;
}

/* libkmod's own complaints would go to stderr; open_family() explains. */
static void kmod_quiet(void *data, int priority, const char *file, int line,
		       const char *fn, const char *format, va_list args)
{
	(void)data, (void)priority, (void)file, (void)line, (void)fn;
	(void)format, (void)args;
}

/* modprobe snapfreeze, through libkmod. */
static void load_module(void)
{
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;

	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return;
	kmod_set_log_fn(ctx, kmod_quiet, NULL);
	if (!kmod_module_new_from_name(ctx, "snapfreeze", &mod)) {
		kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
		kmod_module_unref(mod);
	}
	kmod_unref(ctx);
}

int sf_nl_open(struct sf_nl **nlp)
{
	struct sf_nl *nl;
	int one = 1;
	int ret;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		ret = -ENOMEM;
		goto err_free;
	}
	if (genl_connect(nl->sk)) {
		ret = -ECONNREFUSED;
		goto err_sock;
	}
	/* Ask for the kernel's own words on errors. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	nl_socket_set_msg_buf_size(nl->sk, 1 << 20);
	/* The family lookup itself asks the kernel to load the module. */
	ret = resolve(nl);
	if (ret) {
		load_module();
		ret = resolve(nl);
	}
	if (ret)
		goto err_sock;
	*nlp = nl;
	return 0;

err_sock:
	nl_socket_free(nl->sk);
err_free:
	free(nl);
	return ret;
}

void sf_nl_close(struct sf_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

static int transact(struct sf_nl *nl, struct nl_msg *msg, struct request *req)
{
	int ret;

	req->err->err = 0;
	req->err->msg[0] = '\0';
	req->err->target = -1;
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, req);
	nl_socket_modify_cb(nl->sk, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, req);
	nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, error_cb, req);
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return -EIO;
	while (!req->done) {
		ret = nl_recvmsgs_default(nl->sk);
		if (ret < 0 && !req->done)
			return -EIO;
	}
	if (req->err->err)
		return req->err->err;
	return req->parse_err;
}

static struct nl_msg *new_msg(struct sf_nl *nl, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc_size(1 << 20);

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
				0, cmd, SNAPFREEZE_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

int sf_nl_freeze(struct sf_nl *nl, const char *exec_id, uint32_t timeout_ms,
		 const char *const *paths, unsigned int n, uint32_t flags,
		 struct sf_nl_status *st, struct sf_nl_error *err)
{
	struct request req = { .st = st, .err = err };
	struct nl_msg *msg;
	struct nlattr *nest;
	unsigned int i;

	msg = new_msg(nl, SNAPFREEZE_CMD_FREEZE);
	if (!msg)
		return -ENOMEM;
	for (i = 0; i < n && i < SNAPFREEZE_MAX_TARGETS; i++) {
		nest = nla_nest_start(msg, SNAPFREEZE_A_TARGET | NLA_F_NESTED);
		if (!nest || nla_put_string(msg, SNAPFREEZE_TARGET_A_PATH, paths[i]))
			goto err_msg;
		nla_nest_end(msg, nest);
		req.target_offs[i] = (char *)nest - (char *)nlmsg_hdr(msg);
	}
	req.nr_targets = i;
	if (nla_put_string(msg, SNAPFREEZE_A_EXEC_ID, exec_id) ||
	    nla_put_u32(msg, SNAPFREEZE_A_TIMEOUT_MS, timeout_ms) ||
	    (flags && nla_put_u32(msg, SNAPFREEZE_A_FLAGS, flags)))
		goto err_msg;
	return transact(nl, msg, &req);

err_msg:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

int sf_nl_thaw(struct sf_nl *nl, const char *exec_id, uint32_t flags,
	       struct sf_nl_status *st, struct sf_nl_error *err)
{
	struct request req = { .st = st, .err = err };
	struct nl_msg *msg;

	msg = new_msg(nl, SNAPFREEZE_CMD_THAW);
	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, SNAPFREEZE_A_EXEC_ID, exec_id) ||
	    (flags && nla_put_u32(msg, SNAPFREEZE_A_FLAGS, flags))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return transact(nl, msg, &req);
}

int sf_nl_get(struct sf_nl *nl, struct sf_nl_status *st,
	      struct sf_nl_error *err)
{
	struct request req = { .st = st, .err = err };
	struct nl_msg *msg;

	msg = new_msg(nl, SNAPFREEZE_CMD_GET);
	if (!msg)
		return -ENOMEM;
	return transact(nl, msg, &req);
}

int sf_nl_monitor(struct sf_nl *nl,
		  int (*fn)(const struct sf_nl_status *ev, void *arg),
		  void *arg)
{
	struct sf_nl_error err;
	struct request req = { .err = &err, .event_fn = fn, .event_arg = arg };
	int grp, ret;

	grp = genl_ctrl_resolve_grp(nl->sk, SNAPFREEZE_GENL_NAME,
				    SNAPFREEZE_MCGRP_EVENTS);
	if (grp < 0)
		return -ENOENT;
	if (nl_socket_add_membership(nl->sk, grp))
		return -EPERM;
	nl_socket_disable_seq_check(nl->sk);
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &req);
	while (!req.done) {
		ret = nl_recvmsgs_default(nl->sk);
		if (ret < 0 && ret != -NLE_INTR)
			return -EIO;
	}
	return 0;
}
