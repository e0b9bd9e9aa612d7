// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the helper's command line and configuration file parsing
 * (user/options.c).  No kernel needed: run on the build host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#include "../user/options.h"

#define UUID "123e4567-e89b-12d3-a456-426614174000"

/*
 * The commands the table in options.c dispatches to live in other files;
 * here they are stubs, and the tests compare the parser's pick with them.
 * (cmd_help is options.c's own.)
 */
#define STUB(fn) int fn(const struct options *o) { (void)o; return 0; }
STUB(cmd_pre_script) STUB(cmd_dry_run) STUB(cmd_post_script)
STUB(cmd_status) STUB(cmd_monitor) STUB(cmd_version)
STUB(cmd_run)

/* Parse a NULL-terminated argument list; the parser's messages go to @err. */
static int parse(struct options *o, FILE *err, ...)
{
	char *argv[32] = { "snapfreeze" };
	va_list ap;
	int argc = 1;

	va_start(ap, err);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return options_parse(o, argc, argv, err);
}

FIXTURE(opts) {
	struct options o;
	FILE *err;
	char *errbuf;
	size_t errlen;
	char config[64];
};

FIXTURE_SETUP(opts)
{
	self->err = open_memstream(&self->errbuf, &self->errlen);
	ASSERT_NE(NULL, self->err);
	strcpy(self->config, "/tmp/sf-options-XXXXXX");
	ASSERT_LE(0, mkstemp(self->config));
}

FIXTURE_TEARDOWN(opts)
{
	fclose(self->err);
	free(self->errbuf);
	unlink(self->config);
}

static void write_config(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

/* Test that the defaults are the samples' values. */
TEST_F(opts, defaults)
{
	ASSERT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   "/dev/null", NULL));
	EXPECT_TRUE(self->o.command->run == cmd_pre_script);
	EXPECT_STREQ("None", self->o.exec_id);
	EXPECT_EQ(60, self->o.timeout_s);
	EXPECT_EQ(0, self->o.targets.n);
	EXPECT_FALSE(self->o.include_root);
	EXPECT_STREQ("/etc/snapfreeze/hooks.d", self->o.hooks_dir);
	EXPECT_EQ(30, self->o.hook_timeout_s);
}

/* Test that every command word the scheduler passes is recognised. */
TEST_F(opts, command_words)
{
	EXPECT_EQ(0, parse(&self->o, self->err, "post-script", NULL));
	EXPECT_TRUE(self->o.command->run == cmd_post_script);
	EXPECT_EQ(0, parse(&self->o, self->err, "dry-run", "--config",
			   "/dev/null", NULL));
	EXPECT_TRUE(self->o.command->run == cmd_dry_run);
	EXPECT_EQ(0, parse(&self->o, self->err, "status", "--json", NULL));
	EXPECT_TRUE(self->o.json);
	EXPECT_EQ(0, parse(&self->o, self->err, "monitor", NULL));
	EXPECT_EQ(0, parse(&self->o, self->err, "--help", NULL));
	EXPECT_TRUE(self->o.command->run == cmd_help);
	EXPECT_EQ(0, parse(&self->o, self->err, "--version", NULL));
	EXPECT_TRUE(self->o.command->run == cmd_version);
}

/* Test that unknown words, options and stray arguments are usage errors. */
TEST_F(opts, usage_errors)
{
	EXPECT_EQ(-1, parse(&self->o, self->err, NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "freeze", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "Pre-Script", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--bogus", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "extra", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--timeout", NULL));
	/* Options of another command. */
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--force", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script", "--target", "/", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "status", "--execution-id", UUID, NULL));
	fflush(self->err);
	EXPECT_NE(NULL, strstr(self->errbuf, "unknown command 'freeze'"));
}

/* Test the execution id: None or a UUID, nothing else. */
TEST_F(opts, execution_id)
{
	EXPECT_EQ(0, parse(&self->o, self->err, "post-script",
			   "--execution-id", UUID, NULL));
	EXPECT_STREQ(UUID, self->o.exec_id);
	EXPECT_EQ(0, parse(&self->o, self->err, "post-script",
			   "--execution-id", "None", NULL));
	EXPECT_EQ(0, parse(&self->o, self->err, "post-script",
			   "--execution-id", "123E4567-E89B-12D3-A456-426614174000", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script",
			    "--execution-id", "none", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script",
			    "--execution-id", "", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script",
			    "--execution-id", "1234", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script",
			    "--execution-id", "123e4567-e89b-12d3-a456-42661417400g", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script",
			    "--execution-id", "123e4567e89b-12d3-a456-4266141740000", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script",
			    "--execution-id", UUID "0", NULL));
}

/* Test --timeout: whole seconds, 1..3600. */
TEST_F(opts, timeout)
{
	EXPECT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   "/dev/null", "--timeout", "1", NULL));
	EXPECT_EQ(1, self->o.timeout_s);
	EXPECT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   "/dev/null", "--timeout", "3600", NULL));
	EXPECT_EQ(3600, self->o.timeout_s);
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--timeout", "0", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--timeout", "3601", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--timeout", "abc", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--timeout", "-5", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--timeout", "1.5", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--timeout", "", NULL));
}

/* Test that targets repeat, in order, up to the kernel's limit. */
TEST_F(opts, targets)
{
	char *argv[70] = { "snapfreeze", "pre-script", "--config", "/dev/null" };
	int i;

	EXPECT_EQ(0, parse(&self->o, self->err, "dry-run", "--config",
			   "/dev/null", "--target", "/a", "--target", "/dev/vdb",
			   "--include-root", NULL));
	ASSERT_EQ(2, self->o.targets.n);
	EXPECT_STREQ("/a", self->o.targets.paths[0]);
	EXPECT_STREQ("/dev/vdb", self->o.targets.paths[1]);
	EXPECT_TRUE(self->o.include_root);
	for (i = 0; i < 65; i++)
		argv[4 + i] = "--target=/x";
	EXPECT_EQ(-1, options_parse(&self->o, 4 + 65, argv, self->err));
	EXPECT_EQ(0, options_parse(&self->o, 4 + 64, argv, self->err));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--target", "", NULL));
}

/* Test the configuration file, and that the command line wins over it. */
TEST_F(opts, config_file)
{
	write_config(self->config,
		     "# comment\n\ntimeout = 120\nhook_timeout=5\n"
		     "hooks_dir = /opt/hooks\ninclude_root = yes\n"
		     "target = /data\ntarget = /logs\n");
	ASSERT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   self->config, NULL));
	EXPECT_EQ(120, self->o.timeout_s);
	EXPECT_EQ(5, self->o.hook_timeout_s);
	EXPECT_STREQ("/opt/hooks", self->o.hooks_dir);
	EXPECT_TRUE(self->o.include_root);
	ASSERT_EQ(2, self->o.targets.n);
	EXPECT_STREQ("/logs", self->o.targets.paths[1]);

	ASSERT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   self->config, "--timeout", "7", "--hooks-dir", "/h",
			   "--target", "/only", NULL));
	EXPECT_EQ(7, self->o.timeout_s);
	EXPECT_STREQ("/h", self->o.hooks_dir);
	ASSERT_EQ(1, self->o.targets.n);
	EXPECT_STREQ("/only", self->o.targets.paths[0]);
}

/* Test that a bad configuration file is a usage error, naming the line. */
TEST_F(opts, config_errors)
{
	write_config(self->config, "timeout = 120\ntimeout = 0\n");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	fflush(self->err);
	EXPECT_NE(NULL, strstr(self->errbuf, ":2: bad line"));
	write_config(self->config, "colour = blue\n");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	write_config(self->config, "include_root = maybe\n");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	write_config(self->config, "no equals sign\n");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	/* A file named on the command line must exist; the default need not. */
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    "/nonexistent/snapfreeze.conf", NULL));
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	fwrite(data, 1, len, f);
	fclose(f);
}

/* What the parser printed so far. */
static const char *messages(FIXTURE_DATA(opts) *self)
{
	fflush(self->err);
	return self->errbuf ? self->errbuf : "";
}

/* The parser's messages so far contain @what; if not, say what they are. */
static bool said(FIXTURE_DATA(opts) *self, const char *what)
{
	if (strstr(messages(self), what))
		return true;
	fprintf(stderr, "# no '%s' in: %s\n", what, messages(self));
	return false;
}

#define EXPECT_SAID(what) EXPECT_TRUE(said(self, what))

/*
 * Test that a NUL or another control character makes the file a usage
 * error, wherever it is: a NUL used to hide the rest of its line.
 */
TEST_F(opts, config_not_text)
{
	static const char garbage[] = "\0\1\2garbage";
	static const char hidden[] = "timeout = 5\0 junk\n";
	static const char bell[] = "# ring\a\ntimeout = 5\n";

	write_bytes(self->config, garbage, sizeof(garbage) - 1);
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	EXPECT_SAID("not a text file");
	write_bytes(self->config, hidden, sizeof(hidden) - 1);
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	write_bytes(self->config, bell, sizeof(bell) - 1);
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	/* Tabs and CRLF line ends are text. */
	write_config(self->config, "\ttimeout\t=\t5\r\ntarget = /a\r\n");
	ASSERT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   self->config, NULL));
	EXPECT_EQ(5, self->o.timeout_s);
	ASSERT_EQ(1, self->o.targets.n);
	EXPECT_STREQ("/a", self->o.targets.paths[0]);
}

/*
 * Test that a configuration that is not a regular file is a usage error,
 * at once (a FIFO or /dev/zero used to block or never end), and that
 * /dev/null still means "no configuration".
 */
TEST_F(opts, config_not_regular)
{
	char fifo[64];

	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    "/tmp", NULL));
	EXPECT_SAID("not a regular file");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    "/dev/zero", NULL));
	strcpy(fifo, self->config);
	strcat(fifo, ".fifo");
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    fifo, NULL));
	unlink(fifo);
	EXPECT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   "/dev/null", NULL));
	EXPECT_EQ(60, self->o.timeout_s);
}

/* Test the size limit: 64 KiB is read, one byte more is a usage error. */
TEST_F(opts, config_size)
{
	char *text = malloc(SF_CONFIG_MAX_BYTES + 2);

	ASSERT_NE(NULL, text);
	memset(text, '#', SF_CONFIG_MAX_BYTES + 1);
	memcpy(text, "timeout = 9\n", 12);
	text[SF_CONFIG_MAX_BYTES - 1] = '\n';
	write_bytes(self->config, text, SF_CONFIG_MAX_BYTES);
	EXPECT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   self->config, NULL));
	EXPECT_EQ(9, self->o.timeout_s);
	write_bytes(self->config, text, SF_CONFIG_MAX_BYTES + 1);
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	EXPECT_SAID("larger than");
	free(text);
}

/*
 * Test that an option given twice is a usage error (a scheduler's template
 * gone wrong must not pick one id or timeout silently), except --target,
 * which repeats; and the same for the configuration file's keys.
 */
TEST_F(opts, repeated_options)
{
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script", "--execution-id",
			    UUID, "--execution-id", "None", NULL));
	EXPECT_SAID("--execution-id given twice");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    "/dev/null", "--timeout", "5", "--timeout=6", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    "/dev/null", "--config", self->config, NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "dry-run", "--config",
			    "/dev/null", "--hooks-dir", "/a", "--hooks-dir", "/a",
			    NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "dry-run", "--config",
			    "/dev/null", "--include-root", "--include-root", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script", "--force",
			    "--force", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "status", "--json", "--json",
			    NULL));
	EXPECT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   "/dev/null", "--target", "/a", "--target", "/a", NULL));
	EXPECT_EQ(2, self->o.targets.n);

	write_config(self->config, "timeout = 5\ntimeout = 5\n");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	EXPECT_SAID(":2: timeout given twice");
	write_config(self->config, "hooks_dir = /a\nhooks_dir = /b\n");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	write_config(self->config, "target = /a\ntarget = /b\n");
	EXPECT_EQ(0, parse(&self->o, self->err, "pre-script", "--config",
			   self->config, NULL));
	EXPECT_EQ(2, self->o.targets.n);
}

/*
 * Test that the usage is derived from the tables: each command with the
 * options it takes, each option, each configuration key, no alias.
 */
TEST_F(opts, usage_from_tables)
{
	static const char *const want[] = {
		"  snapfreeze pre-script  [--execution-id ID] [--timeout SECONDS]\n"
		"                         [--target PATH]... [--include-root] [--hooks-dir DIR]\n"
		"                         [--config FILE] [--budget SECONDS]\n",
		"  snapfreeze post-script [--execution-id ID] [--hooks-dir DIR] [--config FILE]\n"
		"                         [--force] [--budget SECONDS]\n",
		"  snapfreeze status      [--json] [--prometheus]\n",
		"  snapfreeze monitor     [--json]\n",
		"                         [--config FILE] [--budget SECONDS] -- COMMAND [ARG]...\n",
		"  snapfreeze --version\n",
		"  --config FILE       configuration (default /etc/snapfreeze/snapfreeze.conf)\n",
		"keys: timeout, target, include_root, hooks_dir, hook_timeout, budget, rollback_timeout, keep_thawed.",
	};
	size_t i;

	usage(self->err);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		EXPECT_SAID(want[i]);
	EXPECT_EQ(NULL, strstr(messages(self), "snapfreeze -h"));
	/* An empty value is never a directory or a file. */
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script", "--hooks-dir=",
			    NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script", "--config=",
			    NULL));
}

/* Test that run takes pre-script's options, then COMMAND and its arguments. */
TEST_F(opts, run_command_line)
{
	ASSERT_EQ(0, parse(&self->o, self->err, "run", "--config", "/dev/null",
			   "--target", "/mnt/a", "--timeout", "5", "--",
			   "sh", "-c", "exit 3", NULL));
	EXPECT_TRUE(self->o.command->run == cmd_run);
	EXPECT_EQ(1, self->o.targets.n);
	EXPECT_EQ(5, self->o.timeout_s);
	ASSERT_NE(NULL, self->o.run_argv);
	EXPECT_STREQ("sh", self->o.run_argv[0]);
	EXPECT_STREQ("-c", self->o.run_argv[1]);
	EXPECT_STREQ("exit 3", self->o.run_argv[2]);
	EXPECT_EQ(NULL, self->o.run_argv[3]);
}

/* Test that without "--" the first word that is not an option ends ours. */
TEST_F(opts, run_without_dashes)
{
	ASSERT_EQ(0, parse(&self->o, self->err, "run", "--config", "/dev/null",
			   "lvcreate", "--snapshot", "--target", NULL));
	EXPECT_STREQ("lvcreate", self->o.run_argv[0]);
	EXPECT_STREQ("--target", self->o.run_argv[2]);
	EXPECT_EQ(0, self->o.targets.n);
	/* After "--", a command may look like an option. */
	ASSERT_EQ(0, parse(&self->o, self->err, "run", "--config", "/dev/null",
			   "--", "--help", NULL));
	EXPECT_STREQ("--help", self->o.run_argv[0]);
}

/* Test that run without a command, or with post-script's options, is refused. */
TEST_F(opts, run_refused)
{
	EXPECT_EQ(-1, parse(&self->o, self->err, "run", "--config",
			    "/dev/null", NULL));
	EXPECT_SAID("run: no command given (-- COMMAND [ARG]...)");
	EXPECT_EQ(-1, parse(&self->o, self->err, "run", "--config",
			    "/dev/null", "--", NULL));
	EXPECT_EQ(-1, parse(&self->o, self->err, "run", "--force", "--", "true",
			    NULL));
	EXPECT_SAID("run does not take --force");
	/* Other commands still take no operand, "--" or not. */
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    "/dev/null", "--", "true", NULL));
	EXPECT_SAID("pre-script: unexpected argument 'true'");
}

/* Test that --prometheus is status's, --json status's and monitor's, not both. */
TEST_F(opts, output_formats)
{
	ASSERT_EQ(0, parse(&self->o, self->err, "status", "--prometheus", NULL));
	EXPECT_TRUE(self->o.prometheus);
	EXPECT_FALSE(self->o.json);
	ASSERT_EQ(0, parse(&self->o, self->err, "monitor", "--json", NULL));
	EXPECT_TRUE(self->o.json);
	EXPECT_EQ(-1, parse(&self->o, self->err, "status", "--json",
			    "--prometheus", NULL));
	EXPECT_SAID("status: --json or --prometheus, not both");
	EXPECT_EQ(-1, parse(&self->o, self->err, "monitor", "--prometheus",
			    NULL));
	EXPECT_SAID("monitor does not take --prometheus");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--json", NULL));
}

/*
 * Test that post-script never fails on its configuration file: a value
 * that went bad since the pre-script is a warning, the good lines still
 * apply, and so does an unreadable file; pre-script still refuses both.
 */
TEST_F(opts, post_script_config_lenient)
{
	write_config(self->config, "timeout = 90s\nhook_timeout = 7\nbogus\n");
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	options_free(&self->o);
	ASSERT_EQ(0, parse(&self->o, self->err, "post-script", "--config",
			   self->config, NULL));
	EXPECT_TRUE(self->o.command->run == cmd_post_script);
	EXPECT_EQ(7, self->o.hook_timeout_s);
	EXPECT_EQ(SF_DEFAULT_TIMEOUT_S, self->o.timeout_s);
	EXPECT_SAID("warning: ");
	EXPECT_SAID("ignored: post-script thaws with what is left");
	options_free(&self->o);
	chmod(self->config, 0666);
	EXPECT_EQ(-1, parse(&self->o, self->err, "pre-script", "--config",
			    self->config, NULL));
	EXPECT_SAID("writable by others");
	options_free(&self->o);
	EXPECT_EQ(0, parse(&self->o, self->err, "post-script", "--config",
			   self->config, NULL));
	EXPECT_EQ(SF_DEFAULT_HOOK_TIMEOUT_S, self->o.hook_timeout_s);
	/* A bad command line is still a usage error. */
	EXPECT_EQ(-1, parse(&self->o, self->err, "post-script", "--budget",
			    "0", NULL));
}

/* Test that "COMMAND --help" is the usage, not a mistake. */
TEST_F(opts, command_help)
{
	ASSERT_EQ(0, parse(&self->o, self->err, "pre-script", "--help", NULL));
	EXPECT_TRUE(self->o.command->run == cmd_help);
	ASSERT_EQ(0, parse(&self->o, self->err, "post-script", "--force", "-h",
			   NULL));
	EXPECT_TRUE(self->o.command->run == cmd_help);
	/* --help wins over options that could not go together. */
	ASSERT_EQ(0, parse(&self->o, self->err, "status", "--json",
			   "--prometheus", "-h", NULL));
	EXPECT_TRUE(self->o.command->run == cmd_help);
	/* COMMAND's own --help is COMMAND's. */
	ASSERT_EQ(0, parse(&self->o, self->err, "run", "--config", "/dev/null",
			   "--", "ls", "--help", NULL));
	EXPECT_TRUE(self->o.command->run == cmd_run);
}

/* Test that a UUID is sent in lower case whatever case it came in. */
TEST_F(opts, execution_id_normalized)
{
	ASSERT_EQ(0, parse(&self->o, self->err, "post-script", "--config",
			   "/dev/null", "--execution-id",
			   "123E4567-E89B-12D3-A456-426614174000", NULL));
	EXPECT_STREQ(UUID, self->o.exec_id);
	ASSERT_EQ(0, parse(&self->o, self->err, "post-script", "--config",
			   "/dev/null", "--execution-id", "None", NULL));
	EXPECT_STREQ("None", self->o.exec_id);
}

/*
 * Test keep_thawed: the SSM agent's directories and the journal by
 * default; the file's list replaces them; none empties it.
 */
TEST_F(opts, keep_thawed)
{
	ASSERT_EQ(0, parse(&self->o, self->err, "dry-run", "--config",
			   "/dev/null", NULL));
	ASSERT_EQ(3, self->o.keep_thawed.n);
	EXPECT_STREQ("/var/lib/amazon/ssm", self->o.keep_thawed.paths[0]);
	EXPECT_STREQ("/var/log/amazon/ssm", self->o.keep_thawed.paths[1]);
	EXPECT_STREQ("/var/log/journal", self->o.keep_thawed.paths[2]);
	write_config(self->config, "keep_thawed = /srv/agent\nkeep_thawed=/x\n");
	ASSERT_EQ(0, parse(&self->o, self->err, "dry-run", "--config",
			   self->config, NULL));
	ASSERT_EQ(2, self->o.keep_thawed.n);
	EXPECT_STREQ("/srv/agent", self->o.keep_thawed.paths[0]);
	options_free(&self->o);
	write_config(self->config, "keep_thawed = none\n");
	ASSERT_EQ(0, parse(&self->o, self->err, "dry-run", "--config",
			   self->config, NULL));
	EXPECT_EQ(0, self->o.keep_thawed.n);
	options_free(&self->o);
	write_config(self->config, "keep_thawed = relative\n");
	EXPECT_EQ(-1, parse(&self->o, self->err, "dry-run", "--config",
			    self->config, NULL));
}

/*
 * Test path_safe as sshd judges files: root's and writable by root alone,
 * symlinks resolved, every directory above too, sticky root directories
 * (/tmp) allowed.  Run as root: chown makes the other owners.
 */
TEST_F(opts, path_safe)
{
	char dir[] = "/tmp/sf-safe-XXXXXX", path[128], link[128], why[512];

	if (geteuid())
		SKIP(return, "needs root (chown)");
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hook", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	write_config(path, "#!/bin/sh\n");
	chmod(path, 0755);
	EXPECT_TRUE(path_safe(path, why, sizeof(why)));
	chmod(path, 0775);
	EXPECT_FALSE(path_safe(path, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "writable by others"));
	chmod(path, 0755);
	ASSERT_EQ(0, chown(path, 65534, 65534));
	EXPECT_FALSE(path_safe(path, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "not owned by root"));
	/* Through a symlink: the file it leads to is judged. */
	ASSERT_EQ(0, symlink(path, link));
	EXPECT_FALSE(path_safe(link, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "where it leads"));
	ASSERT_EQ(0, chown(path, 0, 0));
	EXPECT_TRUE(path_safe(link, why, sizeof(why)));
	/* A directory above that others may write. */
	chmod(dir, 0777);
	EXPECT_FALSE(path_safe(path, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "the directory"));
	chmod(dir, 01777);
	EXPECT_TRUE(path_safe(path, why, sizeof(why)));
	EXPECT_FALSE(path_safe("/nonexistent/x", why, sizeof(why)));
	unlink(link);
	unlink(path);
	rmdir(dir);
}

TEST_HARNESS_MAIN
