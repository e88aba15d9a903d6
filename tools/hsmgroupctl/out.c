// SPDX-License-Identifier: GPL-2.0
/*
 * hsmgroupctl: a small JSON writer.
 */
#include <inttypes.h>
#include <stdio.h>

#include "out.h"

static int depth;
static bool first[64] = {true};
static char closer[64];

static void sep(const char *key)
{
	if (!first[depth])
		putchar(',');
	first[depth] = false;
	if (key)
		printf("\"%s\":", key);
}

static void str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void open_(const char *key, char o, char c)
{
	sep(key);
	putchar(o);
	if (depth < 63)
		depth++;
	first[depth] = true;
	closer[depth] = c;
}

void j_obj(const char *key)
{
	open_(key, '{', '}');
}

void j_arr(const char *key)
{
	open_(key, '[', ']');
}

void j_end(void)
{
	putchar(closer[depth]);
	if (depth > 0)
		depth--;
}

void j_str(const char *key, const char *val)
{
	sep(key);
	str(val ? val : "");
}

void j_u64(const char *key, uint64_t val)
{
	sep(key);
	printf("%" PRIu64, val);
}

void j_bool(const char *key, bool val)
{
	sep(key);
	fputs(val ? "true" : "false", stdout);
}

void j_hex(const char *key, const uint8_t *buf, int len)
{
	int i;

	sep(key);
	putchar('"');
	for (i = 0; i < len; i++)
		printf("%02x", buf[i]);
	putchar('"');
}

void j_newline(void)
{
	putchar('\n');
	depth = 0;
	first[0] = true;
}
