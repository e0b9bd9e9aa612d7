// SPDX-License-Identifier: GPL-2.0
/*
 * Command line and configuration file.  The command line wins; the file
 * fills in what it left unset; built-in defaults fill in the rest.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <fcntl.h>

#include "exitcodes.h"
#include "options.h"

void sf_usage(FILE *f)
{
	fprintf(f,
"Usage:\n"
"  snapfreeze pre-script  [--execution-id ID] [--timeout SECONDS] [--target PATH]...\n"
"                         [--include-root] [--hooks-dir DIR] [--config FILE]\n"
"  snapfreeze post-script [--execution-id ID] [--force] [--hooks-dir DIR] [--config FILE]\n"
"  snapfreeze dry-run     [same options as pre-script]\n"
"  snapfreeze status      [--json]\n"
"  snapfreeze monitor\n"
"  snapfreeze --help | --version\n"
"\n"
"Freeze a set of filesystems all-or-nothing for a block-level snapshot\n"
"(pre-script), thaw them (post-script), or check what would happen (dry-run).\n"
"The kernel thaws the set by itself after the timeout.\n"
"\n"
"Options:\n"
"  --execution-id ID   None or a UUID, the same for pre- and post-script (default None)\n"
"  --timeout SECONDS   auto-thaw after this many seconds, 1..3600 (default 60)\n"
"  --target PATH       a mount point, a path inside one, or a block device; repeatable.\n"
"                      Default: every mounted read-write filesystem on a block device\n"
"                      except / and /boot, each filesystem once\n"
"  --include-root      also freeze / and /boot (the kernel auto-thaw makes it safe)\n"
"  --hooks-dir DIR     application hooks (default " SF_DEFAULT_HOOKS_DIR ")\n"
"  --config FILE       configuration (default %s)\n"
"  --force             post-script: thaw even if the execution id differs\n"
"  --json              status: one JSON object\n"
"Each option but --target may be given once. The configuration file must be a\n"
"regular text file of at most 64 KiB (or /dev/null: none).\n"
"\n"
"Exit codes:\n"
"  0    success\n"
"  1    usage error, unknown command word, bad option value\n"
"  201  pre-script failed (bad target, freeze error, freeze hook failed); nothing left frozen\n"
"  202  post-script failed (thaw error, execution id mismatch, thaw hook failed,\n"
"       a target left frozen by another holder such as fsfreeze -f); retry it\n"
"  203  post-script after the kernel auto-thawed this set (thaw hooks still ran)\n"
"  204  pre-script or dry-run while a set is frozen, or a target frozen by someone else\n"
"  205  post-script while nothing is frozen\n"
"  206  module not loaded and cannot be loaded, or a hook said \"not ready\"\n"
"\n"
"See snapfreeze(8).\n", SF_DEFAULT_CONFIG);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

bool sf_exec_id_valid(const char *id)
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (!strcmp(id, SNAPFREEZE_EXEC_ID_NONE))
		return true;
	if (strlen(id) != sizeof(form) - 1)
		return false;
	for (i = 0; i < sizeof(form) - 1; i++) {
		if (form[i] == '-' ? id[i] != '-' :
				     !isxdigit((unsigned char)id[i]))
			return false;
	}
	return true;
}

static const struct {
	const char *word;
	enum sf_command cmd;
} commands[] = {
	{ "pre-script", SF_CMD_PRE_SCRIPT },
	{ "post-script", SF_CMD_POST_SCRIPT },
	{ "dry-run", SF_CMD_DRY_RUN },
	{ "status", SF_CMD_STATUS },
	{ "monitor", SF_CMD_MONITOR },
	{ "--help", SF_CMD_HELP },
	{ "-h", SF_CMD_HELP },
	{ "--version", SF_CMD_VERSION },
};

/* Which options each command takes. */
enum {
	OPT_EXEC_ID = 1 << 0,
	OPT_TIMEOUT = 1 << 1,
	OPT_TARGET = 1 << 2,
	OPT_INCLUDE_ROOT = 1 << 3,
	OPT_HOOKS_DIR = 1 << 4,
	OPT_CONFIG = 1 << 5,
	OPT_FORCE = 1 << 6,
	OPT_JSON = 1 << 7,
};

static unsigned int allowed_options(enum sf_command cmd)
{
	switch (cmd) {
	case SF_CMD_PRE_SCRIPT:
	case SF_CMD_DRY_RUN:
		return OPT_EXEC_ID | OPT_TIMEOUT | OPT_TARGET |
		       OPT_INCLUDE_ROOT | OPT_HOOKS_DIR | OPT_CONFIG;
	case SF_CMD_POST_SCRIPT:
		return OPT_EXEC_ID | OPT_FORCE | OPT_HOOKS_DIR | OPT_CONFIG;
	case SF_CMD_STATUS:
		return OPT_JSON;
	default:
		return 0;
	}
}

static int parse_uint(const char *s, unsigned int min, unsigned int max,
		      unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

/* What the command line set, so the file does not override it. */
struct given {
	bool timeout, hooks_dir, include_root, targets;
};

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
		return "not a plain file";
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
 * Read the whole file at @path into a NUL-terminated buffer: a regular,
 * readable text file of at most SF_CONFIG_MAX_BYTES.  The type is checked
 * before the file is opened, so that opening it has no side effect (a FIFO
 * would block, a device could act).  *@text is NULL for /dev/null, or for
 * a missing default file.
 */
static int read_config(const char *path, bool explicit, char **text,
		       FILE *err)
{
	size_t len = 0;
	struct stat st;
	ssize_t n, bad;
	char *buf;
	int fd;

	*text = NULL;
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
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fprintf(err, "snapfreeze: %s: %s\n", path,
			fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf = malloc(SF_CONFIG_MAX_BYTES + 2);
	if (!buf) {
		close(fd);
		fprintf(err, "snapfreeze: %s: out of memory\n", path);
		return -1;
	}
	/* One byte more than the limit tells a file that is too large. */
	while (len <= SF_CONFIG_MAX_BYTES &&
	       (n = read(fd, buf + len, SF_CONFIG_MAX_BYTES + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(err, "snapfreeze: %s: %s\n", path, strerror(errno));
			goto err;
		}
		len += n;
	}
	if (len > SF_CONFIG_MAX_BYTES) {
		fprintf(err, "snapfreeze: %s: larger than %u bytes: not a snapfreeze configuration\n",
			path, SF_CONFIG_MAX_BYTES);
		goto err;
	}
	bad = first_non_text(buf, len);
	if (bad >= 0) {
		fprintf(err, "snapfreeze: %s: not a text file (byte 0x%02x at offset %zd)\n",
			path, (unsigned char)buf[bad], bad);
		goto err;
	}
	buf[len] = '\0';
	close(fd);
	*text = buf;
	return 0;
err:
	free(buf);
	close(fd);
	return -1;
}

/* Which keys a file may hold once; target repeats. */
enum {
	KEY_TIMEOUT = 1 << 0,
	KEY_HOOK_TIMEOUT = 1 << 1,
	KEY_HOOKS_DIR = 1 << 2,
	KEY_INCLUDE_ROOT = 1 << 3,
};

static const struct {
	const char *name;
	unsigned int bit;
} config_keys[] = {
	{ "timeout", KEY_TIMEOUT },
	{ "hook_timeout", KEY_HOOK_TIMEOUT },
	{ "hooks_dir", KEY_HOOKS_DIR },
	{ "include_root", KEY_INCLUDE_ROOT },
	{ "target", 0 },
};

/* Apply one "key = value" line; -1 if the value is bad. */
static int config_line(struct sf_options *o, const struct given *g,
		       const char *key, char *value, unsigned int *nr_targets)
{
	unsigned int u;
	bool b;

	if (!strcmp(key, "timeout")) {
		if (parse_uint(value, 1, SF_MAX_TIMEOUT_S, &u))
			return -1;
		if (!g->timeout)
			o->timeout_s = u;
	} else if (!strcmp(key, "hook_timeout")) {
		if (parse_uint(value, 1, SF_MAX_TIMEOUT_S, &o->hook_timeout_s))
			return -1;
	} else if (!strcmp(key, "hooks_dir")) {
		if (!*value)
			return -1;
		if (!g->hooks_dir)
			o->hooks_dir = value;
	} else if (!strcmp(key, "include_root")) {
		if (parse_bool(value, &b))
			return -1;
		if (!g->include_root)
			o->include_root = b;
	} else if (!strcmp(key, "target")) {
		if (!*value || *nr_targets == SNAPFREEZE_MAX_TARGETS)
			return -1;
		(*nr_targets)++;
		if (!g->targets)
			o->targets[o->nr_targets++] = value;
	} else {
		return -1;
	}
	return 0;
}

/* Parse @text in place: the options keep pointers into it. */
static int parse_config(struct sf_options *o, const struct given *g,
			char *text, FILE *err)
{
	unsigned int lineno = 0, nr_targets = 0, seen = 0;
	char *line, *next, *key, *value, *eq;
	size_t i;

	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if (config_line(o, g, key, value, &nr_targets))
			goto bad;
		for (i = 0; i < ARRAY_SIZE(config_keys); i++) {
			if (strcmp(key, config_keys[i].name))
				continue;
			if (seen & config_keys[i].bit) {
				fprintf(err, "snapfreeze: %s:%u: %s given twice\n",
					o->config, lineno, key);
				return -1;
			}
			seen |= config_keys[i].bit;
		}
	}
	return 0;
bad:
	fprintf(err, "snapfreeze: %s:%u: bad line (keys: timeout, hook_timeout, hooks_dir, include_root, target)\n",
		o->config, lineno);
	return -1;
}

static int load_config(struct sf_options *o, const struct given *g,
		       bool explicit, FILE *err)
{
	if (read_config(o->config, explicit, &o->config_text, err))
		return -1;
	if (!o->config_text)
		return 0;
	return parse_config(o, g, o->config_text, err);
}

void sf_options_free(struct sf_options *o)
{
	free(o->config_text);
	o->config_text = NULL;
}

int sf_options_parse(struct sf_options *o, int argc, char **argv, FILE *err)
{
	static const struct option longopts[] = {
		{ "execution-id", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "target", required_argument, NULL, 'T' },
		{ "include-root", no_argument, NULL, 'r' },
		{ "hooks-dir", required_argument, NULL, 'H' },
		{ "config", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	static const unsigned int bit[128] = {
		['e'] = OPT_EXEC_ID, ['t'] = OPT_TIMEOUT, ['T'] = OPT_TARGET,
		['r'] = OPT_INCLUDE_ROOT, ['H'] = OPT_HOOKS_DIR,
		['c'] = OPT_CONFIG, ['f'] = OPT_FORCE, ['j'] = OPT_JSON,
	};
	struct given g = { 0 };
	unsigned int allowed, seen = 0;
	size_t i;
	int c, index = 0;

	memset(o, 0, sizeof(*o));
	o->exec_id = SNAPFREEZE_EXEC_ID_NONE;
	o->timeout_s = SF_DEFAULT_TIMEOUT_S;
	o->hooks_dir = SF_DEFAULT_HOOKS_DIR;
	o->hook_timeout_s = SF_DEFAULT_HOOK_TIMEOUT_S;
	o->config = SF_DEFAULT_CONFIG;

	if (argc < 2) {
		fprintf(err, "snapfreeze: no command given\n");
		return -1;
	}
	o->cmd_word = argv[1];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].word))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(err, "snapfreeze: unknown command '%s'\n", argv[1]);
		return -1;
	}
	o->cmd = commands[i].cmd;
	allowed = allowed_options(o->cmd);

	/*
	 * getopt sees the command word as its argv[0].  optind = 0 makes
	 * glibc start afresh: with 2 it would go on with what a previous
	 * call left half-parsed (a "-xy" cluster), pointing into old argv.
	 */
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, &index)) != -1) {
		if (c == '?' || c == ':') {
			fprintf(err, "snapfreeze: %s: bad or incomplete option '%s'\n",
				o->cmd_word, argv[optind - 1]);
			return -1;
		}
		if (!(bit[c & 127] & allowed)) {
			fprintf(err, "snapfreeze: %s does not take '%s'\n",
				o->cmd_word, argv[optind - 1]);
			return -1;
		}
		/* Only --target repeats: two ids or timeouts are a mistake. */
		if (bit[c & 127] & seen & ~OPT_TARGET) {
			fprintf(err, "snapfreeze: %s: --%s given twice\n",
				o->cmd_word, longopts[index].name);
			return -1;
		}
		seen |= bit[c & 127];
		switch (c) {
		case 'e':
			if (!sf_exec_id_valid(optarg)) {
				fprintf(err, "snapfreeze: execution id '%s' is neither None nor a UUID\n",
					optarg);
				return -1;
			}
			o->exec_id = optarg;
			break;
		case 't':
			if (parse_uint(optarg, 1, SF_MAX_TIMEOUT_S,
				       &o->timeout_s)) {
				fprintf(err, "snapfreeze: --timeout must be whole seconds, 1..%u\n",
					SF_MAX_TIMEOUT_S);
				return -1;
			}
			g.timeout = true;
			break;
		case 'T':
			if (!*optarg ||
			    o->nr_targets == SNAPFREEZE_MAX_TARGETS) {
				fprintf(err, "snapfreeze: --target: empty, or more than %u\n",
					SNAPFREEZE_MAX_TARGETS);
				return -1;
			}
			o->targets[o->nr_targets++] = optarg;
			g.targets = true;
			break;
		case 'r':
			o->include_root = true;
			g.include_root = true;
			break;
		case 'H':
			o->hooks_dir = optarg;
			g.hooks_dir = true;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->force = true;
			break;
		case 'j':
			o->json = true;
			break;
		}
	}
	if (optind < argc) {
		fprintf(err, "snapfreeze: %s: unexpected argument '%s'\n",
			o->cmd_word, argv[optind]);
		return -1;
	}
	if (allowed & OPT_CONFIG)
		return load_config(o, &g, strcmp(o->config, SF_DEFAULT_CONFIG),
				   err);
	return 0;
}
