// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family: policies, request parsing, replies and
 * events.  No freeze logic lives here; see freezeset.c.
 *
 * FREEZE holds genetlink's cb_lock for reading for the whole request, flush
 * and freeze included (every genetlink request does, parallel_ops or not):
 * registering or unregistering another genetlink family (`modprobe
 * wireguard`, say) waits until the FREEZE returns, which the auto-thaw
 * deadline bounds.  Nothing in a request may wait for a family being
 * registered: block devices are looked up, never opened (compat.h).
 */
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/limits.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "events.h"
#include "freezeset.h"
#include "snapfreeze.h"

/* Tries at sizing a reply of the live set that then changed. */
#define SF_REPLY_TRIES 3

static const struct nla_policy sf_target_policy[SNAPFREEZE_TARGET_A_MAX + 1] = {
	[SNAPFREEZE_TARGET_A_PATH] = { .type = NLA_NUL_STRING,
				       .len = PATH_MAX - 1 },
	[SNAPFREEZE_TARGET_A_LEVEL] = { .type = NLA_U32 },
};

/* Each command takes its own attributes and rejects every other one. */
static const struct nla_policy sf_freeze_policy[SNAPFREEZE_A_MAX + 1] = {
	[SNAPFREEZE_A_TARGET] = NLA_POLICY_NESTED(sf_target_policy),
	[SNAPFREEZE_A_EXEC_ID] = { .type = NLA_NUL_STRING,
				   .len = SNAPFREEZE_EXEC_ID_MAX },
	[SNAPFREEZE_A_TIMEOUT_MS] = NLA_POLICY_MIN(NLA_U32, 1),
	[SNAPFREEZE_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, SNAPFREEZE_F_DRY_RUN),
};

static const struct nla_policy sf_thaw_policy[SNAPFREEZE_A_MAX + 1] = {
	[SNAPFREEZE_A_EXEC_ID] = { .type = NLA_NUL_STRING,
				   .len = SNAPFREEZE_EXEC_ID_MAX },
	[SNAPFREEZE_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, SNAPFREEZE_F_FORCE),
};

/* GET takes no attribute at all. */
static const struct nla_policy sf_get_policy[SNAPFREEZE_A_MAX + 1] = {};

static struct genl_family sf_family;

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
static bool is_admin(struct sk_buff *skb)
{
	return netlink_capable(skb, CAP_SYS_ADMIN);
}

static int check_admin(struct sk_buff *skb, struct genl_info *info)
{
	if (is_admin(skb))
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

/* Replies: what a message says and how big it is */

/* What goes into a status message, and for whom. */
struct sf_msg_spec {
	const struct sf_status *st;
	const struct sf_target *tg;
	unsigned int nr;
	bool priv;		/* the sender may see ids, paths and errors */
	bool targets;		/* put the targets (the fallback omits them) */
};

static size_t status_size(const struct sf_msg_spec *m)
{
	size_t size = 0;
	unsigned int i;

	size += nla_total_size(SNAPFREEZE_EXEC_ID_MAX + 1);
	size += 5 * nla_total_size(sizeof(u32));	/* state ... held */
	size += 11 * nla_total_size_64bit(sizeof(u64));
	size += nla_total_size(strlen(m->st->last_error) + 1);
	for (i = 0; m->targets && i < m->nr; i++) {
		size += nla_total_size(0);
		size += nla_total_size(strlen(m->tg[i].path) + 1);
		size += nla_total_size(sizeof(m->tg[i].fstype));
		size += nla_total_size(sizeof(m->tg[i].sb_id));
		size += 3 * nla_total_size(sizeof(u32));
		size += 3 * nla_total_size_64bit(sizeof(u64));
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
	    nla_put_u32(msg, SNAPFREEZE_TARGET_A_MINOR, MINOR(t->dev)) ||
	    nla_put_u32(msg, SNAPFREEZE_TARGET_A_STATE, t->state) ||
	    nla_put_u64_64bit(msg, SNAPFREEZE_TARGET_A_FLUSH_NS, t->flush_ns,
			      SNAPFREEZE_TARGET_A_PAD) ||
	    nla_put_u64_64bit(msg, SNAPFREEZE_TARGET_A_FREEZE_NS, t->freeze_ns,
			      SNAPFREEZE_TARGET_A_PAD) ||
	    nla_put_u64_64bit(msg, SNAPFREEZE_TARGET_A_FROZEN_AT_NS,
			      t->frozen_at_ns, SNAPFREEZE_TARGET_A_PAD)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_u64s(struct sk_buff *msg, const struct sf_status *st)
{
	const struct { int type; u64 value; } v[] = {
		{ SNAPFREEZE_A_FLUSH_NS, st->flush_ns },
		{ SNAPFREEZE_A_FREEZE_NS, st->freeze_ns },
		{ SNAPFREEZE_A_SKEW_NS, st->skew_ns },
		{ SNAPFREEZE_A_FREEZES, st->freezes },
		{ SNAPFREEZE_A_THAWS, st->thaws },
		{ SNAPFREEZE_A_AUTO_THAWS, st->auto_thaws },
		{ SNAPFREEZE_A_FAILURES, st->failures },
		{ SNAPFREEZE_A_FROZEN_SINCE, st->frozen_since_ns },
		{ SNAPFREEZE_A_THAWED_AT, st->thawed_at_ns },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		/* The two times only when they mean something. */
		if (!v[i].value && (v[i].type == SNAPFREEZE_A_FROZEN_SINCE ||
				    v[i].type == SNAPFREEZE_A_THAWED_AT))
			continue;
		if (nla_put_u64_64bit(msg, v[i].type, v[i].value,
				      SNAPFREEZE_A_PAD))
			return -EMSGSIZE;
	}
	return 0;
}

static int put_status(struct sk_buff *msg, const struct sf_msg_spec *m)
{
	const struct sf_status *st = m->st;
	unsigned int i;

	if (nla_put_u32(msg, SNAPFREEZE_A_STATE, st->state) ||
	    nla_put_u32(msg, SNAPFREEZE_A_TIMEOUT_MS, st->timeout_ms) ||
	    nla_put_u32(msg, SNAPFREEZE_A_REMAINING_MS, st->remaining_ms) ||
	    nla_put_u32(msg, SNAPFREEZE_A_THAW_REASON, st->thaw_reason) ||
	    nla_put_u32(msg, SNAPFREEZE_A_HELD_BY_OTHER, st->held_by_other) ||
	    put_u64s(msg, st))
		return -EMSGSIZE;
	if (!m->priv)
		return 0;
	if ((st->exec_id[0] &&
	     nla_put_string(msg, SNAPFREEZE_A_EXEC_ID, st->exec_id)) ||
	    nla_put_string(msg, SNAPFREEZE_A_LAST_ERROR, st->last_error))
		return -EMSGSIZE;
	for (i = 0; m->targets && i < m->nr; i++)
		if (put_target(msg, &m->tg[i]))
			return -EMSGSIZE;
	return 0;
}

/* Replies: building and sending */

struct sf_reply {
	struct genl_info *info;
	u8 cmd;
	bool priv;
	struct sk_buff *msg;
	size_t size;
};

/* Put the whole message into r->msg, which must be big enough. */
static int fill_reply(struct sf_reply *r, const struct sf_msg_spec *m)
{
	void *hdr;

	hdr = genlmsg_put_reply(r->msg, r->info, &sf_family, 0, r->cmd);
	if (!hdr || put_status(r->msg, m))
		return -EMSGSIZE;
	genlmsg_end(r->msg, hdr);
	return 0;
}

/* sf_view_fn: how big a reply of the live set would be. */
static int size_live(const struct sf_status *st, const struct sf_target *tg,
		     unsigned int nr, void *arg)
{
	struct sf_msg_spec m = { st, tg, nr, true, true };
	struct sf_reply *r = arg;

	r->size = status_size(&m);
	return 0;
}

/* sf_view_fn: fill the reply allocated after size_live(); no allocation. */
static int fill_live(const struct sf_status *st, const struct sf_target *tg,
		     unsigned int nr, void *arg)
{
	struct sf_reply *r = arg;
	struct sf_msg_spec m = { st, tg, nr, r->priv, true };

	return fill_reply(r, &m);
}

/*
 * A reply describing the live set, allocated with the set unlocked: size
 * it, allocate, fill; start over if it grew meanwhile.
 */
static int build_live_reply(struct sf_reply *r)
{
	unsigned int tries;
	int ret = -EMSGSIZE;

	for (tries = 0; tries < SF_REPLY_TRIES && ret == -EMSGSIZE; tries++) {
		sf_view(size_live, r);
		r->msg = genlmsg_new(r->size, GFP_KERNEL);
		if (!r->msg)
			return -ENOMEM;
		ret = sf_view(fill_live, r);
		if (ret) {
			nlmsg_free(r->msg);
			r->msg = NULL;
		}
	}
	return ret;
}

/*
 * A reply describing a request's outcome, which nobody else can change.
 * If the whole of it cannot be had (many long paths and fragmented
 * memory), one without the targets still tells the state.
 */
static int build_outcome_reply(struct sf_reply *r,
			       const struct sf_outcome *out)
{
	struct sf_msg_spec m = { &out->st, out->targets, out->nr, r->priv,
				 true };

	r->msg = genlmsg_new(status_size(&m), GFP_KERNEL | __GFP_NOWARN);
	if (!r->msg) {
		m.targets = false;
		r->msg = genlmsg_new(status_size(&m), GFP_KERNEL);
		if (!r->msg)
			return -ENOMEM;
	}
	if (fill_reply(r, &m)) {
		nlmsg_free(r->msg);
		r->msg = NULL;
		return -EMSGSIZE;
	}
	return 0;
}

/*
 * Send the reply of a FREEZE or THAW that took effect, if one could be
 * built.  Its outcome must not turn into an error ack (no memory, a full
 * receive buffer, a caller gone): the set was frozen or thawed all the
 * same, and the ack says so.
 */
static void send_reply(struct sf_reply *r, int built)
{
	int ret;

	if (built) {
		pr_warn_ratelimited("no reply to command %u: error %d\n",
				    r->cmd, built);
		return;
	}
	ret = genlmsg_reply(r->msg, r->info);
	if (ret)
		pr_warn_ratelimited("reply to command %u not delivered: error %d\n",
				    r->cmd, ret);
}

/*
 * A freeze set error, with its static text; a target's error points at
 * the request's n-th SNAPFREEZE_A_TARGET attribute.
 */
static void report_error(struct genl_info *info, const struct sf_outcome *out)
{
	struct nlattr *nla;
	int n = out->target;
	int rem;

	if (!out->msg || !info->extack)
		return;
	sf_set_err_msg(info->extack, out->msg);
	if (n < 0)
		return;
	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(nla) == SNAPFREEZE_A_TARGET && n-- == 0) {
			NL_SET_BAD_ATTR(info->extack, nla);
			return;
		}
	}
}

/* Requests */

static int parse_target(struct genl_info *info, struct nlattr *nla,
			struct sf_freeze_req *req, bool *leveled)
{
	struct nlattr *tb[SNAPFREEZE_TARGET_A_MAX + 1];
	struct nlattr *path, *level;
	int ret;

	ret = nla_parse_nested(tb, SNAPFREEZE_TARGET_A_MAX, nla,
			       sf_target_policy, info->extack);
	if (ret)
		return ret;
	path = tb[SNAPFREEZE_TARGET_A_PATH];
	level = tb[SNAPFREEZE_TARGET_A_LEVEL];
	if (!path || !*(char *)nla_data(path)) {
		NL_SET_ERR_MSG_ATTR(info->extack, nla,
				    "target path missing or empty");
		return -EINVAL;
	}
	if (*(char *)nla_data(path) != '/') {
		NL_SET_ERR_MSG_ATTR(info->extack, nla,
				    "target path must be absolute");
		return -EINVAL;
	}
	req->levels[req->nr_paths] = level ? nla_get_u32(level) : 0;
	*leveled |= !!level;
	req->paths[req->nr_paths++] = nla_data(path);
	return 0;
}

static int parse_targets(struct genl_info *info, struct sf_freeze_req *req)
{
	bool leveled = false;
	struct nlattr *nla;
	unsigned int i;
	int rem, ret;

	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(nla) != SNAPFREEZE_A_TARGET)
			continue;
		if (req->nr_paths == SNAPFREEZE_MAX_TARGETS) {
			NL_SET_ERR_MSG_ATTR(info->extack, nla,
					    "too many targets");
			return -E2BIG;
		}
		ret = parse_target(info, nla, req, &leveled);
		if (ret)
			return ret;
	}
	if (!req->nr_paths) {
		GENL_SET_ERR_MSG(info, "FREEZE needs at least one target");
		return -EINVAL;
	}
	/* No levels at all: one after another, in request order (v1). */
	for (i = 0; !leveled && i < req->nr_paths; i++)
		req->levels[i] = i;
	return 0;
}

static int parse_timeout(struct genl_info *info, u32 *timeout_ms)
{
	struct nlattr *attr = info->attrs[SNAPFREEZE_A_TIMEOUT_MS];
	u32 min, max;

	sf_params_bounds(timeout_ms, &min, &max);
	if (attr)
		*timeout_ms = nla_get_u32(attr);
	if (*timeout_ms >= min && *timeout_ms <= max)
		return 0;
	if (attr)
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "timeout outside the module's bounds");
	else
		GENL_SET_ERR_MSG(info, "timeout outside the module's bounds");
	return -ERANGE;
}

static u32 get_flags(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[SNAPFREEZE_A_FLAGS];

	return attr ? nla_get_u32(attr) : 0;
}

static int parse_freeze(struct genl_info *info, struct sf_freeze_req *req)
{
	int ret;

	ret = parse_targets(info, req);
	if (ret)
		return ret;
	req->exec_id = get_exec_id(info);
	if (IS_ERR(req->exec_id))
		return PTR_ERR(req->exec_id);
	ret = parse_timeout(info, &req->timeout_ms);
	if (ret)
		return ret;
	req->dry_run = get_flags(info) & SNAPFREEZE_F_DRY_RUN;
	return 0;
}

static int sf_nl_freeze(struct sk_buff *skb, struct genl_info *info)
{
	struct sf_reply reply = { .info = info, .cmd = SNAPFREEZE_CMD_FREEZE,
				  .priv = true };
	struct sf_freeze_req *req;
	struct sf_outcome *out;
	int ret;

	ret = check_admin(skb, info);
	if (ret)
		return ret;
	req = kzalloc(sizeof(*req), GFP_KERNEL);
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	ret = -ENOMEM;
	if (!req || !out)
		goto out_free;
	ret = parse_freeze(info, req);
	if (ret)
		goto out_free;
	ret = sf_freeze(req, out);
	if (ret)
		report_error(info, out);
	else if (req->dry_run)
		send_reply(&reply, build_outcome_reply(&reply, out));
	else
		send_reply(&reply, build_live_reply(&reply));
	sf_outcome_release(out);
out_free:
	kfree(out);
	kfree(req);
	return ret;
}

static int sf_nl_thaw(struct sk_buff *skb, struct genl_info *info)
{
	struct sf_reply reply = { .info = info, .cmd = SNAPFREEZE_CMD_THAW,
				  .priv = true };
	bool force = get_flags(info) & SNAPFREEZE_F_FORCE;
	const char *exec_id = NULL;
	struct sf_outcome *out;
	int ret;

	ret = check_admin(skb, info);
	if (ret)
		return ret;
	if (!force || info->attrs[SNAPFREEZE_A_EXEC_ID]) {
		exec_id = get_exec_id(info);
		if (IS_ERR(exec_id))
			return PTR_ERR(exec_id);
	}
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	/* Thawed first; the reply, best effort, after. */
	ret = sf_thaw(exec_id, force, out);
	if (ret)
		report_error(info, out);
	else
		send_reply(&reply, build_outcome_reply(&reply, out));
	sf_outcome_release(out);
	kfree(out);
	return ret;
}

static int sf_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sf_reply reply = { .info = info, .cmd = SNAPFREEZE_CMD_GET,
				  .priv = is_admin(skb) };
	int ret;

	ret = build_live_reply(&reply);
	if (ret)
		return ret;
	return genlmsg_reply(reply.msg, info);
}

static const struct genl_ops sf_ops[] = {
	{
		.cmd = SNAPFREEZE_CMD_FREEZE,
		.doit = sf_nl_freeze,
		.policy = sf_freeze_policy,
		.maxattr = SNAPFREEZE_A_MAX,
	},
	{
		.cmd = SNAPFREEZE_CMD_THAW,
		.doit = sf_nl_thaw,
		.policy = sf_thaw_policy,
		.maxattr = SNAPFREEZE_A_MAX,
	},
	{
		.cmd = SNAPFREEZE_CMD_GET,
		.doit = sf_nl_get,
		.policy = sf_get_policy,
		.maxattr = SNAPFREEZE_A_MAX,
	},
};

static struct genl_family sf_family __ro_after_init = {
	.name = SNAPFREEZE_GENL_NAME,
	.version = SNAPFREEZE_GENL_VERSION,
	.maxattr = SNAPFREEZE_A_MAX,
	/* A freeze may flush for seconds: don't hold genl_mutex meanwhile. */
	.parallel_ops = true,
	.netnsok = false,
	.module = THIS_MODULE,
	.ops = sf_ops,
	.n_ops = ARRAY_SIZE(sf_ops),
	.mcgrps = sf_mcgrps,
	.n_mcgrps = ARRAY_SIZE(sf_mcgrps),
};

/* Events */

/*
 * Where anyone may join the group (kernels without GENL_MCAST_CAP_*),
 * events carry no execution id: the same rule as GET's.
 */
static int put_event(struct sk_buff *msg, const struct sf_event *ev)
{
	if (nla_put_u32(msg, SNAPFREEZE_A_EVENT, ev->type) ||
	    (SF_MCGRP_FLAGS &&
	     nla_put_string(msg, SNAPFREEZE_A_EXEC_ID, ev->exec_id)) ||
	    nla_put_u32(msg, SNAPFREEZE_A_THAW_REASON, ev->reason) ||
	    nla_put_u32(msg, SNAPFREEZE_A_HELD_BY_OTHER, ev->held_by_other) ||
	    (ev->err && nla_put_u32(msg, SNAPFREEZE_A_ERRNO, -ev->err)))
		return -EMSGSIZE;
	return 0;
}

static int sf_nl_event(struct notifier_block *nb, unsigned long type,
		       void *data)
{
	const struct sf_event *ev = data;
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&sf_family, &init_net, SF_MCGRP_EVENTS))
		return NOTIFY_DONE;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return NOTIFY_DONE;
	hdr = genlmsg_put(msg, 0, 0, &sf_family, 0, SNAPFREEZE_CMD_EVENT);
	if (!hdr || put_event(msg, ev)) {
		nlmsg_free(msg);
		return NOTIFY_DONE;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&sf_family, msg, 0, SF_MCGRP_EVENTS, GFP_KERNEL);
	return NOTIFY_DONE;
}

static struct notifier_block sf_nl_event_nb = {
	.notifier_call = sf_nl_event,
};

int sf_netlink_init(void)
{
	int ret;

	ret = genl_register_family(&sf_family);
	if (ret)
		return ret;
	ret = sf_events_subscribe(&sf_nl_event_nb);
	if (ret)
		goto err_family;
	return 0;

err_family:
	genl_unregister_family(&sf_family);
	return ret;
}

void sf_netlink_uninit(void)
{
	/* Waits for an event being sent: none is sent after this. */
	sf_events_unsubscribe(&sf_nl_event_nb);
	genl_unregister_family(&sf_family);
}
