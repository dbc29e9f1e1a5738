// SPDX-License-Identifier: GPL-2.0
/* uuid_parse() for the static guest build of the VFIO selftests (see uuid/uuid.h). */
#include <uuid/uuid.h>

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int uuid_parse(const char *in, uuid_t uu)
{
	int i, n = 0;

	for (i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (in[i] != '-')
				return -1;
			continue;
		}
		hi = hex(in[i]);
		lo = hi < 0 ? -1 : hex(in[i + 1]);
		if (lo < 0)
			return -1;
		uu[n++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
	return in[36] ? -1 : 0;
}
