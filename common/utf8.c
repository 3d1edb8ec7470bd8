/* utf8.c — see utf8.h. */
#include "utf8.h"

#include <string.h>

size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
	unsigned cp;

	if (len == 0 || len > n || c == 0)
		return 0;
	if (len == 1)
		return 1;
	cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	static const unsigned min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool utf8_xml_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		size_t k = utf8_seq_len(p, n);
		if (k == 0 || (p[0] < 0x20 && p[0] != '\t' && p[0] != '\n' && p[0] != '\r'))
			return false;
		/* U+FFFE and U+FFFF: EF BF BE, EF BF BF */
		if (k == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

size_t utf8_sanitize(const unsigned char *in, size_t n, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq_len(in + i, n - i);
		bool control = len == 1 && in[i] < 0x20 && in[i] != '\t' && in[i] != '\n' &&
			       in[i] != '\r';
		if (len > 0 && !control) {
			memcpy(out + k, in + i, len);
			k += len;
			i += len;
		} else {
			memcpy(out + k, "\xef\xbf\xbd", 3);
			k += 3;
			i++;
		}
	}
	return k;
}
