/* prng.c — see prng.h.  ChaCha20 written from RFC 8439, section 2. */
#include "prng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"

static inline uint32_t rotl(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

#define QR(a, b, c, d) do {                                 \
		a += b; d ^= a; d = rotl(d, 16);            \
		c += d; b ^= c; b = rotl(b, 12);            \
		a += b; d ^= a; d = rotl(d, 8);             \
		c += d; b ^= c; b = rotl(b, 7);             \
	} while (0)

void prng_chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
			 uint8_t out[64])
{
	uint32_t in[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
	uint32_t x[16];

	memcpy(in + 4, key, 32);
	in[12] = counter;
	memcpy(in + 13, nonce, 12);
	memcpy(x, in, sizeof x);
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t v = x[i] + in[i];
		out[4 * i] = (uint8_t)v;
		out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16);
		out[4 * i + 3] = (uint8_t)(v >> 24);
	}
}

static void rekey(struct prng *p)
{
	uint8_t seed[44];
	size_t got = 0;

	while (got < sizeof seed) {
		ssize_t n = getrandom(seed + got, sizeof seed - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fatal("getrandom: %s", strerror(errno));
		got += (size_t)n;
	}
	memcpy(p->key, seed, 32);
	memcpy(p->nonce, seed + 32, 12);
	memset(seed, 0, sizeof seed);
	p->counter = 0;
	p->used = sizeof p->block;
}

void prng_init(struct prng *p)
{
	rekey(p);
}

void prng_bytes(struct prng *p, void *out, size_t n)
{
	uint8_t *o = out;

	while (n > 0) {
		if (p->used == sizeof p->block) {
			if (p->counter == UINT32_MAX)
				rekey(p);
			prng_chacha20_block(p->key, p->counter++, p->nonce, p->block);
			p->used = 0;
		}
		size_t k = sizeof p->block - p->used < n ? sizeof p->block - p->used : n;
		memcpy(o, p->block + p->used, k);
		memset(p->block + p->used, 0, k);   /* handed out: not kept */
		p->used += k;
		o += k;
		n -= k;
	}
}

void prng_uuid(struct prng *p, char out[UUID_STR_LEN])
{
	uint8_t u[16];

	prng_bytes(p, u, sizeof u);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);    /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);    /* RFC 4122 variant */
	uuid_unparse_lower(u, out);         /* a table, not printf's 16 conversions */
}
