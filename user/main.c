// SPDX-License-Identifier: GPL-2.0
/*
 * snapfreeze: what the snapshot scheduler runs.  pre-script, post-script
 * and dry-run become requests to the snapfreeze kernel module; what the
 * kernel answers becomes the scheduler's exit code (exitcodes.h).  The
 * command table is in options.c; each command runs in its own file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "log.h"
#include "options.h"
#include "signals.h"

int cmd_version(const struct options *o)
{
	(void)o;
	printf("snapfreeze %s\n", SF_VERSION);
	return SF_EXIT_OK;
}

/*
 * Usage problems are ERROR: lines on stdout too: stdout is what the
 * scheduler keeps of a run.  A parse that succeeded may still have
 * warnings (post-script's configuration file): INFO lines.
 */
static int parse_options(struct options *o, int argc, char **argv)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *err;
	int ret;

	err = open_memstream(&buf, &len);
	if (!err)
		return options_parse(o, argc, argv, stderr);
	ret = options_parse(o, argc, argv, err);
	fclose(err);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (ret)
			log_error("%s", line);
		else
			log_info("%s", line);
		fprintf(stderr, "%s\n", line);
	}
	if (ret)
		fputs("Run 'snapfreeze --help' for usage.\n", stderr);
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	struct options o;
	int rc;

	if (parse_options(&o, argc, argv)) {
		options_free(&o);
		return SF_EXIT_USAGE;
	}
	signals_setup(o.command->run == cmd_pre_script ||
		      o.command->run == cmd_post_script ||
		      o.command->run == cmd_dry_run || o.command->run == cmd_run);
	rc = o.command->run(&o);
	options_free(&o);
	return rc;
}
