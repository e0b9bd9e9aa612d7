// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family: policies, request parsing, replies and
 * events.  No freeze logic lives here; see freezeset.c.
 */
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/limits.h>
#include <linux/string.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "freezeset.h"
#include "snapfreeze.h"

static const struct nla_policy sf_target_policy[SNAPFREEZE_TARGET_A_MAX + 1] = {
	[SNAPFREEZE_TARGET_A_PATH] = { .type = NLA_NUL_STRING,
				       .len = PATH_MAX - 1 },
};

/* Only request attributes: reply-only ones are rejected in requests. */
static const struct nla_policy sf_policy[SNAPFREEZE_A_MAX + 1] = {
	[SNAPFREEZE_A_TARGET] = NLA_POLICY_NESTED(sf_target_policy),
	[SNAPFREEZE_A_EXEC_ID] = { .type = NLA_NUL_STRING,
				   .len = SNAPFREEZE_EXEC_ID_MAX },
	[SNAPFREEZE_A_TIMEOUT_MS] = NLA_POLICY_MIN(NLA_U32, 1),
	[SNAPFREEZE_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, SNAPFREEZE_F_DRY_RUN | SNAPFREEZE_F_FORCE),
};

static struct genl_family sf_family;
/* Events go out only while the family exists; set and cleared by init/exit. */
static bool sf_registered;

enum sf_mcgrp {
	SF_MCGRP_EVENTS,
};

static const struct genl_multicast_group sf_mcgrps[] = {
	[SF_MCGRP_EVENTS] = { .name = SNAPFREEZE_MCGRP_EVENTS,
			      .flags = SF_MCGRP_FLAGS },
};

/* "None", or a UUID: 8-4-4-4-12 hex digits. */
static bool exec_id_valid(const char *id)
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (!strcmp(id, SNAPFREEZE_EXEC_ID_NONE))
		return true;
	if (strlen(id) != sizeof(form) - 1)
		return false;
	for (i = 0; i < sizeof(form) - 1; i++) {
		if (form[i] == '-' ? id[i] != '-' : !isxdigit(id[i]))
			return false;
	}
	return true;
}

/*
 * CAP_SYS_ADMIN in the initial user namespace, for both the socket's opener
 * and the sender, as FIFREEZE demands.  GENL_ADMIN_PERM would check
 * CAP_NET_ADMIN, the wrong capability.
 */
static int check_admin(struct sk_buff *skb, struct genl_info *info)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return 0;
	GENL_SET_ERR_MSG(info, "CAP_SYS_ADMIN required");
	return -EPERM;
}

static const char *get_exec_id(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[SNAPFREEZE_A_EXEC_ID];

	if (!attr) {
		GENL_SET_ERR_MSG(info, "execution id missing");
		return ERR_PTR(-EINVAL);
	}
	if (!exec_id_valid(nla_data(attr))) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "execution id must be None or a UUID");
		return ERR_PTR(-EINVAL);
	}
	return nla_data(attr);
}

/* Replies */

struct sf_reply {
	struct genl_info *info;
	u8 cmd;
	struct sk_buff *msg;
};

static size_t status_size(const struct sf_status *st)
{
	size_t size = 0;
	unsigned int i;

	size += nla_total_size(SNAPFREEZE_EXEC_ID_MAX + 1);
	size += 4 * nla_total_size(sizeof(u32));	/* state ... reason */
	size += 10 * nla_total_size_64bit(sizeof(u64));
	size += nla_total_size(strlen(st->last_error) + 1);
	for (i = 0; i < st->nr_targets; i++) {
		size += nla_total_size(0);
		size += nla_total_size(strlen(st->targets[i].path) + 1);
		size += nla_total_size(sizeof(st->targets[i].fstype));
		size += nla_total_size(sizeof(st->targets[i].sb_id));
		size += 2 * nla_total_size(sizeof(u32));
	}
	return size;
}

static int put_target(struct sk_buff *msg, const struct sf_target *t)
{
	struct nlattr *nest;

	nest = nla_nest_start(msg, SNAPFREEZE_A_TARGET);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_string(msg, SNAPFREEZE_TARGET_A_PATH, t->path) ||
	    nla_put_string(msg, SNAPFREEZE_TARGET_A_FSTYPE, t->fstype) ||
	    nla_put_string(msg, SNAPFREEZE_TARGET_A_SB_ID, t->sb_id) ||
	    nla_put_u32(msg, SNAPFREEZE_TARGET_A_MAJOR, MAJOR(t->dev)) ||
	    nla_put_u32(msg, SNAPFREEZE_TARGET_A_MINOR, MINOR(t->dev))) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_status(struct sk_buff *msg, const struct sf_status *st)
{
	unsigned int i;

	if (nla_put_u32(msg, SNAPFREEZE_A_STATE, st->state) ||
	    (st->exec_id &&
	     nla_put_string(msg, SNAPFREEZE_A_EXEC_ID, st->exec_id)) ||
	    nla_put_u32(msg, SNAPFREEZE_A_TIMEOUT_MS, st->timeout_ms) ||
	    nla_put_u32(msg, SNAPFREEZE_A_REMAINING_MS, st->remaining_ms) ||
	    nla_put_u32(msg, SNAPFREEZE_A_THAW_REASON, st->thaw_reason) ||
	    nla_put_u64_64bit(msg, SNAPFREEZE_A_FLUSH_NS, st->flush_ns,
			      SNAPFREEZE_A_PAD) ||
	    nla_put_u64_64bit(msg, SNAPFREEZE_A_FREEZE_NS, st->freeze_ns,
			      SNAPFREEZE_A_PAD) ||
	    nla_put_u64_64bit(msg, SNAPFREEZE_A_FREEZES, st->freezes,
			      SNAPFREEZE_A_PAD) ||
	    nla_put_u64_64bit(msg, SNAPFREEZE_A_THAWS, st->thaws,
			      SNAPFREEZE_A_PAD) ||
	    nla_put_u64_64bit(msg, SNAPFREEZE_A_AUTO_THAWS, st->auto_thaws,
			      SNAPFREEZE_A_PAD) ||
	    nla_put_u64_64bit(msg, SNAPFREEZE_A_FAILURES, st->failures,
			      SNAPFREEZE_A_PAD) ||
	    nla_put_string(msg, SNAPFREEZE_A_LAST_ERROR, st->last_error))
		return -EMSGSIZE;
	if (st->frozen_since_ns &&
	    nla_put_u64_64bit(msg, SNAPFREEZE_A_FROZEN_SINCE,
			      st->frozen_since_ns, SNAPFREEZE_A_PAD))
		return -EMSGSIZE;
	if (st->thawed_at_ns &&
	    nla_put_u64_64bit(msg, SNAPFREEZE_A_THAWED_AT, st->thawed_at_ns,
			      SNAPFREEZE_A_PAD))
		return -EMSGSIZE;
	for (i = 0; i < st->nr_targets; i++)
		if (put_target(msg, &st->targets[i]))
			return -EMSGSIZE;
	return 0;
}

/* An sf_status_fn: build the reply while the set is locked. */
static int build_reply(const struct sf_status *st, void *arg)
{
	struct sf_reply *r = arg;
	void *hdr;
	int ret;

	r->msg = genlmsg_new(status_size(st), GFP_KERNEL);
	if (!r->msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(r->msg, r->info, &sf_family, 0, r->cmd);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free;
	}
	ret = put_status(r->msg, st);
	if (ret)
		goto err_free;
	genlmsg_end(r->msg, hdr);
	return 0;

err_free:
	nlmsg_free(r->msg);
	r->msg = NULL;
	return ret;
}

/*
 * Send the reply of a FREEZE or THAW that took effect.  Its outcome must not
 * turn into an error ack (a full receive buffer, a caller gone): the set was
 * frozen or thawed all the same, and the ack says so.
 */
static void send_reply(struct sf_reply *r)
{
	int ret;

	if (!r->msg) {
		pr_warn_ratelimited("no reply to command %u: out of memory\n",
				    r->cmd);
		return;
	}
	ret = genlmsg_reply(r->msg, r->info);
	if (ret)
		pr_warn_ratelimited("reply to command %u not delivered: error %d\n",
				    r->cmd, ret);
}

/*
 * Report a freeze set error: its text is static but not a literal, which
 * NL_SET_ERR_MSG*() insist on, so fill the extack as they do.  A target's
 * error points at the request's n-th SNAPFREEZE_A_TARGET attribute.
 */
static void report_error(struct genl_info *info, const struct sf_error *err)
{
	const struct nlattr *bad = NULL;
	struct nlattr *nla;
	int n = err->target;
	int rem;

	if (!err->msg || !info->extack)
		return;
	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(nla) == SNAPFREEZE_A_TARGET && n-- == 0) {
			bad = nla;
			break;
		}
	}
	info->extack->_msg = err->msg;
	info->extack->bad_attr = bad;
}

static int parse_targets(struct genl_info *info, struct sf_freeze_req *req)
{
	struct nlattr *tb[SNAPFREEZE_TARGET_A_MAX + 1];
	struct nlattr *nla;
	int rem, ret;

	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(nla) != SNAPFREEZE_A_TARGET)
			continue;
		if (req->nr_paths == SNAPFREEZE_MAX_TARGETS) {
			NL_SET_ERR_MSG_ATTR(info->extack, nla,
					    "too many targets");
			return -E2BIG;
		}
		ret = nla_parse_nested(tb, SNAPFREEZE_TARGET_A_MAX, nla,
				       sf_target_policy, info->extack);
		if (ret)
			return ret;
		if (!tb[SNAPFREEZE_TARGET_A_PATH] ||
		    !*(char *)nla_data(tb[SNAPFREEZE_TARGET_A_PATH])) {
			NL_SET_ERR_MSG_ATTR(info->extack, nla,
					    "target path missing or empty");
			return -EINVAL;
		}
		req->paths[req->nr_paths++] =
			nla_data(tb[SNAPFREEZE_TARGET_A_PATH]);
	}
	if (!req->nr_paths) {
		GENL_SET_ERR_MSG(info, "FREEZE needs at least one target");
		return -EINVAL;
	}
	return 0;
}

static int parse_timeout(struct genl_info *info, u32 *timeout_ms)
{
	struct nlattr *attr = info->attrs[SNAPFREEZE_A_TIMEOUT_MS];
	u32 min = READ_ONCE(sf_min_timeout_ms);
	u32 max = READ_ONCE(sf_max_timeout_ms);

	*timeout_ms = attr ? nla_get_u32(attr) :
			     READ_ONCE(sf_default_timeout_ms);
	if (*timeout_ms < min || *timeout_ms > max) {
		if (attr)
			NL_SET_ERR_MSG_ATTR(info->extack, attr,
					    "timeout outside the module's bounds");
		else
			GENL_SET_ERR_MSG(info,
					 "timeout outside the module's bounds");
		return -ERANGE;
	}
	return 0;
}

static u32 get_flags(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[SNAPFREEZE_A_FLAGS];

	return attr ? nla_get_u32(attr) : 0;
}

static int sf_nl_freeze(struct sk_buff *skb, struct genl_info *info)
{
	struct sf_reply reply = { .info = info, .cmd = SNAPFREEZE_CMD_FREEZE };
	u32 flags = get_flags(info);
	struct sf_freeze_req *req;
	struct sf_error err;
	int ret;

	ret = check_admin(skb, info);
	if (ret)
		return ret;
	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	ret = parse_targets(info, req);
	if (ret)
		goto out;
	req->exec_id = get_exec_id(info);
	if (IS_ERR(req->exec_id)) {
		ret = PTR_ERR(req->exec_id);
		goto out;
	}
	ret = parse_timeout(info, &req->timeout_ms);
	if (ret)
		goto out;
	if (flags & ~SNAPFREEZE_F_DRY_RUN) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SNAPFREEZE_A_FLAGS],
				    "flag not valid for FREEZE");
		ret = -EINVAL;
		goto out;
	}
	req->dry_run = flags & SNAPFREEZE_F_DRY_RUN;

	ret = sf_freeze(req, build_reply, &reply, &err);
	if (ret) {
		report_error(info, &err);
		goto out;
	}
	send_reply(&reply);
out:
	kfree(req);
	return ret;
}

static int sf_nl_thaw(struct sk_buff *skb, struct genl_info *info)
{
	struct sf_reply reply = { .info = info, .cmd = SNAPFREEZE_CMD_THAW };
	bool force = get_flags(info) & SNAPFREEZE_F_FORCE;
	const char *exec_id = NULL;
	struct sf_error err;
	int ret;

	ret = check_admin(skb, info);
	if (ret)
		return ret;
	if (get_flags(info) & ~SNAPFREEZE_F_FORCE) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SNAPFREEZE_A_FLAGS],
				    "flag not valid for THAW");
		return -EINVAL;
	}
	if (!force || info->attrs[SNAPFREEZE_A_EXEC_ID]) {
		exec_id = get_exec_id(info);
		if (IS_ERR(exec_id))
			return PTR_ERR(exec_id);
	}
	ret = sf_thaw(exec_id, force, build_reply, &reply, &err);
	if (ret) {
		nlmsg_free(reply.msg);
		report_error(info, &err);
		return ret;
	}
	send_reply(&reply);
	return 0;
}

static int sf_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sf_reply reply = { .info = info, .cmd = SNAPFREEZE_CMD_GET };
	int ret;

	ret = sf_status_call(build_reply, &reply);
	if (ret)
		return ret;
	return genlmsg_reply(reply.msg, info);
}

static const struct genl_small_ops sf_ops[] = {
	{
		.cmd = SNAPFREEZE_CMD_FREEZE,
		.doit = sf_nl_freeze,
	},
	{
		.cmd = SNAPFREEZE_CMD_THAW,
		.doit = sf_nl_thaw,
	},
	{
		.cmd = SNAPFREEZE_CMD_GET,
		.doit = sf_nl_get,
	},
};

static struct genl_family sf_family __ro_after_init = {
	.name = SNAPFREEZE_GENL_NAME,
	.version = SNAPFREEZE_GENL_VERSION,
	.maxattr = SNAPFREEZE_A_MAX,
	.policy = sf_policy,
	/*
	 * A freeze may flush for seconds: don't hold genl_mutex meanwhile.
	 * genetlink's cb_lock is still held for read, so a family being
	 * registered or unregistered waits for a FREEZE to return.
	 */
	.parallel_ops = true,
	.netnsok = false,
	.module = THIS_MODULE,
	.small_ops = sf_ops,
	.n_small_ops = ARRAY_SIZE(sf_ops),
	.mcgrps = sf_mcgrps,
	.n_mcgrps = ARRAY_SIZE(sf_mcgrps),
};

void sf_netlink_notify(enum snapfreeze_event event, const char *exec_id,
		       enum snapfreeze_thaw_reason reason, int err)
{
	struct sk_buff *msg;
	void *hdr;

	if (!READ_ONCE(sf_registered) ||
	    !genl_has_listeners(&sf_family, &init_net, SF_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &sf_family, 0, SNAPFREEZE_CMD_EVENT);
	if (!hdr)
		goto err_free;
	if (nla_put_u32(msg, SNAPFREEZE_A_EVENT, event) ||
	    nla_put_string(msg, SNAPFREEZE_A_EXEC_ID, exec_id) ||
	    nla_put_u32(msg, SNAPFREEZE_A_THAW_REASON, reason) ||
	    (err && nla_put_u32(msg, SNAPFREEZE_A_ERRNO, -err)))
		goto err_free;
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&sf_family, msg, 0, SF_MCGRP_EVENTS, GFP_KERNEL);
	return;

err_free:
	nlmsg_free(msg);
}

int sf_netlink_init(void)
{
	int ret;

	ret = genl_register_family(&sf_family);
	if (!ret)
		WRITE_ONCE(sf_registered, true);
	return ret;
}

void sf_netlink_uninit(void)
{
	WRITE_ONCE(sf_registered, false);
	genl_unregister_family(&sf_family);
}
