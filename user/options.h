/* SPDX-License-Identifier: GPL-2.0 */
/* The command line and the configuration file, parsed into one struct. */
#ifndef SF_OPTIONS_H
#define SF_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include <linux/snapfreeze.h>

/* The fuzzer (tests/fuzz/) points the default at a file of its own. */
#ifndef SF_DEFAULT_CONFIG
#define SF_DEFAULT_CONFIG	"/etc/snapfreeze/snapfreeze.conf"
#endif
#define SF_DEFAULT_HOOKS_DIR	"/etc/snapfreeze/hooks.d"
#define SF_DEFAULT_TIMEOUT_S	60
#define SF_MAX_TIMEOUT_S	3600
#define SF_DEFAULT_HOOK_TIMEOUT_S 30
/* The largest configuration file read. */
#define SF_CONFIG_MAX_BYTES	65536

enum sf_command {
	SF_CMD_PRE_SCRIPT,
	SF_CMD_POST_SCRIPT,
	SF_CMD_DRY_RUN,
	SF_CMD_STATUS,
	SF_CMD_MONITOR,
	SF_CMD_HELP,
	SF_CMD_VERSION,
};

struct sf_options {
	enum sf_command cmd;
	const char *cmd_word;		/* as the scheduler passed it */
	const char *exec_id;
	unsigned int timeout_s;
	const char *targets[SNAPFREEZE_MAX_TARGETS];
	unsigned int nr_targets;
	bool include_root;
	const char *hooks_dir;
	unsigned int hook_timeout_s;
	const char *config;
	bool force;
	bool json;
	char *config_text;		/* the file; values point into it */
};

/*
 * Parse argv, then the configuration file for what argv left unset.
 * Returns 0, or -1 after printing the problem to @err (a usage error).
 */
int sf_options_parse(struct sf_options *o, int argc, char **argv, FILE *err);

/* Free what sf_options_parse() allocated. */
void sf_options_free(struct sf_options *o);

/* "None" or a UUID (8-4-4-4-12 hex digits). */
bool sf_exec_id_valid(const char *id);

void sf_usage(FILE *f);

#endif /* SF_OPTIONS_H */
