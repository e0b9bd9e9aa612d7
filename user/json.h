/* SPDX-License-Identifier: GPL-2.0 */
/*
 * JSON strings for status --json and monitor --json.  What the kernel
 * reports (paths, ids, error messages) is bytes, not text: quotes,
 * backslashes and control characters are escaped, and a byte that is not
 * part of valid UTF-8 becomes U+FFFD, so that every line is valid JSON
 * (RFC 8259) whatever a mount point is called.
 */
#ifndef SF_JSON_H
#define SF_JSON_H

#include <stddef.h>
#include <stdio.h>

/* The length of the valid UTF-8 sequence at @s (1..4), or 0. */
size_t utf8_seq_len(const unsigned char *s);

/* @s as a JSON string, quotes included; NULL prints null. */
void json_string(FILE *f, const char *s);

#endif /* SF_JSON_H */
