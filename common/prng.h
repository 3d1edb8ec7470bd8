/*
 * prng.h — unguessable ids without a system call per id.
 *
 * Token and lease ids are bearer secrets: whoever knows a token id may
 * renew or release it (within the rights of its uid), so another user
 * must not be able to predict one from the ids seen before.  A struct
 * prng is ChaCha20 (RFC 8439) keyed with 256 bits from getrandom(2) once:
 * every id is 122 bits of its keystream, formatted as a version-4 uuid.
 * Without the key, the keystream cannot be told from random, so the ids
 * before say nothing about the next; a new key is drawn every 2^32 blocks.
 * One prng per thread (the loop's is the core's); not thread-safe.
 */
#ifndef SESSIOND_PRNG_H
#define SESSIOND_PRNG_H

#include <stddef.h>
#include <stdint.h>
#include <uuid/uuid.h>

struct prng {
	uint32_t key[8];
	uint32_t nonce[3];
	uint32_t counter;
	uint8_t block[64];
	size_t used;                        /* bytes of block handed out */
};

/* Keys p from the kernel's random source; fatal if there is none. */
void prng_init(struct prng *p);
void prng_bytes(struct prng *p, void *out, size_t n);
/* A random (version 4) uuid as 36 characters and a NUL. */
void prng_uuid(struct prng *p, char out[UUID_STR_LEN]);
/* One ChaCha20 block (RFC 8439 section 2.3), for the test vectors. */
void prng_chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
			 uint8_t out[64]);

#endif
