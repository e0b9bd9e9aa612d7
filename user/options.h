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
 * pre-script's time budget, from its start to the set frozen (hooks,
 * flush and freeze): inside DLM's default script timeout (10 s; a policy
 * may set 10 to 120 s), leaving 2 s for the SSM agent and the rollback.
 */
#define SF_DEFAULT_BUDGET_S	8
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

struct options {
	const struct command *command;
	const char *exec_id;
	unsigned int timeout_s;
	struct target_list targets;
	bool include_root;
	const char *hooks_dir;
	unsigned int hook_timeout_s;
	unsigned int budget_s;
	const char *config;
	bool force;
	bool json;
	bool prometheus;
	char *const *run_argv;		/* run: COMMAND [ARG]..., NULL-ended */
	char *config_text;		/* the file; values point into it */
};

/*
 * Parse argv, then the configuration file for what argv left unset.
 * Returns 0, or -1 after printing the problem to @err (a usage error).
 */
int options_parse(struct options *o, int argc, char **argv, FILE *err);
/* Free what options_parse() allocated. */
void options_free(struct options *o);

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
