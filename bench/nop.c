// SPDX-License-Identifier: GPL-2.0
/*
 * A program that does nothing, linked (bench/Makefile) against the
 * helper's libraries or fewer: what its start-up costs per library set.
 */
int main(void)
{
	return 0;
}
