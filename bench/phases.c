// SPDX-License-Identifier: GPL-2.0
/*
 * libsfphases.so: an LD_PRELOAD phase clock for one run of a netlink client
 * (the helper's post-script, or sfbench nl-thaw), cheap enough not to
 * change what it measures, unlike strace.  It records CLOCK_MONOTONIC
 * at:
 *   C  its constructor: every library is loaded and relocated, main() is
 *      about to run
 *   S  socket(AF_NETLINK, ...)
 *   s  each sendmsg()/sendto() (its start)
 *   r  each recvmsg()/recvfrom() (its end)
 *   D  its destructor: main() returned or exit() was called
 * and appends them, after the spawn time the parent passed in
 * SFB_SPAWN_NS, to the file SFB_PHASE_OUT ("T0 ns", "C ns", ...).
 * sfbench frozen-run adds "E ns" when the process is reaped;
 * bench/phase-report turns many runs into medians per phase.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EV 64

static int64_t ev_t[MAX_EV];
static char ev_k[MAX_EV];
static int nev;

static void rec(char k)
{
	struct timespec ts;

	if (nev >= MAX_EV)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ev_t[nev] = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	ev_k[nev++] = k;
}

__attribute__((constructor)) static void phases_start(void)
{
	rec('C');
}

__attribute__((destructor)) static void phases_end(void)
{
	const char *out = getenv("SFB_PHASE_OUT");
	const char *t0 = getenv("SFB_SPAWN_NS");
	char buf[4096];
	int fd, i, len = 0;

	rec('D');
	if (!out)
		return;
	len += snprintf(buf + len, sizeof(buf) - len, "T0 %s\n", t0 ? t0 : "0");
	for (i = 0; i < nev && len < (int)sizeof(buf) - 40; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%c %lld\n",
				ev_k[i], (long long)ev_t[i]);
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		return;
	if (write(fd, buf, len) != len)
		len = 0;
	close(fd);
}

#define REAL(name) \
	static __typeof__(name) *real; \
	if (!real) \
		real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

int socket(int domain, int type, int protocol)
{
	REAL(socket);
	if (domain == AF_NETLINK)
		rec('S');
	return real(domain, type, protocol);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	REAL(sendmsg);
	rec('s');
	return real(fd, msg, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *addr, socklen_t alen)
{
	REAL(sendto);
	rec('s');
	return real(fd, buf, len, flags, addr, alen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t ret;

	REAL(recvmsg);
	ret = real(fd, msg, flags);
	rec('r');
	return ret;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
		 struct sockaddr *addr, socklen_t *alen)
{
	ssize_t ret;

	REAL(recvfrom);
	ret = real(fd, buf, len, flags, addr, alen);
	rec('r');
	return ret;
}
