// SPDX-License-Identifier: GPL-2.0
/*
 * sfgenl: family resolution and one-request calls for the reliability tests
 * (tests/reliability/sfprobe.c, tests/fuzz/nl_fuzz.c).  Deliberately
 * separate from tests/nl.c: these tests must not depend on the client
 * code they check.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/snapfreeze.h>

#include "sfgenl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct resolve {
	uint16_t family;
	uint32_t grp;
};

static int grp_cb(const struct nlattr *attr, void *data)
{
	struct resolve *r = data;
	const struct nlattr *a;
	const char *name = NULL;
	uint32_t id = 0;

	mnl_attr_for_each_nested(a, attr) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME &&
		    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			name = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID &&
			 !mnl_attr_validate(a, MNL_TYPE_U32))
			id = mnl_attr_get_u32(a);
	}
	if (name && !strcmp(name, SNAPFREEZE_MCGRP_EVENTS))
		r->grp = id;
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct resolve *r = data;
	const struct nlattr *a, *g;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
		    !mnl_attr_validate(a, MNL_TYPE_U16))
			r->family = mnl_attr_get_u16(a);
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GROUPS)
			mnl_attr_for_each_nested(g, a)
				grp_cb(g, r);
	}
	return MNL_CB_OK;
}

int sfgenl_open(struct sfgenl *g)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct resolve r = { 0 };
	struct genlmsghdr *gh;
	struct nlmsghdr *nlh;
	int one = 1, ret;
	ssize_t n;

	memset(g, 0, sizeof(*g));
	g->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!g->nl)
		return -errno;
	if (mnl_socket_bind(g->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto err;
	}
	g->portid = mnl_socket_get_portid(g->nl);
	/* Errors carry the kernel's message, and not our whole request. */
	setsockopt(mnl_socket_get_fd(g->nl), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(g->nl), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++g->seq;
	gh = mnl_nlmsg_put_extra_header(nlh, sizeof(*gh));
	gh->cmd = CTRL_CMD_GETFAMILY;
	gh->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, SNAPFREEZE_GENL_NAME);
	if (mnl_socket_sendto(g->nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto err;
	}
	for (;;) {
		n = mnl_socket_recvfrom(g->nl, buf, sizeof(buf));
		if (n < 0) {
			ret = -errno;
			goto err;
		}
		ret = mnl_cb_run(buf, n, g->seq, g->portid, family_cb, &r);
		if (ret <= MNL_CB_STOP)
			break;
	}
	if (ret < 0) {
		ret = -errno;
		goto err;
	}
	if (!r.family) {
		ret = -ENOENT;
		goto err;
	}
	g->family = r.family;
	g->events_grp = r.grp;
	return 0;
err:
	mnl_socket_close(g->nl);
	g->nl = NULL;
	return ret;
}

void sfgenl_close(struct sfgenl *g)
{
	if (g->nl)
		mnl_socket_close(g->nl);
	g->nl = NULL;
}

struct nlmsghdr *sfgenl_request(struct sfgenl *g, char *buf, uint8_t cmd,
				uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *gh;

	nlh->nlmsg_type = g->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++g->seq;
	gh = mnl_nlmsg_put_extra_header(nlh, sizeof(*gh));
	gh->cmd = cmd;
	gh->version = SNAPFREEZE_GENL_VERSION;
	return nlh;
}

static void parse_extack(const struct nlmsghdr *nlh, struct sfgenl_result *res)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* Without NETLINK_CAP_ACK the request follows: skip it. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			snprintf(res->msg, sizeof(res->msg), "%s",
				 mnl_attr_get_str(a));
	}
}

int sfgenl_parse(struct sfgenl *g, const char *buf, size_t len,
		 struct sfgenl_result *res, int *done)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct nlattr *a;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				return -EBADMSG;
			res->err = e->error;
			parse_extack(nlh, res);
			*done = 1;
			continue;
		}
		if (nlh->nlmsg_type == NLMSG_DONE) {
			*done = 1;
			continue;
		}
		if (nlh->nlmsg_type != g->family)
			continue;
		res->replies++;
		mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
			if (mnl_attr_get_type(a) == SNAPFREEZE_A_STATE &&
			    !mnl_attr_validate(a, MNL_TYPE_U32)) {
				res->state = mnl_attr_get_u32(a);
				res->has_state = 1;
			}
		}
	}
	return 0;
}

int sfgenl_call(struct sfgenl *g, struct nlmsghdr *nlh,
		struct sfgenl_result *res)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int done = 0, ret;
	ssize_t n;

	memset(res, 0, sizeof(*res));
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(g->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (!done) {
		n = mnl_socket_recvfrom(g->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = sfgenl_parse(g, buf, n, res, &done);
		if (ret)
			return ret;
	}
	return 0;
}
