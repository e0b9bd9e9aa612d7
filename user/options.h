/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line and the configuration file, parsed into one struct, and
 * the table of commands that drives the parsing, the usage text and the
 * dispatch in main().
 */
#ifndef SF_OPTIONS_H
#define SF_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include <linux/snapfreeze.h>

#define SF_DEFAULT_HOOKS_DIR	"/etc/snapfreeze/hooks.d"
/* The fuzzer (tests/fuzz/) points the default at a file of its own. */
#ifndef SF_DEFAULT_CONFIG
#define SF_DEFAULT_CONFIG	"/etc/snapfreeze/snapfreeze.conf"
#endif
#define SF_DEFAULT_TIMEOUT_S	60
#define SF_MAX_TIMEOUT_S	3600
#define SF_DEFAULT_HOOK_TIMEOUT_S 30
/*
 * The thaw hooks of a pre-script that failed (its rollback) share this
 * many seconds, on top of the budget (user/freeze.c, rollback_hooks).
 */
#define SF_DEFAULT_ROLLBACK_S	2
/*
 * What the default plan never freezes: the filesystems holding these
 * (the SSM agent's state and logs, which it writes while it runs the
 * pre-script; the persistent system journal).  keep_thawed replaces them.
 */
#define SF_DEFAULT_KEEP_THAWED	{ "/var/lib/amazon/ssm", "/var/log/amazon/ssm", \
				  "/var/log/journal" }
#define SF_MAX_KEEP_THAWED	16
/*
 * pre-script's time budget, from its start to the set frozen (hooks,
 * flush and freeze).  A pre-script that fails ends by budget +
 * rollback_timeout, 9 s: inside DLM's default script timeout (10 s; a
 * policy may set 10 to 120 s) with 1 s for the SSM agent's shell and the
 * helper's start.  8 s, as before, let the agent kill a pre-script in
 * its rollback at 10 s (tests/apps/scheduler-guest.sh, under load).
 */
#define SF_DEFAULT_BUDGET_S	7
/* The largest configuration file read. */
#define SF_CONFIG_MAX_BYTES	65536

struct options;

/* One command word of the table (options.c). */
struct command {
	const char *word;
	int (*run)(const struct options *o);
	unsigned int settings;		/* the options it takes, SETTING_* bits */
	const char *summary;		/* for the usage; NULL: an alias */
};

struct target_list {
	const char *paths[SNAPFREEZE_MAX_TARGETS];
	unsigned int n;
};

struct path_list {
	const char *paths[SF_MAX_KEEP_THAWED];
	unsigned int n;
	bool given;		/* set by the file: the defaults are gone */
};

struct options {
	const struct command *command;
	const char *exec_id;		/* normalized: "None" or lower case */
	unsigned int timeout_s;
	struct target_list targets;
	bool include_root;
	const char *hooks_dir;
	unsigned int hook_timeout_s;
	unsigned int budget_s;
	unsigned int rollback_s;
	struct path_list keep_thawed;
	bool hooks_dir_given;		/* by --hooks-dir or the file */
	const char *config;
	bool force;
	bool json;
	bool prometheus;
	char *const *run_argv;		/* run: COMMAND [ARG]..., NULL-ended */
	char *config_text;		/* the file; values point into it */
	char exec_id_buf[SNAPFREEZE_EXEC_ID_MAX + 1];
};

/*
 * Parse argv, then the configuration file for what argv left unset.
 * Returns 0, or -1 after printing the problem to @err (a usage error).
 * post-script never fails on the file (it must thaw): what is wrong there
 * is printed to @err as "snapfreeze: warning: ..." lines and skipped, and
 * 0 is returned.  "COMMAND --help" selects the --help command.
 */
int options_parse(struct options *o, int argc, char **argv, FILE *err);
/* Free what options_parse() allocated. */
void options_free(struct options *o);

/*
 * Whether a file that runs or configures something as root is safe to
 * use, as sshd and cron judge it: @path with every symlink resolved, and
 * each directory above it, owned by root (or by the user running us) and
 * writable by nobody else; a directory writable by others is allowed only
 * when it is root's and sticky (/tmp: nobody else can replace what is in
 * it).  false with the reason in @why.
 */
bool path_safe(const char *path, char *why, size_t size);

/* The usage, derived from the tables: stdout for --help, else stderr. */
void usage(FILE *f);

/* The commands, in the file that runs each (freeze.c, run.c, ...). */
int cmd_pre_script(const struct options *o);
int cmd_dry_run(const struct options *o);
int cmd_run(const struct options *o);
int cmd_post_script(const struct options *o);
int cmd_status(const struct options *o);
int cmd_monitor(const struct options *o);
int cmd_help(const struct options *o);
int cmd_version(const struct options *o);

#endif /* SF_OPTIONS_H */
