// SPDX-License-Identifier: GPL-2.0
/* libmnl client for the snapfreeze tests; see nl.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "nl.h"

static void copy_str(char *dst, size_t size, const struct nlattr *attr)
{
	size_t len = mnl_attr_get_payload_len(attr);
	const char *s = mnl_attr_get_str(attr);

	if (len && s[len - 1] == '\0')
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* ---- family resolution ---------------------------------------------- */

struct family_info {
	uint16_t id;
	uint32_t group;
	char grp_name[64];
	uint32_t grp_id;
};

static int mcgrp_attr_cb(const struct nlattr *attr, void *data)
{
	struct family_info *fi = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_MCAST_GRP_NAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		copy_str(fi->grp_name, sizeof(fi->grp_name), attr);
		break;
	case CTRL_ATTR_MCAST_GRP_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		fi->grp_id = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static int mcgrps_cb(const struct nlattr *attr, void *data)
{
	struct family_info *fi = data;

	if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
		return MNL_CB_ERROR;
	fi->grp_name[0] = '\0';
	fi->grp_id = 0;
	if (mnl_attr_parse_nested(attr, mcgrp_attr_cb, fi) < 0)
		return MNL_CB_ERROR;
	if (!strcmp(fi->grp_name, SNAPFREEZE_MCGRP_EVENTS))
		fi->group = fi->grp_id;
	return MNL_CB_OK;
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	struct family_info *fi = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return MNL_CB_ERROR;
		fi->id = mnl_attr_get_u16(attr);
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		if (mnl_attr_parse_nested(attr, mcgrps_cb, fi) < 0)
			return MNL_CB_ERROR;
		break;
	}
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb,
			      data);
}

/* ---- acks and extack ------------------------------------------------- */

struct recv_ctx {
	struct nlt_result *res;
	struct nlt_status *ev;		/* event mode: parse into this */
	bool got_event;
	bool acked;
	int (*data_cb)(const struct nlmsghdr *nlh, void *data);
	void *data;
};

static int extack_attr_cb(const struct nlattr *attr, void *data)
{
	struct nlt_result *res = data;

	switch (mnl_attr_get_type(attr)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		copy_str(res->msg, sizeof(res->msg), attr);
		break;
	case NLMSGERR_ATTR_OFFS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		res->has_offset = true;
		res->offset = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct recv_ctx *ctx = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	unsigned int off = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	ctx->acked = true;
	ctx->res->error = -e->error;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* The request is echoed unless capped; the TLVs follow it. */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_attr_parse(nlh, off, extack_attr_cb, ctx->res) < 0)
			return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = noop_cb,
	[NLMSG_ERROR] = error_cb,
	[NLMSG_DONE] = done_cb,
	[NLMSG_OVERRUN] = noop_cb,
};

static int data_dispatch(const struct nlmsghdr *nlh, void *data)
{
	struct recv_ctx *ctx = data;

	return ctx->data_cb(nlh, ctx->data);
}

/* Send @nlh and run callbacks until the ack: 0 or -errno of the I/O. */
static int transact(struct nlt *nl, struct nlmsghdr *nlh,
		    struct recv_ctx *ctx)
{
	char *buf;
	int ret;

	buf = malloc(SF_RECV_SIZE);
	if (!buf)
		return -ENOMEM;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(nl->sock, buf, SF_RECV_SIZE);

		if (len < 0) {
			ret = -errno;
			goto out;
		}
		ret = mnl_cb_run2(buf, len, nlh->nlmsg_seq, nl->portid,
				  data_dispatch, ctx, ctl_cbs,
				  MNL_ARRAY_SIZE(ctl_cbs));
		if (ret < 0) {
			ret = -errno;
			goto out;
		}
		if (ctx->acked || ret == MNL_CB_STOP)
			break;
	}
	ret = ctx->acked ? 0 : -EPROTO;
out:
	free(buf);
	return ret;
}

/* ---- open/close ------------------------------------------------------ */

struct nlt *nlt_open(void)
{
	char buf[SF_MSG_SIZE];
	struct family_info fi = { 0 };
	struct nlt_result res;
	struct recv_ctx ctx = { .res = &res, .data_cb = family_cb, .data = &fi };
	struct genlmsghdr *genl;
	struct nlmsghdr *nlh;
	struct nlt *nl;
	int one = 1, ret;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock)
		goto err_free;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto err_close;
	if (mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one,
				  sizeof(one)) < 0)
		goto err_close;
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);

	memset(&res, 0, sizeof(res));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = CTRL_CMD_GETFAMILY;
	genl->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, SNAPFREEZE_GENL_NAME);
	ret = transact(nl, nlh, &ctx);
	if (ret < 0) {
		errno = -ret;
		goto err_close;
	}
	if (res.error || !fi.id) {
		errno = res.error ? res.error : ENOENT;
		goto err_close;
	}
	nl->family = fi.id;
	nl->events_group = fi.group;
	return nl;

err_close:
	ret = errno;
	mnl_socket_close(nl->sock);
	errno = ret;
err_free:
	ret = errno;
	free(nl);
	errno = ret;
	return NULL;
}

void nlt_close(struct nlt *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

int nlt_join_events(struct nlt *nl)
{
	int grp = (int)nl->events_group;

	if (!grp)
		return -ENOENT;
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0)
		return -errno;
	return 0;
}

/* ---- building requests ----------------------------------------------- */

struct nlmsghdr *nlt_msg_new(struct nlt *nl, void *buf, uint8_t cmd)
{
	struct genlmsghdr *genl;
	struct nlmsghdr *nlh;

	memset(buf, 0, SF_MSG_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = nl->family;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = SNAPFREEZE_GENL_VERSION;
	return nlh;
}

uint32_t nlt_attr_offset(const struct nlmsghdr *nlh, const void *attr)
{
	return (uint32_t)((const char *)attr - (const char *)nlh);
}

uint32_t nlt_put_target(struct nlmsghdr *nlh, const char *path)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, SNAPFREEZE_A_TARGET);

	mnl_attr_put_strz(nlh, SNAPFREEZE_TARGET_A_PATH, path);
	mnl_attr_nest_end(nlh, nest);
	return nlt_attr_offset(nlh, nest);
}

uint32_t nlt_put_raw(struct nlmsghdr *nlh, uint16_t type, const void *data,
		    size_t len)
{
	struct nlattr *attr = mnl_nlmsg_get_payload_tail(nlh);

	mnl_attr_put(nlh, type, len, data);
	return nlt_attr_offset(nlh, attr);
}

/* ---- parsing replies and events --------------------------------------- */

static bool target_u64(const struct nlattr *attr, struct nlt_target *t,
		       uint64_t *val)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
		return false;
	t->has_timings = true;
	*val = mnl_attr_get_u64(attr);
	return true;
}

static int target_attr_cb(const struct nlattr *attr, void *data)
{
	struct nlt_status *st = data;
	struct nlt_target *t = &st->targets[st->ntargets];

	switch (mnl_attr_get_type(attr)) {
	case SNAPFREEZE_TARGET_A_PATH:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			goto bad;
		copy_str(t->path, sizeof(t->path), attr);
		break;
	case SNAPFREEZE_TARGET_A_FSTYPE:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			goto bad;
		copy_str(t->fstype, sizeof(t->fstype), attr);
		break;
	case SNAPFREEZE_TARGET_A_SB_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			goto bad;
		copy_str(t->sb_id, sizeof(t->sb_id), attr);
		break;
	case SNAPFREEZE_TARGET_A_MAJOR:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			goto bad;
		t->has_major = true;
		t->major = mnl_attr_get_u32(attr);
		break;
	case SNAPFREEZE_TARGET_A_MINOR:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			goto bad;
		t->has_minor = true;
		t->minor = mnl_attr_get_u32(attr);
		break;
	case SNAPFREEZE_TARGET_A_STATE:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			goto bad;
		t->has_state = true;
		t->state = mnl_attr_get_u32(attr);
		break;
	case SNAPFREEZE_TARGET_A_FLUSH_NS:
		if (!target_u64(attr, t, &t->flush_ns))
			goto bad;
		break;
	case SNAPFREEZE_TARGET_A_FREEZE_NS:
		if (!target_u64(attr, t, &t->freeze_ns))
			goto bad;
		break;
	case SNAPFREEZE_TARGET_A_FROZEN_AT_NS:
		if (!target_u64(attr, t, &t->frozen_at_ns))
			goto bad;
		break;
	}
	return MNL_CB_OK;
bad:
	st->malformed = true;
	return MNL_CB_OK;
}

static bool get_u32(const struct nlattr *attr, struct nlt_status *st,
		    bool *has, uint32_t *val)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) {
		st->malformed = true;
		return false;
	}
	*has = true;
	*val = mnl_attr_get_u32(attr);
	return true;
}

static bool get_u64(const struct nlattr *attr, struct nlt_status *st,
		    bool *has, uint64_t *val)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0) {
		st->malformed = true;
		return false;
	}
	*has = true;
	*val = mnl_attr_get_u64(attr);
	return true;
}

static int status_attr_cb(const struct nlattr *attr, void *data)
{
	struct nlt_status *st = data;
	bool dummy;

	/* Unknown attributes are ignored: forward compatibility. */
	if (mnl_attr_type_valid(attr, SNAPFREEZE_A_MAX) < 0)
		return MNL_CB_OK;

	switch (mnl_attr_get_type(attr)) {
	case SNAPFREEZE_A_TARGET:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0) {
			st->malformed = true;
			break;
		}
		if (st->ntargets >= SNAPFREEZE_MAX_TARGETS) {
			st->malformed = true;
			break;
		}
		memset(&st->targets[st->ntargets], 0,
		       sizeof(st->targets[0]));
		if (mnl_attr_parse_nested(attr, target_attr_cb, st) < 0)
			st->malformed = true;
		st->ntargets++;
		break;
	case SNAPFREEZE_A_EXEC_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) {
			st->malformed = true;
			break;
		}
		st->has_exec_id = true;
		copy_str(st->exec_id, sizeof(st->exec_id), attr);
		break;
	case SNAPFREEZE_A_LAST_ERROR:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) {
			st->malformed = true;
			break;
		}
		st->has_last_error = true;
		copy_str(st->last_error, sizeof(st->last_error), attr);
		break;
	case SNAPFREEZE_A_STATE:
		get_u32(attr, st, &st->has_state, &st->state);
		break;
	case SNAPFREEZE_A_TIMEOUT_MS:
		get_u32(attr, st, &st->has_timeout, &st->timeout_ms);
		break;
	case SNAPFREEZE_A_REMAINING_MS:
		get_u32(attr, st, &st->has_remaining, &st->remaining_ms);
		break;
	case SNAPFREEZE_A_THAW_REASON:
		get_u32(attr, st, &st->has_thaw_reason, &st->thaw_reason);
		break;
	case SNAPFREEZE_A_EVENT:
		get_u32(attr, st, &st->has_event, &st->event);
		break;
	case SNAPFREEZE_A_ERRNO:
		get_u32(attr, st, &st->has_errno, &st->err);
		break;
	case SNAPFREEZE_A_FROZEN_SINCE:
		get_u64(attr, st, &st->has_frozen_since, &st->frozen_since);
		break;
	case SNAPFREEZE_A_THAWED_AT:
		get_u64(attr, st, &st->has_thawed_at, &st->thawed_at);
		break;
	case SNAPFREEZE_A_FLUSH_NS:
		get_u64(attr, st, &st->has_flush_ns, &st->flush_ns);
		break;
	case SNAPFREEZE_A_FREEZE_NS:
		get_u64(attr, st, &st->has_freeze_ns, &st->freeze_ns);
		break;
	case SNAPFREEZE_A_SKEW_NS:
		get_u64(attr, st, &st->has_skew_ns, &st->skew_ns);
		break;
	case SNAPFREEZE_A_HELD_BY_OTHER:
		get_u32(attr, st, &st->has_held_by_other, &st->held_by_other);
		break;
	case SNAPFREEZE_A_FOUND_STATE:
		get_u32(attr, st, &st->has_found_state, &st->found_state);
		break;
	case SNAPFREEZE_A_FREEZES:
		get_u64(attr, st, &st->has_counters, &st->freezes);
		break;
	case SNAPFREEZE_A_THAWS:
		get_u64(attr, st, &dummy, &st->thaws);
		break;
	case SNAPFREEZE_A_AUTO_THAWS:
		get_u64(attr, st, &dummy, &st->auto_thaws);
		break;
	case SNAPFREEZE_A_FAILURES:
		get_u64(attr, st, &dummy, &st->failures);
		break;
	}
	return MNL_CB_OK;
}

static int parse_status(const struct nlmsghdr *nlh, struct nlt_status *st)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);

	memset(st, 0, sizeof(*st));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*genl))) {
		st->malformed = true;
		return MNL_CB_OK;
	}
	st->cmd = genl->cmd;
	if (mnl_attr_parse(nlh, sizeof(*genl), status_attr_cb, st) < 0)
		st->malformed = true;
	return MNL_CB_OK;
}

static int reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlt_result *res = data;

	res->has_reply = true;
	return parse_status(nlh, &res->st);
}

int nlt_request(struct nlt *nl, struct nlmsghdr *nlh,
		  struct nlt_result *res)
{
	struct recv_ctx ctx = { .res = res, .data_cb = reply_cb, .data = res };
	int ret;

	memset(res, 0, sizeof(*res));
	ret = transact(nl, nlh, &ctx);
	if (ret < 0)
		return ret;
	return -res->error;
}

int nlt_freeze_levels(struct nlt *nl, const char *const *paths,
		     const uint32_t *levels, unsigned int n, const char *id,
		     uint32_t timeout_ms, uint32_t flags, struct nlt_result *res,
		     uint32_t *offsets)
{
	char buf[SF_MSG_SIZE];
	struct nlmsghdr *nlh = nlt_msg_new(nl, buf, SNAPFREEZE_CMD_FREEZE);
	struct nlattr *nest;
	unsigned int i;

	for (i = 0; i < n; i++) {
		nest = mnl_attr_nest_start(nlh, SNAPFREEZE_A_TARGET);
		mnl_attr_put_strz(nlh, SNAPFREEZE_TARGET_A_PATH, paths[i]);
		if (levels)
			mnl_attr_put_u32(nlh, SNAPFREEZE_TARGET_A_LEVEL,
					 levels[i]);
		mnl_attr_nest_end(nlh, nest);
		if (offsets)
			offsets[i] = nlt_attr_offset(nlh, nest);
	}
	if (id)
		mnl_attr_put_strz(nlh, SNAPFREEZE_A_EXEC_ID, id);
	if (timeout_ms)
		mnl_attr_put_u32(nlh, SNAPFREEZE_A_TIMEOUT_MS, timeout_ms);
	if (flags)
		mnl_attr_put_u32(nlh, SNAPFREEZE_A_FLAGS, flags);
	return nlt_request(nl, nlh, res);
}

int nlt_freeze(struct nlt *nl, const char *const *paths, unsigned int n,
	      const char *id, uint32_t timeout_ms, uint32_t flags,
	      struct nlt_result *res, uint32_t *offsets)
{
	return nlt_freeze_levels(nl, paths, NULL, n, id, timeout_ms, flags, res,
				offsets);
}

int nlt_thaw(struct nlt *nl, const char *id, uint32_t flags,
	    struct nlt_result *res)
{
	char buf[SF_MSG_SIZE];
	struct nlmsghdr *nlh = nlt_msg_new(nl, buf, SNAPFREEZE_CMD_THAW);

	if (id)
		mnl_attr_put_strz(nlh, SNAPFREEZE_A_EXEC_ID, id);
	if (flags)
		mnl_attr_put_u32(nlh, SNAPFREEZE_A_FLAGS, flags);
	return nlt_request(nl, nlh, res);
}

int nlt_get(struct nlt *nl, struct nlt_result *res)
{
	char buf[SF_MSG_SIZE];
	struct nlmsghdr *nlh = nlt_msg_new(nl, buf, SNAPFREEZE_CMD_GET);

	return nlt_request(nl, nlh, res);
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct recv_ctx *ctx = data;

	parse_status(nlh, ctx->ev);
	ctx->got_event = true;
	return MNL_CB_STOP;
}

int nlt_recv_event(struct nlt *nl, struct nlt_status *ev, int timeout_ms)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(nl->sock),
			      .events = POLLIN };
	struct nlt_result res;
	struct recv_ctx ctx = { .res = &res, .ev = ev };
	char *buf;
	int ret;

	memset(&res, 0, sizeof(res));
	ctx.data_cb = event_cb;
	ctx.data = &ctx;
	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	buf = malloc(SF_RECV_SIZE);
	if (!buf)
		return -ENOMEM;
	ret = (int)mnl_socket_recvfrom(nl->sock, buf, SF_RECV_SIZE);
	if (ret < 0) {
		ret = -errno;
		goto out;
	}
	/* Multicast: seq 0 and portid 0 skip libmnl's sequence checks. */
	ret = mnl_cb_run2(buf, ret, 0, 0, data_dispatch, &ctx, NULL, 0);
	if (ret < 0)
		ret = -errno;
	else
		ret = ctx.got_event ? 0 : -EAGAIN;
out:
	free(buf);
	return ret;
}
