// SPDX-License-Identifier: GPL-2.0
/*
 * Command line and configuration file.  Two tables drive everything: the
 * settings (each a command-line option, a configuration key, or both) and
 * the commands (each a word, its function, the options it takes and a
 * line of usage).  The usage text, the option checks and the dispatch are
 * derived from them: adding a command or an option touches one table.
 *
 * The command line wins; the file fills in what it left unset; built-in
 * defaults fill in the rest.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "names.h"
#include "options.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STR_(x) #x
#define STR(x) STR_(x)

enum setting_id {
	SETTING_EXEC_ID,
	SETTING_TIMEOUT,
	SETTING_TARGET,
	SETTING_INCLUDE_ROOT,
	SETTING_HOOKS_DIR,
	SETTING_HOOK_TIMEOUT,
	SETTING_CONFIG,
	SETTING_FORCE,
	SETTING_JSON,
	SETTING_PROMETHEUS,
	SETTING_BUDGET,
	SETTING_ROLLBACK_TIMEOUT,
	SETTING_KEEP_THAWED,
	NR_SETTINGS
};

#define BIT(id) (1U << SETTING_##id)

static int parse_uint(const char *s, unsigned int min, unsigned int max,
		      unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A flag on the command line (@s NULL), yes/no in the file. */
static int parse_bool(const char *s, bool *out)
{
	if (!s || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

/*
 * The scheduler's UUIDs are compared without regard to case, so they are
 * sent in one: lower case (snapfreeze(8), EXECUTION IDS).
 */
static int set_exec_id(struct options *o, const char *v)
{
	size_t i;

	if (!exec_id_valid(v))
		return -1;
	if (!strcmp(v, SNAPFREEZE_EXEC_ID_NONE)) {
		o->exec_id = SNAPFREEZE_EXEC_ID_NONE;
		return 0;
	}
	for (i = 0; v[i]; i++)
		o->exec_id_buf[i] = tolower((unsigned char)v[i]);
	o->exec_id_buf[i] = '\0';
	o->exec_id = o->exec_id_buf;
	return 0;
}

static int set_timeout(struct options *o, const char *v)
{
	return parse_uint(v, 1, SF_MAX_TIMEOUT_S, &o->timeout_s);
}

static int set_hook_timeout(struct options *o, const char *v)
{
	return parse_uint(v, 1, SF_MAX_TIMEOUT_S, &o->hook_timeout_s);
}

static int set_budget(struct options *o, const char *v)
{
	return parse_uint(v, 1, SF_MAX_TIMEOUT_S, &o->budget_s);
}

static int set_rollback(struct options *o, const char *v)
{
	return parse_uint(v, 1, SF_MAX_TIMEOUT_S, &o->rollback_s);
}

/* An absolute path, or "none"; the first one given drops the defaults. */
static int set_keep_thawed(struct options *o, const char *v)
{
	struct path_list *l = &o->keep_thawed;

	if (!l->given) {
		l->n = 0;
		l->given = true;
	}
	if (!strcmp(v, "none"))
		return 0;
	if (v[0] != '/' || l->n == SF_MAX_KEEP_THAWED)
		return -1;
	l->paths[l->n++] = v;
	return 0;
}

static int set_target(struct options *o, const char *v)
{
	if (!*v || o->targets.n == SNAPFREEZE_MAX_TARGETS)
		return -1;
	o->targets.paths[o->targets.n++] = v;
	return 0;
}

static int set_include_root(struct options *o, const char *v)
{
	return parse_bool(v, &o->include_root);
}

static int set_hooks_dir(struct options *o, const char *v)
{
	if (!*v)
		return -1;
	o->hooks_dir = v;
	return 0;
}

static int set_config(struct options *o, const char *v)
{
	if (!*v)
		return -1;
	o->config = v;
	return 0;
}

static int set_force(struct options *o, const char *v)
{
	return parse_bool(v, &o->force);
}

static int set_json(struct options *o, const char *v)
{
	return parse_bool(v, &o->json);
}

static int set_prometheus(struct options *o, const char *v)
{
	return parse_bool(v, &o->prometheus);
}

/* Where a configuration key's value lands, to merge it under argv's. */
#define FIELD(f) .offset = offsetof(struct options, f), \
		 .size = sizeof(((struct options *)0)->f)

static const struct setting {
	const char *option;	/* --OPTION; NULL: the file only */
	const char *key;	/* the file's key; NULL: the command line only */
	const char *arg;	/* the value's name; NULL: a flag */
	bool repeats;		/* may be given more than once */
	int (*set)(struct options *o, const char *value);
	size_t offset, size;
	const char *want;	/* what a valid value is */
	const char *help;	/* lines of usage */
	const char *def;	/* the default, for the usage */
} settings[NR_SETTINGS] = {
	[SETTING_EXEC_ID] = {
		"execution-id", NULL, "ID", false, set_exec_id, FIELD(exec_id),
		"None or a UUID (8-4-4-4-12 hex digits)",
		"None or a UUID, the same for pre- and post-script", "None" },
	[SETTING_TIMEOUT] = {
		"timeout", "timeout", "SECONDS", false, set_timeout,
		FIELD(timeout_s), "whole seconds, 1.." STR(SF_MAX_TIMEOUT_S),
		"auto-thaw after this many seconds, 1.." STR(SF_MAX_TIMEOUT_S),
		STR(SF_DEFAULT_TIMEOUT_S) },
	[SETTING_TARGET] = {
		"target", "target", "PATH", true, set_target, FIELD(targets),
		"a path, at most " STR(SNAPFREEZE_MAX_TARGETS) " of them",
		"a mount point, a path inside one, or a block device; repeatable.\n"
		"Default: every mounted read-write filesystem on a block device\n"
		"except / and /boot, each filesystem once", NULL },
	[SETTING_INCLUDE_ROOT] = {
		"include-root", "include_root", NULL, false, set_include_root,
		FIELD(include_root), "yes or no",
		"also freeze / and /boot (the kernel auto-thaw makes it safe)",
		NULL },
	[SETTING_HOOKS_DIR] = {
		"hooks-dir", "hooks_dir", "DIR", false, set_hooks_dir,
		FIELD(hooks_dir), "a directory", "application hooks",
		SF_DEFAULT_HOOKS_DIR },
	[SETTING_HOOK_TIMEOUT] = {
		NULL, "hook_timeout", "SECONDS", false, set_hook_timeout,
		FIELD(hook_timeout_s), "whole seconds, 1.." STR(SF_MAX_TIMEOUT_S),
		NULL, NULL },
	[SETTING_CONFIG] = {
		"config", NULL, "FILE", false, set_config, FIELD(config),
		"a file", "configuration", SF_DEFAULT_CONFIG },
	[SETTING_FORCE] = {
		"force", NULL, NULL, false, set_force, FIELD(force), NULL,
		"post-script: thaw even if the execution id differs", NULL },
	[SETTING_JSON] = {
		"json", NULL, NULL, false, set_json, FIELD(json), NULL,
		"status: one JSON object; monitor: one JSON object per line", NULL },
	[SETTING_PROMETHEUS] = {
		"prometheus", NULL, NULL, false, set_prometheus,
		FIELD(prometheus), NULL,
		"status: Prometheus text format (node_exporter textfile)", NULL },
	[SETTING_BUDGET] = {
		"budget", "budget", "SECONDS", false, set_budget,
		FIELD(budget_s), "whole seconds, 1.." STR(SF_MAX_TIMEOUT_S),
		"fail (201, nothing frozen) unless frozen this long after\n"
		"the start, hooks and the wait for another command included;\n"
		"post-script: wait this long at most for another command;\n"
		"keep it under the scheduler's timeout",
		STR(SF_DEFAULT_BUDGET_S) },
	[SETTING_ROLLBACK_TIMEOUT] = {
		NULL, "rollback_timeout", "SECONDS", false, set_rollback,
		FIELD(rollback_s), "whole seconds, 1.." STR(SF_MAX_TIMEOUT_S),
		NULL, NULL },
	[SETTING_KEEP_THAWED] = {
		NULL, "keep_thawed", "PATH", true, set_keep_thawed,
		FIELD(keep_thawed), "an absolute path, or none; at most "
		STR(SF_MAX_KEEP_THAWED), NULL, NULL },
};

#define FREEZE_OPTIONS (BIT(EXEC_ID) | BIT(TIMEOUT) | BIT(TARGET) | \
			BIT(INCLUDE_ROOT) | BIT(HOOKS_DIR) | BIT(CONFIG) | \
			BIT(BUDGET))

static const struct command commands[] = {
	{ "pre-script", cmd_pre_script, FREEZE_OPTIONS,
	  "run the freeze hooks, then freeze the targets as one set" },
	{ "post-script", cmd_post_script,
	  BIT(EXEC_ID) | BIT(FORCE) | BIT(HOOKS_DIR) | BIT(CONFIG) |
	  BIT(BUDGET),
	  "thaw the set, then run the thaw hooks" },
	{ "dry-run", cmd_dry_run, FREEZE_OPTIONS,
	  "check everything pre-script would do, and change nothing" },
	{ "run", cmd_run, FREEZE_OPTIONS,
	  "freeze as pre-script does, run COMMAND, thaw as post-script does" },
	{ "status", cmd_status, BIT(JSON) | BIT(PROMETHEUS),
	  "print the kernel's state" },
	{ "monitor", cmd_monitor, BIT(JSON),
	  "print the kernel's events as they come" },
	{ "--help", cmd_help, 0, "print this text" },
	{ "-h", cmd_help, 0, NULL },
	{ "--version", cmd_version, 0, "print the version" },
};

/* What follows the options, for the commands that take more. */
static const struct {
	const char *word, *operands;
} command_operands[] = {
	{ "run", "-- COMMAND [ARG]..." },
};

static const char *operands_of(const struct command *cmd)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(command_operands); i++)
		if (!strcmp(cmd->word, command_operands[i].word))
			return command_operands[i].operands;
	return NULL;
}

/* One word of a synopsis at column *@col, wrapped at 80 under the first. */
static void usage_word(FILE *f, int *col, const char *tok)
{
	const int indent = 25;
	int len = strlen(tok);

	if (*col < indent)
		*col += fprintf(f, "%*s", indent - *col, "");
	else if (*col + 1 + len > 80)
		*col = fprintf(f, "\n%*s", indent, "") - 1;
	else
		*col += fprintf(f, " ");
	*col += fprintf(f, "%s", tok);
}

/*
 * "  snapfreeze WORD [--name ARG]... [OPERANDS]": the options of @cmd,
 * then its operands.
 */
static void usage_synopsis(FILE *f, const struct command *cmd)
{
	int col, i;
	char tok[64];

	col = fprintf(f, "  snapfreeze %s", cmd->word);
	for (i = 0; i < NR_SETTINGS; i++) {
		const struct setting *s = &settings[i];

		if (!(cmd->settings & (1U << i)))
			continue;
		snprintf(tok, sizeof(tok), "[--%s%s%s]%s", s->option,
			 s->arg ? " " : "", s->arg ? s->arg : "",
			 s->repeats ? "..." : "");
		usage_word(f, &col, tok);
	}
	if (operands_of(cmd))
		usage_word(f, &col, operands_of(cmd));
	fprintf(f, "\n      %s\n", cmd->summary);
}

/* "  --name ARG   help" with the help's lines aligned, and the default. */
static void usage_option(FILE *f, const struct setting *s)
{
	const char *line = s->help, *nl;
	char head[40];

	snprintf(head, sizeof(head), "--%s%s%s", s->option, s->arg ? " " : "",
		 s->arg ? s->arg : "");
	fprintf(f, "  %-20s", head);
	while ((nl = strchr(line, '\n'))) {
		fprintf(f, "%.*s\n%22s", (int)(nl - line), line, "");
		line = nl + 1;
	}
	if (s->def)
		fprintf(f, "%s (default %s)\n", line, s->def);
	else
		fprintf(f, "%s\n", line);
}

/* The configuration file's keys, "a, b, c". */
static void print_keys(FILE *f)
{
	const char *sep = "";
	int i;

	for (i = 0; i < NR_SETTINGS; i++) {
		if (!settings[i].key)
			continue;
		fprintf(f, "%s%s", sep, settings[i].key);
		sep = ", ";
	}
}

void usage(FILE *f)
{
	size_t i;
	int j;

	fputs("Usage:\n", f);
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].summary)
			usage_synopsis(f, &commands[i]);
	}
	fputs("\n"
	      "Freeze a set of filesystems all-or-nothing for a block-level snapshot\n"
	      "(pre-script), thaw them (post-script), both around a command (run), or check\n"
	      "what would happen (dry-run).\n"
	      "The kernel thaws the set by itself after the timeout.\n"
	      "\n"
	      "Options:\n", f);
	for (j = 0; j < NR_SETTINGS; j++)
		if (settings[j].option)
			usage_option(f, &settings[j]);
	fputs("Each option but --target may be given once.  The configuration file is a\n"
	      "regular text file of at most 64 KiB (or /dev/null: none), with lines\n"
	      "\"key = value\"; keys: ", f);
	print_keys(f);
	fputs(".\n"
	      "\n"
	      "Exit codes:\n"
	      "  0    success\n"
	      "  1    usage error, unknown command word, bad option value\n"
	      "  201  pre-script failed (bad target, freeze error, freeze hook failed, --budget\n"
	      "       ran out, another command kept the host-wide lock, a signal); nothing\n"
	      "       left frozen; the scheduler retries the whole run\n"
	      "  202  post-script failed (thaw error, execution id mismatch, thaw hook failed,\n"
	      "       a target left frozen by another holder such as fsfreeze -f, another\n"
	      "       command kept the host-wide lock); retry it\n"
	      "  203  post-script after the kernel auto-thawed this set (thaw hooks still ran)\n"
	      "  204  pre-script or dry-run while a set is frozen, or a target frozen by someone else\n"
	      "  205  post-script while nothing is frozen\n"
	      "  206  module not loaded and cannot be loaded, or a hook said \"not ready\"\n"
	      "run exits with COMMAND's status (128+N if signal N killed it; 127 not found),\n"
	      "or with the pre-script's code if the freeze failed (COMMAND not run), or with\n"
	      "the post-script's (202, 203...) if the thaw failed or came too late.\n"
	      "\n"
	      "See snapfreeze(8).\n", f);
}

int cmd_help(const struct options *o)
{
	(void)o;
	usage(stdout);
	return 0;
}

/* ---- files that run or configure something as root */

static bool owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

bool path_safe(const char *path, char *why, size_t size)
{
	char real[PATH_MAX], *slash;
	struct stat st;

	if (!realpath(path, real)) {
		snprintf(why, size, "cannot resolve it: %s", strerror(errno));
		return false;
	}
	if (stat(real, &st)) {
		snprintf(why, size, "%s: %s", real, strerror(errno));
		return false;
	}
	if (!owner_ok(&st) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(why, size, "%s%s is %s (owner uid %u, mode %04o): it must be root's and writable by root alone",
			 real, strcmp(real, path) ? " (where it leads)" : "",
			 !owner_ok(&st) ? "not owned by root" :
			 "writable by others", (unsigned int)st.st_uid,
			 (unsigned int)(st.st_mode & 07777));
		return false;
	}
	/* Each directory above it: "/a/b/c" -> "/a/b", "/a", "/". */
	while ((slash = strrchr(real, '/'))) {
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(real, &st)) {
			snprintf(why, size, "%s: %s", real, strerror(errno));
			return false;
		}
		if (!owner_ok(&st) ||
		    ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		     !(st.st_uid == 0 && (st.st_mode & S_ISVTX)))) {
			snprintf(why, size, "the directory %s above it is %s (owner uid %u, mode %04o)",
				 real, !owner_ok(&st) ? "not owned by root" :
				 "writable by others", (unsigned int)st.st_uid,
				 (unsigned int)(st.st_mode & 07777));
			return false;
		}
		if (!strcmp(real, "/"))
			break;
	}
	return true;
}

/* ---- the configuration file */

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static const char *file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	default:
		return "an unknown type";
	}
}

/* /dev/null, or a link to it: "no configuration". */
static bool null_device(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 &&
	       minor(st->st_rdev) == 3;
}

/* Text: no NUL, no control character but tab, carriage return, newline. */
static ssize_t first_non_text(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = text[i];

		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
		    c == 0x7f)
			return i;
	}
	return -1;
}

/*
 * The file's type is checked before it is opened, so that opening it has
 * no side effect (a FIFO would block, a device could act): 1 for a
 * regular file, 0 for /dev/null or a missing default file, -1 otherwise.
 */
static int check_config_type(const char *path, bool explicit, FILE *err)
{
	struct stat st;

	if (stat(path, &st)) {
		if (errno == ENOENT && !explicit)
			return 0;
		fprintf(err, "snapfreeze: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (null_device(&st))
		return 0;
	if (!S_ISREG(st.st_mode)) {
		fprintf(err, "snapfreeze: %s: not a regular file (%s)\n", path,
			file_type(st.st_mode));
		return -1;
	}
	return 1;
}

/* Read @fd whole into @buf (SF_CONFIG_MAX_BYTES + 2): its length, or -1. */
static ssize_t read_all(int fd, char *buf, const char *path, FILE *err)
{
	size_t len = 0;
	ssize_t n;

	/* One byte more than the limit tells a file that is too large. */
	while (len <= SF_CONFIG_MAX_BYTES &&
	       (n = read(fd, buf + len, SF_CONFIG_MAX_BYTES + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(err, "snapfreeze: %s: %s\n", path, strerror(errno));
			return -1;
		}
		len += n;
	}
	if (len > SF_CONFIG_MAX_BYTES) {
		fprintf(err, "snapfreeze: %s: larger than %u bytes: not a snapfreeze configuration\n",
			path, SF_CONFIG_MAX_BYTES);
		return -1;
	}
	return len;
}

/*
 * Read the file at @path into a NUL-terminated buffer: a regular, readable
 * text file of at most SF_CONFIG_MAX_BYTES.  *@text is NULL for /dev/null
 * or a missing default file.
 */
static int read_config(const char *path, bool explicit, char **text,
		       FILE *err)
{
	char why[PATH_MAX + 128];
	struct stat st;
	ssize_t len, bad;
	char *buf;
	int fd, ret;

	*text = NULL;
	ret = check_config_type(path, explicit, err);
	if (ret <= 0)
		return ret;
	if (!path_safe(path, why, sizeof(why))) {
		fprintf(err, "snapfreeze: %s: %s: refusing to read it\n", path,
			why);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fprintf(err, "snapfreeze: %s: %s\n", path,
			fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf = malloc(SF_CONFIG_MAX_BYTES + 2);
	len = buf ? read_all(fd, buf, path, err) : -1;
	close(fd);
	bad = len >= 0 ? first_non_text(buf, len) : -1;
	if (bad >= 0)
		fprintf(err, "snapfreeze: %s: not a text file (byte 0x%02x at offset %zd)\n",
			path, (unsigned char)buf[bad], bad);
	if (len < 0 || bad >= 0) {
		if (!buf)
			fprintf(err, "snapfreeze: %s: out of memory\n", path);
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

static const struct setting *find_key(const char *key)
{
	int i;

	for (i = 0; i < NR_SETTINGS; i++)
		if (settings[i].key && !strcmp(key, settings[i].key))
			return &settings[i];
	return NULL;
}

/* Apply one line to @file; @seen: the keys given so far. */
static int config_line_(struct options *file, char *line, unsigned int *seen,
			const char *where, FILE *err)
{
	const struct setting *s;
	char *key = trim(line), *eq;
	unsigned int bit;

	if (!*key || *key == '#')
		return 0;
	eq = strchr(key, '=');
	if (!eq)
		goto bad;
	*eq = '\0';
	key = trim(key);
	s = find_key(key);
	if (!s || s->set(file, trim(eq + 1)))
		goto bad;
	bit = 1U << (s - settings);
	if (*seen & bit && !s->repeats) {
		fprintf(err, "snapfreeze: %s: %s given twice\n", where, key);
		return -1;
	}
	*seen |= bit;
	return 0;
bad:
	fprintf(err, "snapfreeze: %s: bad line (keys: ", where);
	print_keys(err);
	fputs(")\n", err);
	return -1;
}

/* Apply one line to @file; @seen: the keys given so far. */
static int config_line(struct options *file, char *line, unsigned int *seen,
		       const char *where, FILE *err)
{
	/* A bad value must not leave half of itself behind. */
	struct options before = *file;
	int ret;

	ret = config_line_(file, line, seen, where, err);
	if (ret)
		*file = before;
	return ret;
}

static void options_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->exec_id = SNAPFREEZE_EXEC_ID_NONE;
	o->timeout_s = SF_DEFAULT_TIMEOUT_S;
	o->hooks_dir = SF_DEFAULT_HOOKS_DIR;
	o->hook_timeout_s = SF_DEFAULT_HOOK_TIMEOUT_S;
	o->budget_s = SF_DEFAULT_BUDGET_S;
	o->rollback_s = SF_DEFAULT_ROLLBACK_S;
	o->config = SF_DEFAULT_CONFIG;
	{
		static const char *const keep[] = SF_DEFAULT_KEEP_THAWED;
		size_t i;

		for (i = 0; i < ARRAY_SIZE(keep); i++)
			o->keep_thawed.paths[i] = keep[i];
		o->keep_thawed.n = ARRAY_SIZE(keep);
	}
}

/*
 * Read the file into a struct of its own, then take from it each key the
 * command line did not set (@argv_set).  The options keep pointers into
 * the text.  @lenient (post-script): what is wrong is a warning, the line
 * (or the file) is skipped, and the rest still applies.
 */
static int load_config(struct options *o, unsigned int argv_set, bool lenient,
		       FILE *err)
{
	unsigned int lineno = 0, seen = 0;
	struct options file;
	char *line, *next, where[128];
	FILE *out = err;
	char *wbuf = NULL;
	size_t wlen = 0;
	int i, ret = 0;

	/* Lenient: the messages are collected, then given as warnings. */
	if (lenient) {
		out = open_memstream(&wbuf, &wlen);
		if (!out)
			out = err;
	}
	if (read_config(o->config, argv_set & BIT(CONFIG), &o->config_text,
			out)) {
		ret = -1;
		goto warn;
	}
	if (!o->config_text)
		goto warn;
	options_defaults(&file);
	for (line = o->config_text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		snprintf(where, sizeof(where), "%s:%u", o->config, ++lineno);
		if (config_line(&file, line, &seen, where, out)) {
			ret = -1;
			if (!lenient)
				goto warn;
		}
	}
	for (i = 0; i < NR_SETTINGS; i++)
		if (settings[i].key && !(argv_set & (1U << i)) &&
		    (!lenient || (seen & (1U << i))))
			memcpy((char *)o + settings[i].offset,
			       (char *)&file + settings[i].offset,
			       settings[i].size);
	if (seen & BIT(HOOKS_DIR))
		o->hooks_dir_given = true;
warn:
	if (out != err) {
		fclose(out);
		for (line = wbuf; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (!strncmp(line, "snapfreeze: ", 12))
				line += 12;
			fprintf(err, "snapfreeze: warning: %s (ignored: %s thaws with what is left)\n",
				line, o->command->word);
			if (!next)
				break;
		}
		free(wbuf);
		return 0;
	}
	return lenient ? 0 : ret;
}

void options_free(struct options *o)
{
	free(o->config_text);
	o->config_text = NULL;
}

/* ---- the command line */

static int find_command(struct options *o, int argc, char **argv, FILE *err)
{
	size_t i;

	if (argc < 2) {
		fprintf(err, "snapfreeze: no command given\n");
		return -1;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(argv[1], commands[i].word)) {
			o->command = &commands[i];
			return 0;
		}
	}
	fprintf(err, "snapfreeze: unknown command '%s'\n", argv[1]);
	return -1;
}

static const struct command *help_command(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].run == cmd_help)
			return &commands[i];
	return NULL;
}

/* One option from getopt: allowed, not given before, a valid value. */
static int take_option(struct options *o, int id, const char *value,
		       unsigned int *set, FILE *err)
{
	const struct setting *s = &settings[id];
	const char *word = o->command->word;

	if (!(o->command->settings & (1U << id))) {
		fprintf(err, "snapfreeze: %s does not take --%s\n", word,
			s->option);
		return -1;
	}
	/* Only --target repeats: two ids or timeouts are a mistake. */
	if (*set & (1U << id) && !s->repeats) {
		fprintf(err, "snapfreeze: %s: --%s given twice\n", word,
			s->option);
		return -1;
	}
	*set |= 1U << id;
	if (s->set(o, value)) {
		fprintf(err, "snapfreeze: %s: --%s '%s': want %s\n", word,
			s->option, value ? value : "", s->want);
		return -1;
	}
	return 0;
}

/*
 * getopt over the words after the command word (its argv[0]).  optind = 0
 * makes glibc start afresh: any other value would go on with what a
 * previous call left half-parsed (a "-xy" cluster), in the old argv.
 */
static int parse_argv(struct options *o, int argc, char **argv,
		      unsigned int *set, FILE *err)
{
	struct option longopts[NR_SETTINGS + 2] = { { 0 } };
	int i, n = 0, c;

	for (i = 0; i < NR_SETTINGS; i++)
		if (settings[i].option)
			longopts[n++] = (struct option){
				settings[i].option,
				settings[i].arg ? required_argument : no_argument,
				NULL, i };
	/* "pre-script --help" is a request for the usage, not a mistake. */
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	optind = 0;
	opterr = 0;
	/* "+": a command line after the options is not ours to permute. */
	while ((c = getopt_long(argc, argv, operands_of(o->command) ? "+h" : "h",
				longopts, NULL)) != -1) {
		if (c == 'h') {
			o->command = help_command();
			return 0;
		}
		if (c == '?' || c == ':') {
			fprintf(err, "snapfreeze: %s: bad or incomplete option '%s'\n",
				o->command->word, argv[optind - 1]);
			return -1;
		}
		if (take_option(o, c, optarg, set, err))
			return -1;
	}
	if (operands_of(o->command)) {
		if (optind == argc) {
			fprintf(err, "snapfreeze: %s: no command given (%s)\n",
				o->command->word, operands_of(o->command));
			return -1;
		}
		o->run_argv = argv + optind;	/* argv[argc] is NULL */
		return 0;
	}
	if (optind < argc) {
		fprintf(err, "snapfreeze: %s: unexpected argument '%s'\n",
			o->command->word, argv[optind]);
		return -1;
	}
	if (o->json && o->prometheus) {
		fprintf(err, "snapfreeze: %s: --json or --prometheus, not both\n",
			o->command->word);
		return -1;
	}
	return 0;
}

int options_parse(struct options *o, int argc, char **argv, FILE *err)
{
	unsigned int set = 0;

	options_defaults(o);
	if (find_command(o, argc, argv, err) ||
	    parse_argv(o, argc - 1, argv + 1, &set, err))
		return -1;
	if (o->command->run == cmd_help)
		return 0;
	if (set & BIT(HOOKS_DIR))
		o->hooks_dir_given = true;
	if (!(o->command->settings & BIT(CONFIG)))
		return 0;
	return load_config(o, set, o->command->run == cmd_post_script, err);
}
