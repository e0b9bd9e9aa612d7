/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sfgenl: the few generic netlink calls the reliability tests make
 * (libmnl): resolve the snapfreeze family and its events group, send one
 * request and collect its ack, replies and extack message.
 */
#ifndef SFGENL_H
#define SFGENL_H

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

struct sfgenl {
	struct mnl_socket *nl;
	uint16_t family;	/* 0: the family is not visible here */
	uint32_t events_grp;	/* 0: no events group seen */
	unsigned int portid;
	uint32_t seq;
};

struct sfgenl_result {
	int err;		/* the ack's error, 0 or -errno */
	unsigned int replies;	/* family messages received before the ack */
	uint32_t state;		/* SNAPFREEZE_A_STATE of the last reply */
	int has_state;
	char msg[256];		/* the extack message, if any */
};

/*
 * Open a socket and resolve the family; 0, or -errno.  -ENOENT: the
 * family does not exist in this network namespace (or at all).
 */
int sfgenl_open(struct sfgenl *g);
void sfgenl_close(struct sfgenl *g);

/* Start a request for @cmd in @buf (MNL_SOCKET_BUFFER_SIZE bytes). */
struct nlmsghdr *sfgenl_request(struct sfgenl *g, char *buf, uint8_t cmd,
				uint16_t flags);

/*
 * Send @nlh (with NLM_F_ACK) and read until its ack: 0 if the exchange
 * completed (the kernel's verdict is in @res->err), -errno if the socket
 * failed.
 */
int sfgenl_call(struct sfgenl *g, struct nlmsghdr *nlh,
		struct sfgenl_result *res);

/* Parse one received buffer into @res; for callers that receive themselves. */
int sfgenl_parse(struct sfgenl *g, const char *buf, size_t len,
		 struct sfgenl_result *res, int *done);

#endif
