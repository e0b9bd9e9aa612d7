/* SPDX-License-Identifier: GPL-2.0 */
/* Force-included in the fuzzer's build: the default configuration's path. */
extern char fuzz_config_path[];
