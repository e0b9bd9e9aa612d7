// SPDX-License-Identifier: GPL-2.0
/*
 * snapfreeze: what the snapshot scheduler runs.  pre-script, post-script and
 * dry-run become requests to the snapfreeze kernel module; what the kernel
 * answers becomes the scheduler's exit code (exitcodes.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "discover.h"
#include "exitcodes.h"
#include "hooks.h"
#include "log.h"
#include "nlclient.h"
#include "options.h"
#include "report.h"

#define SF_VERSION "0.1.0"

static int open_family(struct sf_nl **nl)
{
	int ret = sf_nl_open(nl);

	if (ret == -ENOENT) {
		sf_error("the snapfreeze kernel module is not loaded and could not be loaded;");
		sf_error("install it (dkms install snapfreeze/" SF_VERSION ", see README.md) and run modprobe snapfreeze");
	} else if (ret) {
		sf_error("cannot talk to the kernel: %s", strerror(-ret));
	}
	return ret;
}

static void report_kernel_error(const char *what, int ret,
				const struct sf_nl_error *err,
				const struct sf_plan *plan)
{
	const char *why = err->msg[0] ? err->msg : strerror(-ret);

	if (err->target >= 0 && plan && (unsigned int)err->target < plan->n)
		sf_error("%s failed: %s: %s (error %d)", what,
			 plan->paths[err->target], why, -ret);
	else
		sf_error("%s failed: %s (error %d)", what, why, -ret);
}

static char *join_paths(const struct sf_plan *plan)
{
	size_t len = 1;
	unsigned int i;
	char *s;

	for (i = 0; i < plan->n; i++)
		len += strlen(plan->paths[i]) + 1;
	s = calloc(1, len);
	for (i = 0; s && i < plan->n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, plan->paths[i]);
	}
	return s;
}

/* The set's paths as the kernel reported them, for SNAPFREEZE_TARGETS. */
static char *status_paths(const struct sf_nl_status *st)
{
	struct sf_plan plan = { .n = st->nr_targets };
	unsigned int i;

	for (i = 0; i < st->nr_targets; i++)
		plan.paths[i] = st->targets[i].path;
	return join_paths(&plan);
}

/* Run hooks [0, n) in reverse with @arg; 0 if all of them exited 0. */
static int hooks_reverse(const struct sf_hooks *h, unsigned int n,
			 const char *arg)
{
	int bad = 0;

	while (n-- > 0)
		if (sf_hook_run(h, n, arg) != 0)
			bad = -1;
	return bad;
}

/*
 * Drop the filesystems that cannot be frozen (tmpfs-like block filesystems
 * such as vfat): asked of the kernel with a dry run of each alone.
 */
static void drop_unfreezable(struct sf_nl *nl, struct sf_plan *plan,
			     const char *exec_id)
{
	struct sf_nl_status st = { 0 };
	struct sf_nl_error err;
	unsigned int i = 0;

	while (i < plan->n) {
		int ret = sf_nl_freeze(nl, exec_id, 60000, &plan->paths[i], 1,
				       SNAPFREEZE_F_DRY_RUN, &st, &err);

		sf_nl_status_free(&st);
		if (ret == -EOPNOTSUPP) {
			sf_info("skipping %s: its filesystem cannot be frozen",
				plan->paths[i]);
			sf_plan_remove(plan, i);
			continue;
		}
		i++;
	}
}

/* ", skew N us" when the module reports it. */
static const char *skew_text(const struct sf_nl_status *st)
{
	static char buf[48];

	if (!st->has_skew)
		return "";
	snprintf(buf, sizeof(buf), ", skew %llu us",
		 (unsigned long long)(st->skew_ns / 1000));
	return buf;
}

static void report_target(const struct sf_nl_target *t, bool dry)
{
	char timings[96] = "";

	if (t->has_timings && !dry)
		snprintf(timings, sizeof(timings),
			 "; flush %.1f ms, freeze %.1f ms, frozen at +%.1f ms",
			 t->flush_ns / 1e6, t->freeze_ns / 1e6,
			 t->frozen_at_ns / 1e6);
	sf_info("%s %s (%s on %s, device %u:%u%s)",
		dry ? "would freeze" : "frozen", t->path, t->fstype, t->sb_id,
		t->major, t->minor, timings);
}

static int freeze_exit_code(int ret)
{
	return ret == -EBUSY ? SF_EXIT_ALREADY_FROZEN : SF_EXIT_PRE_FAILED;
}

/* pre-script and dry-run. */
static int cmd_freeze(const struct sf_options *o, bool dry)
{
	const char *what = dry ? "dry-run" : "pre-script";
	struct sf_hooks hooks = { 0 };
	struct sf_nl_status st = { 0 };
	struct sf_nl_error err;
	struct sf_nl *nl = NULL;
	struct sf_plan plan;
	unsigned int i, ran = 0;
	int64_t t0 = sf_now_ms(), t;
	int ret, rc;

	sf_info("snapfreeze %s %s, execution id %s, started at %s", SF_VERSION,
		what, o->exec_id, sf_timestamp());
	if (open_family(&nl)) {
		rc = SF_EXIT_NOT_READY;
		goto out;
	}

	/* Busy before anything else: no hook runs for a freeze doomed to fail. */
	ret = sf_nl_get(nl, &st, &err);
	if (!ret && (st.state == SNAPFREEZE_STATE_FROZEN ||
		     st.state == SNAPFREEZE_STATE_FREEZING)) {
		sf_error("a freeze set is already %s (execution id %s): run post-script first",
			 sf_nl_state_name(st.state), st.exec_id);
		rc = SF_EXIT_ALREADY_FROZEN;
		goto out;
	}

	if (o->nr_targets)
		ret = sf_plan_targets(&plan, o->targets, o->nr_targets);
	else
		ret = sf_discover(&plan, o->include_root);
	if (ret) {
		rc = SF_EXIT_PRE_FAILED;
		goto out;
	}
	if (!o->nr_targets)
		drop_unfreezable(nl, &plan, o->exec_id);
	if (!plan.n) {
		sf_error("no filesystem to freeze: name one with --target, or use --include-root");
		rc = SF_EXIT_PRE_FAILED;
		goto out;
	}
	for (i = 0; i < plan.n; i++)
		sf_info("target %u: %s", i + 1, plan.paths[i]);

	if (sf_hooks_load(&hooks, o->hooks_dir)) {
		rc = SF_EXIT_PRE_FAILED;
		goto out;
	}
	hooks.timeout_s = o->hook_timeout_s;
	hooks.exec_id = o->exec_id;
	hooks.command = what;
	hooks.targets = join_paths(&plan);
	t = sf_now_ms();
	for (ran = 0; ran < hooks.n; ran++) {
		ret = sf_hook_run(&hooks, ran, dry ? "dry-run" : "freeze");
		if (ret == 0)
			continue;
		if (dry) {
			sf_error("hook %s is not ready for a freeze", hooks.names[ran]);
			rc = ret == SF_HOOK_NOT_READY ? SF_EXIT_NOT_READY :
							SF_EXIT_PRE_FAILED;
			goto out;
		}
		sf_error("hook %s failed to prepare for the freeze%s: undoing the hooks before it",
			 hooks.names[ran],
			 ret == SF_HOOK_NOT_READY ? " (application not ready)" : "");
		hooks_reverse(&hooks, ran, "thaw");
		rc = ret == SF_HOOK_NOT_READY ? SF_EXIT_NOT_READY :
						SF_EXIT_PRE_FAILED;
		goto out;
	}
	if (hooks.n)
		sf_info("%u hook(s) ran in %lld ms", hooks.n,
			(long long)(sf_now_ms() - t));

	t = sf_now_ms();
	ret = sf_nl_freeze(nl, o->exec_id, o->timeout_s * 1000, plan.paths,
			   plan.n, dry ? SNAPFREEZE_F_DRY_RUN : 0, &st, &err);
	if (ret) {
		report_kernel_error(dry ? "the kernel's dry run" : "freeze",
				    ret, &err, &plan);
		if (!dry && hooks.n) {
			sf_info("nothing is frozen; thawing the hooks");
			hooks_reverse(&hooks, hooks.n, "thaw");
		}
		rc = freeze_exit_code(ret);
		goto out;
	}
	for (i = 0; i < st.nr_targets; i++)
		report_target(&st.targets[i], dry);
	if (dry)
		sf_info("dry run: every check passed, nothing was frozen");
	else
		sf_info("froze %u filesystem(s) in %lld ms (flush %llu ms, freeze window %llu ms%s); the kernel thaws them in %u s unless post-script comes first",
			st.nr_targets, (long long)(sf_now_ms() - t),
			(unsigned long long)(st.flush_ns / 1000000),
			(unsigned long long)(st.freeze_ns / 1000000),
			skew_text(&st), o->timeout_s);
	rc = SF_EXIT_OK;
out:
	sf_info("%s finished with exit code %d at %s, runtime %lld ms", what, rc,
		sf_timestamp(), (long long)(sf_now_ms() - t0));
	sf_nl_status_free(&st);
	free(hooks.targets);
	sf_hooks_free(&hooks);
	sf_nl_close(nl);
	return rc;
}

static int cmd_post(const struct sf_options *o)
{
	struct sf_hooks hooks = { 0 };
	struct sf_nl_status st = { 0 };
	struct sf_nl_error err;
	struct sf_nl *nl = NULL;
	int64_t t0 = sf_now_ms();
	int ret, rc;

	sf_info("snapfreeze %s post-script, execution id %s%s, started at %s",
		SF_VERSION, o->exec_id, o->force ? " (forced)" : "",
		sf_timestamp());
	if (open_family(&nl)) {
		rc = SF_EXIT_NOT_READY;
		goto out;
	}
	ret = sf_nl_thaw(nl, o->exec_id, o->force ? SNAPFREEZE_F_FORCE : 0,
			 &st, &err);
	if (ret == -ENOENT) {
		sf_error("nothing is frozen: was pre-script run, or did it fail?");
		rc = SF_EXIT_NOT_FROZEN;
	} else if (ret) {
		report_kernel_error("thaw", ret, &err, NULL);
		rc = SF_EXIT_POST_FAILED;
		goto out;
	} else {
		rc = report_thaw(&st);
	}

	/*
	 * Thaw hooks run whenever our hold is gone, even where another holder
	 * keeps a filesystem frozen: the locks they release are ours.
	 */
	if (sf_hooks_load(&hooks, o->hooks_dir) == 0 && hooks.n) {
		hooks.timeout_s = o->hook_timeout_s;
		hooks.exec_id = o->exec_id;
		hooks.command = "post-script";
		hooks.targets = status_paths(&st);
		if (hooks_reverse(&hooks, hooks.n, "thaw")) {
			sf_error("a thaw hook failed");
			if (rc == SF_EXIT_OK)
				rc = SF_EXIT_POST_FAILED;
		}
	}
out:
	sf_info("post-script finished with exit code %d at %s, runtime %lld ms",
		rc, sf_timestamp(), (long long)(sf_now_ms() - t0));
	sf_nl_status_free(&st);
	free(hooks.targets);
	sf_hooks_free(&hooks);
	sf_nl_close(nl);
	return rc;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json_target_extras(const struct sf_nl_target *t)
{
	if (t->has_state)
		printf(",\"state\":\"%s\"", sf_nl_target_state_name(t->state));
	if (t->has_timings)
		printf(",\"flush_ns\":%llu,\"freeze_ns\":%llu,\"frozen_at_ns\":%llu",
		       (unsigned long long)t->flush_ns,
		       (unsigned long long)t->freeze_ns,
		       (unsigned long long)t->frozen_at_ns);
}

static void print_json(const struct sf_nl_status *st)
{
	unsigned int i;

	printf("{\"state\":\"%s\",\"execution_id\":", sf_nl_state_name(st->state));
	if (st->exec_id[0])
		json_string(st->exec_id);
	else
		fputs("null", stdout);
	fputs(",\"targets\":[", stdout);
	for (i = 0; i < st->nr_targets; i++) {
		printf("%s{\"path\":", i ? "," : "");
		json_string(st->targets[i].path);
		fputs(",\"fstype\":", stdout);
		json_string(st->targets[i].fstype);
		fputs(",\"sb_id\":", stdout);
		json_string(st->targets[i].sb_id);
		printf(",\"device\":\"%u:%u\"", st->targets[i].major,
		       st->targets[i].minor);
		print_json_target_extras(&st->targets[i]);
		putchar('}');
	}
	printf("],\"timeout_ms\":%u,\"remaining_ms\":%u,\"frozen_since_ns\":%llu,\"thawed_at_ns\":%llu,\"thaw_reason\":\"%s\",\"last_flush_ns\":%llu,\"last_freeze_ns\":%llu,\"freezes\":%llu,\"thaws\":%llu,\"auto_thaws\":%llu,\"failures\":%llu,\"last_error\":",
	       st->timeout_ms, st->remaining_ms,
	       (unsigned long long)st->frozen_since_ns,
	       (unsigned long long)st->thawed_at_ns,
	       sf_nl_reason_name(st->thaw_reason),
	       (unsigned long long)st->flush_ns,
	       (unsigned long long)st->freeze_ns,
	       (unsigned long long)st->freezes, (unsigned long long)st->thaws,
	       (unsigned long long)st->auto_thaws,
	       (unsigned long long)st->failures);
	json_string(st->last_error);
	/* What older modules do not report is left out. */
	if (st->has_held_by_other)
		printf(",\"held_by_other\":%u", st->held_by_other);
	if (st->has_skew)
		printf(",\"skew_ns\":%llu", (unsigned long long)st->skew_ns);
	puts("}");
}

static void print_target(const struct sf_nl_target *t)
{
	printf("target: %s (%s on %s, %u:%u)", t->path, t->fstype, t->sb_id,
	       t->major, t->minor);
	if (t->has_state)
		printf(" %s", sf_nl_target_state_name(t->state));
	if (t->has_state && t->state == SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER)
		printf(": still frozen by another holder (fsfreeze -f?), only it can thaw it: fsfreeze -u %s",
		       t->path);
	putchar('\n');
}

static int cmd_status(const struct sf_options *o)
{
	struct sf_nl_status st = { 0 };
	struct sf_nl_error err;
	struct sf_nl *nl;
	unsigned int i;
	int ret;

	if (open_family(&nl))
		return SF_EXIT_NOT_READY;
	ret = sf_nl_get(nl, &st, &err);
	sf_nl_close(nl);
	if (ret) {
		report_kernel_error("status", ret, &err, NULL);
		return SF_EXIT_NOT_READY;
	}
	if (o->json) {
		print_json(&st);
	} else {
		printf("state: %s\n", sf_nl_state_name(st.state));
		if (st.exec_id[0])
			printf("execution id: %s\n", st.exec_id);
		for (i = 0; i < st.nr_targets; i++)
			print_target(&st.targets[i]);
		if (st.state == SNAPFREEZE_STATE_FROZEN)
			printf("auto-thaw in: %u ms\n", st.remaining_ms);
		printf("freezes: %llu, thaws: %llu, auto-thaws: %llu, failures: %llu\n",
		       (unsigned long long)st.freezes,
		       (unsigned long long)st.thaws,
		       (unsigned long long)st.auto_thaws,
		       (unsigned long long)st.failures);
		if (st.last_error[0])
			printf("last error: %s\n", st.last_error);
		if (st.held_by_other)
			printf("left frozen by another holder at the last thaw: %u filesystem(s); only that holder can thaw them (fsfreeze -u PATH)\n",
			       st.held_by_other);
	}
	sf_nl_status_free(&st);
	return SF_EXIT_OK;
}

static int print_event(const struct sf_nl_status *ev, void *arg)
{
	(void)arg;
	printf("%s %s execution %s", sf_timestamp(), sf_nl_event_name(ev->event),
	       ev->exec_id);
	if (ev->thaw_reason)
		printf(" reason %s", sf_nl_reason_name(ev->thaw_reason));
	if (ev->err)
		printf(" error %s", strerror(ev->err));
	if (ev->held_by_other)
		printf(" held-by-other %u", ev->held_by_other);
	putchar('\n');
	fflush(stdout);
	return 0;
}

static int cmd_monitor(void)
{
	struct sf_nl *nl;
	int ret;

	if (open_family(&nl))
		return SF_EXIT_NOT_READY;
	ret = sf_nl_monitor(nl, print_event, NULL);
	sf_nl_close(nl);
	if (ret) {
		sf_error("monitor: %s", strerror(-ret));
		return SF_EXIT_NOT_READY;
	}
	return SF_EXIT_OK;
}

/*
 * Usage problems are ERROR: lines on stdout too: stdout is what the
 * scheduler keeps of a run.
 */
static int parse_options(struct sf_options *o, int argc, char **argv)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *err;
	int ret;

	err = open_memstream(&buf, &len);
	if (!err)
		return sf_options_parse(o, argc, argv, stderr);
	ret = sf_options_parse(o, argc, argv, err);
	fclose(err);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		sf_error("%s", line);
		fprintf(stderr, "%s\n", line);
	}
	if (ret)
		fputs("Run 'snapfreeze --help' for usage.\n", stderr);
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	struct sf_options o;

	if (parse_options(&o, argc, argv))
		return SF_EXIT_USAGE;
	/* The scheduler reads our stdout; a closed pipe must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	switch (o.cmd) {
	case SF_CMD_PRE_SCRIPT:
		return cmd_freeze(&o, false);
	case SF_CMD_DRY_RUN:
		return cmd_freeze(&o, true);
	case SF_CMD_POST_SCRIPT:
		return cmd_post(&o);
	case SF_CMD_STATUS:
		return cmd_status(&o);
	case SF_CMD_MONITOR:
		return cmd_monitor();
	case SF_CMD_HELP:
		sf_usage(stdout);
		return SF_EXIT_OK;
	case SF_CMD_VERSION:
		printf("snapfreeze %s\n", SF_VERSION);
		return SF_EXIT_OK;
	}
	return SF_EXIT_USAGE;
}
