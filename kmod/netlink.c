// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family: policies, request parsing, replies and
 * events.  No freeze logic lives here; see freezeset.c.
 *
 * Genetlink runs a request in its sender's sendmsg(), with genetlink's
 * cb_lock held for reading (genl_rcv(), net/netlink/genetlink.c, 5.10 to
 * 7.x; parallel_ops only spares genl_mutex).  Registering or unregistering
 * any family takes that lock for writing, and from then on every new
 * genetlink reader, on every family, waits behind it (joining a multicast
 * group, and in 6.12 and later closing a genetlink socket, too).  FREEZE
 * and THAW may wait for seconds: for flushes, a stalled freeze, a thaw
 * that waits for the filesystem below it.  So they do not run there: the
 * callback checks the sender's privilege, keeps a copy of the message and
 * hands the rest to the sender itself, as task work run when its sendmsg()
 * returns to user space (task_work_add(), TWA_RESUME), with no lock held.
 * That is still the caller's own context (its mount namespace and root for
 * the paths, its credentials, killable by its signals), and sendmsg()
 * still returns only once the reply and the ack are queued.  What a caller
 * can tell (docs/kernels.md): other messages of the same sendmsg() are
 * answered before a deferred FREEZE or THAW; a tracer sees the syscall
 * exit before the request runs; io_uring's IORING_OP_SENDMSG completes
 * first and the request runs when the submitting task or io-wq worker next
 * handles its task work, with that task's credentials, not the ring's
 * personality.  The ack is netlink_ack() on the copy, extack and all; the
 * callback returns -EINTR, which tells netlink_rcv_skb() not to ack it.
 * docs/kernels.md has the details; compat.h the kernels without it.
 */
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/task_work.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "events.h"
#include "freezeset.h"
#include "snapfreeze.h"

/* Tries at sizing a reply of the live set that then changed. */
#define SF_REPLY_TRIES 3

/*
 * The policies, generated from docs/netlink/snapfreeze.yaml by the
 * kernel's ynl-gen-c (make regen; scripts/ynl-regen): each command's
 * request attributes, snapfreeze_freeze_nl_policy and
 * snapfreeze_thaw_nl_policy (static, for sf_ops below), and the target
 * nest's, snapfreeze_target_nl_policy.  Two rules the generator cannot
 * express are the handlers' (check_flags(), parse_target()): the flags
 * mask is the spec's whole flag set, for both commands, and the target
 * nest's policy is the whole set, reply attributes included.
 */
#include "netlink-gen.c"

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

/*
 * A request as its handler sees it, wherever it runs: in genetlink's
 * callback, or later in its sender's task work (where @nlh, and so the
 * attributes and the extack's pointers, are in a copy of the message).
 */
struct sf_ctx {
	const struct nlmsghdr *nlh;
	struct nlattr *attrs[SNAPFREEZE_A_MAX + 1];
	struct netlink_ext_ack *extack;
	u32 portid;		/* the sender's, for the reply */
	u32 seq;
	u8 cmd;
	bool priv;		/* the sender has CAP_SYS_ADMIN */
};

static const char *get_exec_id(struct sf_ctx *c)
{
	struct nlattr *attr = c->attrs[SNAPFREEZE_A_EXEC_ID];

	if (!attr) {
		NL_SET_ERR_MSG(c->extack, "execution id missing");
		return ERR_PTR(-EINVAL);
	}
	if (!exec_id_valid(nla_data(attr))) {
		NL_SET_ERR_MSG_ATTR(c->extack, attr,
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
	bool found;		/* a THAW's: st->state is the state it found */
};

static size_t status_size(const struct sf_msg_spec *m)
{
	size_t size = 0;
	unsigned int i;

	size += nla_total_size(SNAPFREEZE_EXEC_ID_MAX + 1);
	size += 6 * nla_total_size(sizeof(u32));	/* state ... found */
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
	    (m->found &&
	     nla_put_u32(msg, SNAPFREEZE_A_FOUND_STATE, st->state)) ||
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
	struct sf_ctx *c;
	struct sk_buff *msg;
	size_t size;
};

/* Put the whole message into r->msg, which must be big enough. */
static int fill_reply(struct sf_reply *r, const struct sf_msg_spec *m)
{
	void *hdr;

	hdr = genlmsg_put(r->msg, r->c->portid, r->c->seq, &sf_family, 0,
			  r->c->cmd);
	if (!hdr || put_status(r->msg, m))
		return -EMSGSIZE;
	genlmsg_end(r->msg, hdr);
	return 0;
}

/* sf_view_fn: how big a reply of the live set would be. */
static int size_live(const struct sf_status *st, const struct sf_target *tg,
		     unsigned int nr, void *arg)
{
	struct sf_msg_spec m = { st, tg, nr, true, true, false };
	struct sf_reply *r = arg;

	r->size = status_size(&m);
	return 0;
}

/* sf_view_fn: fill the reply allocated after size_live(); no allocation. */
static int fill_live(const struct sf_status *st, const struct sf_target *tg,
		     unsigned int nr, void *arg)
{
	struct sf_reply *r = arg;
	struct sf_msg_spec m = { st, tg, nr, r->c->priv, true, false };

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
	struct sf_msg_spec m = { &out->st, out->targets, out->nr, r->c->priv,
				 true, r->c->cmd == SNAPFREEZE_CMD_THAW };

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

/* Send a reply to the request's sender. */
static int send_msg(struct sf_reply *r)
{
	return genlmsg_unicast(&init_net, r->msg, r->c->portid);
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
				    r->c->cmd, built);
		return;
	}
	ret = send_msg(r);
	if (ret)
		pr_warn_ratelimited("reply to command %u not delivered: error %d\n",
				    r->c->cmd, ret);
}

/*
 * A freeze set error, with its static text; a target's error points at
 * the request's n-th SNAPFREEZE_A_TARGET attribute.
 */
static void report_error(struct sf_ctx *c, const struct sf_outcome *out)
{
	const struct nlattr *nla;
	int n = out->target;
	int rem;

	if (!out->msg || !c->extack)
		return;
	sf_set_err_msg(c->extack, out->msg);
	if (n < 0)
		return;
	nlmsg_for_each_attr(nla, c->nlh, GENL_HDRLEN, rem) {
		if (nla_type(nla) == SNAPFREEZE_A_TARGET && n-- == 0) {
			NL_SET_BAD_ATTR(c->extack, nla);
			return;
		}
	}
}

/* Requests */

static int parse_target(struct sf_ctx *c, const struct nlattr *nla,
			struct sf_freeze_req *req, bool *leveled)
{
	struct nlattr *tb[ARRAY_SIZE(snapfreeze_target_nl_policy)];
	struct nlattr *path, *level;
	unsigned int i;
	int ret;

	ret = nla_parse_nested(tb, ARRAY_SIZE(tb) - 1, nla,
			       snapfreeze_target_nl_policy, c->extack);
	if (ret)
		return ret;
	/* The spec's target-request: the others are reply attributes. */
	for (i = 0; i < ARRAY_SIZE(tb); i++) {
		if (tb[i] && i != SNAPFREEZE_TARGET_A_PATH &&
		    i != SNAPFREEZE_TARGET_A_LEVEL) {
			NL_SET_ERR_MSG_ATTR(c->extack, tb[i],
					    "a target of a request takes only a path and a level");
			return -EINVAL;
		}
	}
	path = tb[SNAPFREEZE_TARGET_A_PATH];
	level = tb[SNAPFREEZE_TARGET_A_LEVEL];
	if (!path || !*(char *)nla_data(path)) {
		NL_SET_ERR_MSG_ATTR(c->extack, nla,
				    "target path missing or empty");
		return -EINVAL;
	}
	if (*(char *)nla_data(path) != '/') {
		NL_SET_ERR_MSG_ATTR(c->extack, nla,
				    "target path must be absolute");
		return -EINVAL;
	}
	req->levels[req->nr_paths] = level ? nla_get_u32(level) : 0;
	*leveled |= !!level;
	req->paths[req->nr_paths++] = nla_data(path);
	return 0;
}

static int parse_targets(struct sf_ctx *c, struct sf_freeze_req *req)
{
	const struct nlattr *nla;
	bool leveled = false;
	unsigned int i;
	int rem, ret;

	nlmsg_for_each_attr(nla, c->nlh, GENL_HDRLEN, rem) {
		if (nla_type(nla) != SNAPFREEZE_A_TARGET)
			continue;
		if (req->nr_paths == SNAPFREEZE_MAX_TARGETS) {
			NL_SET_ERR_MSG_ATTR(c->extack, nla,
					    "too many targets");
			return -E2BIG;
		}
		ret = parse_target(c, nla, req, &leveled);
		if (ret)
			return ret;
	}
	if (!req->nr_paths) {
		NL_SET_ERR_MSG(c->extack, "FREEZE needs at least one target");
		return -EINVAL;
	}
	/* No levels at all: one after another, in request order (v1). */
	for (i = 0; !leveled && i < req->nr_paths; i++)
		req->levels[i] = i;
	return 0;
}

static int parse_timeout(struct sf_ctx *c, u32 *timeout_ms)
{
	struct nlattr *attr = c->attrs[SNAPFREEZE_A_TIMEOUT_MS];
	u32 min, max;

	sf_params_bounds(timeout_ms, &min, &max);
	if (attr)
		*timeout_ms = nla_get_u32(attr);
	if (*timeout_ms >= min && *timeout_ms <= max)
		return 0;
	if (attr)
		NL_SET_ERR_MSG_ATTR(c->extack, attr,
				    "timeout outside the module's bounds");
	else
		NL_SET_ERR_MSG(c->extack, "timeout outside the module's bounds");
	return -ERANGE;
}

static u32 get_flags(struct sf_ctx *c)
{
	struct nlattr *attr = c->attrs[SNAPFREEZE_A_FLAGS];

	return attr ? nla_get_u32(attr) : 0;
}

/*
 * The generated policy rejects the flags the spec does not have; each
 * command rejects those of the others, before anything else, as a policy
 * would.
 */
static int check_flags(struct sf_ctx *c, u32 valid)
{
	if (!(get_flags(c) & ~valid))
		return 0;
	NL_SET_ERR_MSG_ATTR(c->extack, c->attrs[SNAPFREEZE_A_FLAGS],
			    "a flag this command does not take");
	return -EINVAL;
}

static int parse_freeze(struct sf_ctx *c, struct sf_freeze_req *req)
{
	int ret;

	ret = check_flags(c, SNAPFREEZE_F_DRY_RUN);
	if (ret)
		return ret;
	ret = parse_targets(c, req);
	if (ret)
		return ret;
	req->exec_id = get_exec_id(c);
	if (IS_ERR(req->exec_id))
		return PTR_ERR(req->exec_id);
	ret = parse_timeout(c, &req->timeout_ms);
	if (ret)
		return ret;
	if (c->attrs[SNAPFREEZE_A_BUDGET_MS])
		req->budget_ms = nla_get_u32(c->attrs[SNAPFREEZE_A_BUDGET_MS]);
	req->dry_run = get_flags(c) & SNAPFREEZE_F_DRY_RUN;
	return 0;
}

/*
 * The reply describes the set as the FREEZE left it (frozen, or a dry
 * run's plan), not what a THAW or the deadline made of it since.
 */
static int do_freeze(struct sf_ctx *c)
{
	struct sf_reply reply = { .c = c };
	struct sf_freeze_req *req;
	struct sf_outcome *out;
	int ret;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	ret = -ENOMEM;
	if (!req || !out)
		goto out_free;
	ret = parse_freeze(c, req);
	if (ret)
		goto out_free;
	ret = sf_freeze(req, out);
	if (ret)
		report_error(c, out);
	else
		send_reply(&reply, build_outcome_reply(&reply, out));
	sf_outcome_release(out);
out_free:
	kfree(out);
	kfree(req);
	return ret;
}

static int do_thaw(struct sf_ctx *c)
{
	struct sf_reply reply = { .c = c };
	bool force = get_flags(c) & SNAPFREEZE_F_FORCE;
	const char *exec_id = NULL;
	struct sf_outcome *out;
	int ret;

	ret = check_flags(c, SNAPFREEZE_F_FORCE);
	if (ret)
		return ret;
	if (!force || c->attrs[SNAPFREEZE_A_EXEC_ID]) {
		exec_id = get_exec_id(c);
		if (IS_ERR(exec_id))
			return PTR_ERR(exec_id);
	}
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	/* Thawed first; the reply, best effort, after. */
	ret = sf_thaw(exec_id, force, out);
	if (ret)
		report_error(c, out);
	else
		send_reply(&reply, build_outcome_reply(&reply, out));
	sf_outcome_release(out);
	kfree(out);
	return ret;
}

static int do_get(struct sf_ctx *c)
{
	struct sf_reply reply = { .c = c };
	int ret;

	ret = build_live_reply(&reply);
	if (ret)
		return ret;
	return send_msg(&reply);
}

static int do_request(struct sf_ctx *c)
{
	switch (c->cmd) {
	case SNAPFREEZE_CMD_FREEZE:
		return do_freeze(c);
	case SNAPFREEZE_CMD_THAW:
		return do_thaw(c);
	default:
		return do_get(c);
	}
}

/* Requests run in their sender's task work: see the top of the file. */

struct sf_deferred {
	struct list_head node;		/* on sf_nl.deferred until it runs */
	struct callback_head twork;
	struct task_struct *task;	/* the sender, which runs it */
	struct sk_buff *skb;		/* a copy of the request's message */
	u8 cmd;
	bool priv;
};

static struct {
	/*
	 * Protects the list of deferred requests, in which the requests of
	 * one task (several in one sendmsg()) keep their order.
	 */
	spinlock_t lock;
	struct list_head deferred;
	bool used;			/* a request was ever deferred */
} sf_nl = {
	.lock = __SPIN_LOCK_UNLOCKED(sf_nl.lock),
	.deferred = LIST_HEAD_INIT(sf_nl.deferred),
};

static const struct genl_ops *cmd_op(u8 cmd);

static bool has_deferred(struct task_struct *task)
{
	struct sf_deferred *d;

	lockdep_assert_held(&sf_nl.lock);
	list_for_each_entry(d, &sf_nl.deferred, node)
		if (d->task == task)
			return true;
	return false;
}

/*
 * Whether a request runs deferred.  A GET runs at once unless the same
 * sendmsg() carried a FREEZE or THAW before it: it keeps its place.  A
 * kernel thread never returns to user space, and on kernels that do not
 * export task_work_add() nothing can be deferred (compat.h).
 */
static bool must_defer(u8 cmd)
{
	bool ret;

	if (!SF_CAN_DEFER || (current->flags & PF_KTHREAD))
		return false;
	if (cmd != SNAPFREEZE_CMD_GET)
		return true;
	spin_lock(&sf_nl.lock);
	ret = has_deferred(current);
	spin_unlock(&sf_nl.lock);
	return ret;
}

/*
 * A copy of the request's message, standing for it in netlink_ack(): the
 * sender's port id and socket (held), and genetlink's socket of the
 * initial namespace (which lives as long as the kernel) to send from.
 */
static struct sk_buff *copy_request(struct sk_buff *skb,
				    const struct nlmsghdr *nlh)
{
	struct sk_buff *copy = alloc_skb(nlh->nlmsg_len, GFP_KERNEL);

	if (!copy)
		return NULL;
	skb_put_data(copy, nlh, nlh->nlmsg_len);
	NETLINK_CB(copy) = NETLINK_CB(skb);
	sock_hold(NETLINK_CB(copy).sk);
	copy->sk = skb->sk;
	return copy;
}

static void free_deferred(struct sf_deferred *d)
{
	sock_put(NETLINK_CB(d->skb).sk);
	consume_skb(d->skb);
	kfree(d);
}

/* Run one deferred request, then reply and ack as genetlink would. */
static void run_deferred(struct sf_deferred *d)
{
	struct netlink_ext_ack extack = {};
	struct nlmsghdr *nlh = nlmsg_hdr(d->skb);
	struct sf_ctx c = {
		.nlh = nlh,
		.extack = &extack,
		.portid = NETLINK_CB(d->skb).portid,
		.seq = nlh->nlmsg_seq,
		.cmd = d->cmd,
		.priv = d->priv,
	};
	int ret;

	if (fatal_signal_pending(current) || (current->flags & PF_EXITING)) {
		/* The caller is going away: nothing was started. */
		NL_SET_ERR_MSG(&extack, "caller was killed before the request ran");
		ret = -EINTR;
	} else {
		/* Checked by genetlink already: this cannot fail. */
		ret = nlmsg_parse(nlh, GENL_HDRLEN, c.attrs,
				  cmd_op(d->cmd)->maxattr,
				  cmd_op(d->cmd)->policy, &extack);
		if (!ret)
			ret = do_request(&c);
	}
	if ((nlh->nlmsg_flags & NLM_F_ACK) || ret)
		netlink_ack(d->skb, nlh, ret, &extack);
}

/*
 * The sender's task work: its deferred requests, in the order sent.  The
 * module references they took are dropped last: after that, nothing of
 * the module runs but this function's return (sf_netlink_uninit()).
 */
static void deferred_workfn(struct callback_head *twork)
{
	struct sf_deferred *d, *tmp;
	unsigned int n = 0;
	LIST_HEAD(mine);

	spin_lock(&sf_nl.lock);
	list_for_each_entry_safe(d, tmp, &sf_nl.deferred, node)
		if (d->task == current)
			list_move_tail(&d->node, &mine);
	spin_unlock(&sf_nl.lock);
	list_for_each_entry_safe(d, tmp, &mine, node) {
		run_deferred(d);
		free_deferred(d);
		n++;
	}
	while (n--)
		module_put(THIS_MODULE);
}

/*
 * Hand the request to its sender's task work: -EINTR (no ack now) once it
 * is queued; -ENOMEM when there is no memory for its copy and nothing of
 * the sender is queued before it: the caller then runs it at once.  The
 * copy is one contiguous buffer: the largest request (64 targets of
 * PATH_MAX) needs 512 KiB, which a fragmented machine may not have where
 * netlink had vmalloc'd the original.
 */
static int defer(struct sk_buff *skb, struct genl_info *info, bool priv)
{
	struct sf_deferred *d;
	bool first;

	if (!try_module_get(THIS_MODULE)) {
		GENL_SET_ERR_MSG(info, "snapfreeze is shutting down");
		return -ESHUTDOWN;
	}
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (d) {
		d->skb = copy_request(skb, info->nlhdr);
		d->task = current;
		d->cmd = info->genlhdr->cmd;
		d->priv = priv;
	}
	spin_lock(&sf_nl.lock);
	first = !has_deferred(current);
	if (d && d->skb)
		list_add_tail(&d->node, &sf_nl.deferred);
	spin_unlock(&sf_nl.lock);
	if (!d || !d->skb) {
		kfree(d);
		module_put(THIS_MODULE);
		if (first)
			return -ENOMEM;
		/* Run at once, it would overtake a request sent before it. */
		GENL_SET_ERR_MSG(info, "out of memory for a copy of the request");
		return -ENOBUFS;
	}
	WRITE_ONCE(sf_nl.used, true);
	if (first) {
		init_task_work(&d->twork, deferred_workfn);
		/* Fails only for a task past exit_task_work(): not a sender. */
		if (sf_task_work_add(current, &d->twork))
			deferred_workfn(&d->twork);
	}
	return -EINTR;
}

/* Every command's callback; GET is for anyone. */
static int sf_nl_request(struct sk_buff *skb, struct genl_info *info)
{
	bool priv = is_admin(skb);
	int ret;
	struct sf_ctx c = {
		.nlh = info->nlhdr,
		.extack = info->extack,
		.portid = info->snd_portid,
		.seq = info->snd_seq,
		.cmd = info->genlhdr->cmd,
		.priv = priv,
	};

	if (c.cmd != SNAPFREEZE_CMD_GET && !priv) {
		GENL_SET_ERR_MSG(info, "CAP_SYS_ADMIN required");
		return -EPERM;
	}
	if (must_defer(c.cmd)) {
		ret = defer(skb, info, priv);
		if (ret != -ENOMEM)
			return ret;
	}
	/* info->attrs has the command's maxattr + 1: the rest stays NULL. */
	memcpy(c.attrs, info->attrs,
	       (cmd_op(c.cmd)->maxattr + 1) * sizeof(*c.attrs));
	if (c.cmd == SNAPFREEZE_CMD_GET)
		return do_request(&c);
	/*
	 * FREEZE or THAW at once, under cb_lock: the module stays loaded
	 * while it runs (an rmmod gets EBUSY, as with a deferred one), and
	 * module_put() before the return is safe because an unload's
	 * genl_unregister_family() waits for cb_lock.
	 */
	if (!try_module_get(THIS_MODULE)) {
		GENL_SET_ERR_MSG(info, "snapfreeze is shutting down");
		return -ESHUTDOWN;
	}
	ret = do_request(&c);
	module_put(THIS_MODULE);
	return ret;
}

static const struct genl_ops sf_ops[] = {
	{
		.cmd = SNAPFREEZE_CMD_FREEZE,
		.doit = sf_nl_request,
		.policy = snapfreeze_freeze_nl_policy,
		.maxattr = ARRAY_SIZE(snapfreeze_freeze_nl_policy) - 1,
	},
	{
		.cmd = SNAPFREEZE_CMD_THAW,
		.doit = sf_nl_request,
		.policy = snapfreeze_thaw_nl_policy,
		.maxattr = ARRAY_SIZE(snapfreeze_thaw_nl_policy) - 1,
	},
	{
		.cmd = SNAPFREEZE_CMD_GET,
		.doit = sf_nl_request,
		.policy = sf_get_policy,
		.maxattr = SNAPFREEZE_A_MAX,
	},
};

/* The command's op: its policy and maxattr (GET's for an unknown one). */
static const struct genl_ops *cmd_op(u8 cmd)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sf_ops); i++)
		if (sf_ops[i].cmd == cmd)
			return &sf_ops[i];
	return &sf_ops[ARRAY_SIZE(sf_ops) - 1];
}

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
	/*
	 * No deferred request is left (each holds the module), but the task
	 * that ran the last one may still be on its way out of
	 * deferred_workfn(), past its module_put(): wait until every task
	 * has been through a voluntary switch or user space.
	 */
	if (READ_ONCE(sf_nl.used))
		synchronize_rcu_tasks();
}
