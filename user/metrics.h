/* SPDX-License-Identifier: GPL-2.0 */
/*
 * status --prometheus: the module's state and counters in the Prometheus
 * text exposition format (version 0.0.4), for node_exporter's textfile
 * collector.  No netlink here: the unit tests feed it replies.
 */
#ifndef SF_METRICS_H
#define SF_METRICS_H

#include <stdio.h>

#include "nlclient.h"

/* A label value, quotes included: backslash, quote and newline escaped. */
void metrics_label_value(FILE *f, const char *s);

/* Every metric family of @st; @version is the helper's. */
void metrics_print(FILE *f, const struct client_status *st,
		   const char *version);

/* The module cannot be reached: snapfreeze_up 0 and the version alone. */
void metrics_print_down(FILE *f, const char *version);

#endif /* SF_METRICS_H */
