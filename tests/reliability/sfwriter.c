// SPDX-License-Identifier: GPL-2.0
/*
 * sfwriter: a writer that logs what it has written, and the check that a
 * copy of its filesystem holds every write it logged.
 *
 *   sfwriter append FILE SEQFILE [RATE [WRAP]]
 *                                          append 4 KiB records to a new FILE
 *   sfwriter files DIR SEQFILE [RATE]      one new 512-byte file per record
 *   sfwriter verify-append FILE MIN        FILE holds records 1..MIN intact
 *   sfwriter verify-files DIR MIN          DIR holds files 1..MIN intact
 *   sfwriter seq SEQFILE                   the last sequence number logged
 *
 * A writer stores record N's sequence number in SEQFILE (on tmpfs, never
 * on a filesystem under test) right after the write() or close() of record
 * N returned, and never fsyncs: a number read from SEQFILE is a write that
 * had completed.  RATE bounds the writes per second (0, the default: as
 * fast as possible).  SIGTERM or SIGINT end a writer after its current
 * record.  WRAP (append only): after every WRAP records the file is
 * truncated to nothing and filled again, so that a writer that only has to
 * show progress never fills its filesystem (such a file does not verify).
 *
 * Each record carries a magic, its sequence number, a tag of its file's
 * name and a pattern derived from both, so a record that is missing, stale
 * (from an earlier run) or torn does not verify.  verify-* print
 * "valid=K of N" (K: the records 1..K that verify, N: records present) and
 * exit 0 if K >= MIN, 1 if not, 2 on a usage or I/O error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC_APPEND	4096
#define REC_FILE	512
#define MAGIC		"SFWREC01"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "sfwriter: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t name_tag(const char *name)
{
	const char *base = strrchr(name, '/');
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (base = base ? base + 1 : name; *base; base++)
		h = (h ^ (unsigned char)*base) * 1099511628211ULL;
	return h;
}

static void fill(unsigned char *rec, size_t size, uint64_t seq, uint64_t tag)
{
	size_t i;

	memcpy(rec, MAGIC, 8);
	memcpy(rec + 8, &seq, 8);
	memcpy(rec + 16, &tag, 8);
	for (i = 24; i < size; i++)
		rec[i] = (unsigned char)(seq * 131 + tag + i);
}

static int check(const unsigned char *rec, size_t size, uint64_t seq,
		 uint64_t tag)
{
	unsigned char want[REC_APPEND];

	fill(want, size, seq, tag);
	return !memcmp(rec, want, size);
}

/* Store the sequence number where `sfwriter seq` and scripts read it. */
static void log_seq(int fd, uint64_t seq)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%20" PRIu64 "\n", seq);

	if (pwrite(fd, buf, n, 0) != n)
		die("writing the sequence file");
}

static void pace(long rate)
{
	struct timespec ts;

	if (rate <= 0)
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000000L / rate;
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	nanosleep(&ts, NULL);
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static int open_seq(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die(path);
	log_seq(fd, 0);
	return fd;
}

static int do_append(const char *file, const char *seqfile, long rate,
		     uint64_t wrap)
{
	unsigned char rec[REC_APPEND];
	uint64_t tag = name_tag(file), seq;
	int sfd = open_seq(seqfile);
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0644);

	if (fd < 0)
		die(file);
	for (seq = 1; !stop; seq++) {
		fill(rec, sizeof(rec), seq, tag);
		if (write_all(fd, rec, sizeof(rec))) {
			fprintf(stderr, "sfwriter: %s: record %" PRIu64 ": %s\n",
				file, seq, strerror(errno));
			return 1;
		}
		log_seq(sfd, seq);
		if (wrap && seq % wrap == 0 && ftruncate(fd, 0))
			die(file);
		pace(rate);
	}
	return 0;
}

static int do_files(const char *dir, const char *seqfile, long rate)
{
	unsigned char rec[REC_FILE];
	char name[4096];
	uint64_t seq;
	int sfd = open_seq(seqfile);
	int fd;

	for (seq = 1; !stop; seq++) {
		snprintf(name, sizeof(name), "%s/f%08" PRIu64, dir, seq);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || (fill(rec, sizeof(rec), seq, name_tag(name)),
			       write_all(fd, rec, sizeof(rec))) || close(fd)) {
			fprintf(stderr, "sfwriter: %s: %s\n", name, strerror(errno));
			return 1;
		}
		log_seq(sfd, seq);
		pace(rate);
	}
	return 0;
}

static uint64_t parse_u64(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "sfwriter: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static int verdict(uint64_t valid, uint64_t present, uint64_t min)
{
	printf("valid=%" PRIu64 " of %" PRIu64 "\n", valid, present);
	return valid >= min ? 0 : 1;
}

static int do_verify_append(const char *file, uint64_t min)
{
	unsigned char rec[REC_APPEND];
	uint64_t tag = name_tag(file), seq = 0, valid = 0;
	int prefix = 1;
	ssize_t n;
	int fd = open(file, O_RDONLY);

	if (fd < 0) {
		printf("valid=0 of 0 (%s: %s)\n", file, strerror(errno));
		return min ? 1 : 0;
	}
	for (;;) {
		n = pread(fd, rec, sizeof(rec), (off_t)seq * sizeof(rec));
		if (n < 0)
			die(file);
		if (n < (ssize_t)sizeof(rec))
			break;
		seq++;
		if (prefix && check(rec, sizeof(rec), seq, tag))
			valid = seq;
		else
			prefix = 0;
	}
	close(fd);
	return verdict(valid, seq, min);
}

static int do_verify_files(const char *dir, uint64_t min)
{
	unsigned char rec[REC_FILE];
	char name[4096];
	uint64_t seq, present = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int fd, ok;

	if (!d) {
		printf("valid=0 of 0 (%s: %s)\n", dir, strerror(errno));
		return min ? 1 : 0;
	}
	while ((de = readdir(d)))
		present += de->d_name[0] == 'f';
	closedir(d);
	for (seq = 1;; seq++) {
		snprintf(name, sizeof(name), "%s/f%08" PRIu64, dir, seq);
		fd = open(name, O_RDONLY);
		if (fd < 0)
			break;
		ok = read(fd, rec, sizeof(rec)) == (ssize_t)sizeof(rec) &&
		     check(rec, sizeof(rec), seq, name_tag(name));
		close(fd);
		if (!ok)
			break;
	}
	return verdict(seq - 1, present, min);
}

static int do_seq(const char *seqfile)
{
	char buf[64], *tok;
	ssize_t n;
	int fd = open(seqfile, O_RDONLY);

	if (fd < 0)
		die(seqfile);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		die(seqfile);
	buf[n] = '\0';
	tok = strtok(buf, " \n");
	printf("%" PRIu64 "\n", tok ? parse_u64(tok) : 0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sfwriter append FILE SEQFILE [RATE [WRAP]]\n"
		"       sfwriter files DIR SEQFILE [RATE]\n"
		"       sfwriter verify-append FILE MIN\n"
		"       sfwriter verify-files DIR MIN\n"
		"       sfwriter seq SEQFILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	long rate;

	if (argc < 3)
		usage();
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rate = argc > 4 ? (long)parse_u64(argv[4]) : 0;
	if (!strcmp(argv[1], "append") && argc >= 4 && argc <= 6)
		return do_append(argv[2], argv[3], rate,
				 argc == 6 ? parse_u64(argv[5]) : 0);
	if (!strcmp(argv[1], "files") && (argc == 4 || argc == 5))
		return do_files(argv[2], argv[3], rate);
	if (!strcmp(argv[1], "verify-append") && argc == 4)
		return do_verify_append(argv[2], parse_u64(argv[3]));
	if (!strcmp(argv[1], "verify-files") && argc == 4)
		return do_verify_files(argv[2], parse_u64(argv[3]));
	if (!strcmp(argv[1], "seq") && argc == 3)
		return do_seq(argv[2]);
	usage();
	return 2;
}
