// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the helper's command line and configuration file
 * (user/options.c), built with AddressSanitizer and UBSan.
 *
 * An input is the argument words, each ended by a NUL byte, then one more
 * NUL, then the configuration file's bytes:
 *
 *   "pre-script\0--timeout\0" "5\0" "\0" "target = /a\n"
 *    argv[1..]                         the configuration file
 *
 * The file is a memfd, and it is what the parser reads: it is the default
 * configuration (SF_DEFAULT_CONFIG is this program's path to it), and any
 * --config value in the input is replaced by that path too, so that the
 * fuzzer never opens another file.  Whatever the input, the parser must
 * return 0 with sane options or -1 after printing why (the helper then
 * exits 1); a crash, a sanitizer report, a leak or a hang (-timeout) is a
 * failure.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "names.h"
#include "options.h"

#define MAX_WORDS 80

/* The commands the table dispatches to: never run here. */
#define STUB(fn) int fn(const struct options *o) { (void)o; abort(); }
STUB(cmd_pre_script) STUB(cmd_dry_run) STUB(cmd_post_script)
STUB(cmd_status) STUB(cmd_monitor) STUB(cmd_version)
STUB(cmd_run)

char fuzz_config_path[64];
static char config_equals[80];		/* "--config=" fuzz_config_path */
static int config_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	(void)argc, (void)argv;
	config_fd = memfd_create("snapfreeze.conf", MFD_CLOEXEC);
	if (config_fd < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(fuzz_config_path, sizeof(fuzz_config_path),
		 "/proc/self/fd/%d", config_fd);
	snprintf(config_equals, sizeof(config_equals), "--config=%s",
		 fuzz_config_path);
	/* The usage is built from the tables too: under the sanitizers once. */
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		exit(1);
	usage(devnull);
	fclose(devnull);
	return 0;
}

static void set_config(const uint8_t *data, size_t size)
{
	if (ftruncate(config_fd, 0) ||
	    pwrite(config_fd, data, size, 0) != (ssize_t)size) {
		perror("config memfd");
		abort();
	}
}

/* "--c", "--con", "--config=x": getopt takes any unambiguous prefix. */
static bool config_option(const char *word)
{
	return !strncmp(word, "--c", 3);
}

/*
 * Split @data into argv (words copied into @buf) and the configuration;
 * returns argc.  Every --config value becomes the memfd's path.
 */
static int split(const uint8_t *data, size_t size, char *buf, char **argv,
		 const uint8_t **conf, size_t *conf_len)
{
	size_t i = 0, start;
	int argc = 1;

	argv[0] = "snapfreeze";
	memcpy(buf, data, size);
	buf[size] = '\0';
	*conf = data + size;
	*conf_len = 0;
	while (i < size && argc < MAX_WORDS - 2) {
		if (buf[i] == '\0') {	/* the empty word ends argv */
			*conf = data + i + 1;
			*conf_len = size - i - 1;
			break;
		}
		start = i;
		while (i < size && buf[i])
			i++;
		argv[argc++] = buf + start;
		i++;
	}
	for (i = 1; i < (size_t)argc; i++) {
		if (!config_option(argv[i]))
			continue;
		if (strchr(argv[i], '='))
			argv[i] = config_equals;
		else if (i + 1 < (size_t)argc)
			argv[++i] = fuzz_config_path;
	}
	argv[argc] = NULL;
	return argc;
}

static bool in_range(unsigned int v, unsigned int min, unsigned int max)
{
	return v >= min && v <= max;
}

/*
 * What a successful parse must give, whatever the input.  --help wins over
 * every other option ("status --json --prometheus --help" prints the usage),
 * so the checks of what a command will use skip it.
 */
static void check_options(const struct options *o)
{
	unsigned int i;

	if (!o->command || !o->command->run || !exec_id_valid(o->exec_id) ||
	    !in_range(o->timeout_s, 1, SF_MAX_TIMEOUT_S) ||
	    !in_range(o->hook_timeout_s, 1, SF_MAX_TIMEOUT_S) ||
	    o->targets.n > SNAPFREEZE_MAX_TARGETS || !*o->hooks_dir ||
	    !*o->config)
		abort();
	for (i = 0; i < o->targets.n; i++)
		if (!*o->targets.paths[i])
			abort();
	/* run has a command to run, and only run has one. */
	if ((o->command->run == cmd_run) != (o->run_argv && o->run_argv[0]))
		abort();
	if (o->json && o->prometheus && o->command->run != cmd_help)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_WORDS], *buf, *msg = NULL;
	struct options o;
	const uint8_t *conf;
	size_t conf_len, msg_len = 0;
	FILE *err;
	int argc, ret;

	buf = malloc(size + 1);
	err = open_memstream(&msg, &msg_len);
	if (!buf || !err)
		abort();
	argc = split(data, size, buf, argv, &conf, &conf_len);
	set_config(conf, conf_len);

	ret = options_parse(&o, argc, argv, err);
	fclose(err);
	if (ret == 0)
		check_options(&o);
	else if (ret != -1 || !msg_len)
		abort();	/* rejected without saying why */
	options_free(&o);
	free(msg);
	free(buf);
	return 0;
}
