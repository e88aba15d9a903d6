// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_config - libFuzzer target of the PKCS#11 module's configuration file
 * parser (lib/store/config.c).  The input is the file, handed over through
 * HSMGROUP_CONFIG as a memfd.  Checked: no crash or leak, and whatever the
 * file says the result is sane (terminated strings, limits kept).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/hsmgroup.h>

#include "config.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_config: check failed: %s (line %d)\n", #c,           \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static int fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];
	static const char *const vars[] = {
	    "HSMGROUP_TOKEN_DIR",      "HSMGROUP_DEVICE",	"HSMGROUP_LOG_LEVEL",
	    "HSMGROUP_PIN_MIN_LEN",    "HSMGROUP_PIN_MAX_LEN",	"HSMGROUP_PIN_MAX_FAILURES",
	    "HSMGROUP_PIN_ITERATIONS", "HSMGROUP_SESSION_MODE", "HSMGROUP_TIMEOUT_MS"};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	fd = memfd_create("hsmgroup-fuzz.conf", MFD_CLOEXEC);
	CHECK(fd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	setenv("HSMGROUP_CONFIG", path, 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct shim_config c;
	unsigned int i;

	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	CHECK(shim_config_load(&c) == 0);
	CHECK(memchr(c.token_dir, 0, sizeof(c.token_dir)) && c.token_dir[0]);
	CHECK(memchr(c.device, 0, sizeof(c.device)) && c.device[0]);
	CHECK(c.pin_min_len >= 1 && c.pin_min_len <= c.pin_max_len);
	CHECK(c.pin_max_len <= HSMG_MAX_PIN_LEN);
	CHECK(c.pin_iterations >= 1000);
	CHECK(c.ntokens <= SHIM_MAX_TOKEN_CFG);
	for (i = 0; i < c.ntokens; i++) {
		CHECK(strlen(c.tokens[i].serial) == 16);
		(void)shim_config_session_flags(&c, c.tokens[i].serial);
	}
	(void)shim_config_session_flags(&c, "0000000000000000");
	return 0;
}
