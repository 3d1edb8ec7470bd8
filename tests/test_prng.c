/*
 * test_prng.c — token ids cannot be predicted (issue 17: "a test checks
 * that a token id cannot be predicted from the ids before it: another uid
 * never guesses a live token in 100,000 tries").
 *
 * The generator (common/prng.c) is ChaCha20 as RFC 8439 section 2.3
 * defines it: its block function must give the RFC's test vectors, and
 * prng_bytes() must hand out the keystream in order, each byte once.
 *
 * Then the attack: uid A holds tokens; uid B, acquiring and releasing
 * its own tokens in between A's, sees every other id of the daemon's one
 * stream.  From the ids it saw B derives 100,000 guesses, the ones that
 * break weak generators (counters and linear generators: neighbours,
 * midpoints, extrapolations, bit and byte changes; a ChaCha20 stream under
 * keys one could guess, at the positions B's ids came from) and sends
 * them to token.release and token.renew through the real server.  No
 * guess may be one of A's ids (as the test recorded them: the daemon's
 * check of the caller's uid would hide A's tokens from B even then), every
 * answer must be "not found", and A's tokens must all still be held.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "../common/prng.h"
#include "../rpc/sessiond-protocol.h"
#include "harness/harness.h"
#include "harness/rpcworld.h"

/* ---- the generator ------------------------------------------------------------- */

static void words_le(const uint8_t *b, uint32_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
		       (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
}

static void hex_bytes(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 3 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* RFC 8439 section 2.3.2: key 00..1f, nonce 000000090000004a00000000,
 * block count 1. */
static void test_rfc8439_block(void **state)
{
	static const char *want_hex =
		"10 f1 e7 e4 d1 3b 59 15 50 0f dd 1f a3 20 71 c4 "
		"c7 d1 f4 c7 33 c0 68 03 04 22 aa 9a c3 d4 6c 4e "
		"d2 82 64 46 07 9f aa 09 14 c2 d7 05 d9 8b 02 a2 "
		"b5 12 9c d1 de 16 4e b9 cb d0 83 e8 a2 50 3c 4e";
	uint8_t keyb[32], nonceb[12] = { 0, 0, 0, 0x09, 0, 0, 0, 0x4a, 0, 0, 0, 0 };
	uint8_t want[64], out[64];
	uint32_t key[8], nonce[3];

	(void)state;
	for (int i = 0; i < 32; i++)
		keyb[i] = (uint8_t)i;
	words_le(keyb, key, 8);
	words_le(nonceb, nonce, 3);
	hex_bytes(want_hex, want, 64);
	prng_chacha20_block(key, 1, nonce, out);
	assert_memory_equal(out, want, 64);
}

/* RFC 8439 appendix A.1, test vectors 1 and 2: the zero key and nonce,
 * block counts 0 and 1. */
static void test_rfc8439_zero_key(void **state)
{
	static const char *want_hex[2] = {
		"76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28 "
		"bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7 "
		"da 41 59 7c 51 57 48 8d 77 24 e0 3f b8 d8 4a 37 "
		"6a 43 b8 f4 15 18 a1 1c c3 87 b6 69 b2 ee 65 86",
		"9f 07 e7 be 55 51 38 7a 98 ba 97 7c 73 2d 08 0d "
		"cb 0f 29 a0 48 e3 65 69 12 c6 53 3e 32 ee 7a ed "
		"29 b7 21 76 9c e6 4e 43 d5 71 33 b0 74 d8 39 d5 "
		"31 ed 1f 28 51 0a fb 45 ac e1 0a 1f 4b 79 4d 6f",
	};
	uint32_t key[8] = { 0 }, nonce[3] = { 0 };
	uint8_t want[64], out[64];

	(void)state;
	for (uint32_t c = 0; c < 2; c++) {
		hex_bytes(want_hex[c], want, 64);
		prng_chacha20_block(key, c, nonce, out);
		assert_memory_equal(out, want, 64);
	}
}

/* prng_bytes hands out the keystream of its key and nonce from block 0
 * on, in order, each byte once, whatever the sizes asked; prng_uuid is 16
 * of those bytes as a version-4 uuid. */
static void test_stream_in_order(void **state)
{
	struct prng p;
	uint8_t want[5 * 64], got[5 * 64];
	static const size_t asks[] = { 1, 15, 16, 31, 64, 3, 100, 50 };

	(void)state;
	prng_init(&p);
	struct prng copy = p;
	for (uint32_t b = 0; b < 5; b++)
		prng_chacha20_block(copy.key, b, copy.nonce, want + 64 * b);
	size_t at = 0;
	for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
		prng_bytes(&p, got + at, asks[i]);
		at += asks[i];
	}
	assert_int_equal(at, 280);
	assert_memory_equal(got, want, at);
	/* The next 16 bytes are the next uuid, version and variant set. */
	char id[37];
	prng_uuid(&p, id);
	uuid_t u;
	assert_int_equal(uuid_parse(id, u), 0);
	assert_int_equal(u[6] >> 4, 4);
	assert_int_equal(u[8] >> 6, 2);
	for (int i = 0; i < 16; i++) {
		uint8_t w = want[280 + i];
		if (i == 6)
			w = (uint8_t)((w & 0x0f) | 0x40);
		if (i == 8)
			w = (uint8_t)((w & 0x3f) | 0x80);
		assert_int_equal(u[i], w);
	}
	/* Two generators keyed apart do not share a stream. */
	struct prng q;
	prng_init(&q);
	assert_memory_not_equal(p.key, q.key, sizeof p.key);
}

/* ---- another uid guessing ---------------------------------------------------------- */

#define UID_A 1001
#define UID_B 1002
#define ROUNDS 200                      /* ids A holds, and ids B sees */
#define GUESSES 100000
#define BATCH 1000

typedef unsigned __int128 u128;

static u128 to_int(const char *id)
{
	uuid_t u;
	u128 v = 0;

	assert_int_equal(uuid_parse(id, u), 0);
	for (int i = 0; i < 16; i++)
		v = v << 8 | u[i];
	return v;
}

static void to_text(u128 v, char out[37])
{
	uuid_t u;

	for (int i = 15; i >= 0; i--) {
		u[i] = (uint8_t)v;
		v >>= 8;
	}
	uuid_unparse_lower(u, out);
}

static void to_text_v4(const uint8_t b[16], char out[37])
{
	uuid_t u;

	memcpy(u, b, 16);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	uuid_unparse_lower(u, out);
}

/* The 122 random bits of a v4 uuid as one number, and back. */
static u128 random_bits(u128 v)
{
	u128 lo = v & (((u128)1 << 62) - 1);               /* after the variant */
	u128 mid = (v >> 64) & 0xfff;                       /* after the version */
	u128 hi = v >> 80;                                  /* 48 bits */
	return hi << 74 | mid << 62 | lo;
}

static u128 from_random_bits(u128 r)
{
	u128 lo = r & (((u128)1 << 62) - 1);
	u128 mid = (r >> 62) & 0xfff;
	u128 hi = (r >> 74) & (((u128)1 << 48) - 1);
	return hi << 80 | (u128)4 << 76 | mid << 64 | (u128)2 << 62 | lo;
}

struct guesses {
	json_t *set;                        /* id -> true: no guess twice */
	json_t *list;
	json_t *own;                        /* B's own ids: not guesses */
};

static void guess(struct guesses *g, const char *id)
{
	if (json_array_size(g->list) >= GUESSES || json_object_get(g->set, id) != NULL ||
	    json_object_get(g->own, id) != NULL)
		return;
	json_object_set_new(g->set, id, json_true());
	json_array_append_new(g->list, json_string(id));
}

static void guess_int(struct guesses *g, u128 v)
{
	char id[37];

	to_text(v, id);
	guess(g, id);
	to_text(from_random_bits(random_bits(v)), id);
	guess(g, id);
}

/* Guesses a weak generator would make right, for each of B's ids in
 * turn, nearest first: what lies between and beyond two of them as
 * numbers, their neighbours, one bit or one byte changed; then
 * neighbours further out until there are GUESSES. */
static void near_guesses(struct guesses *g, json_t *seen)
{
	size_t n = json_array_size(seen);

	for (int phase = 0; phase < 3; phase++) {
		for (size_t i = 0; i < n; i++) {
			u128 v = to_int(json_string_value(json_array_get(seen, i)));
			u128 r = random_bits(v);
			if (phase == 0 && i + 1 < n) {
				u128 w = to_int(json_string_value(json_array_get(seen, i + 1)));
				u128 rw = random_bits(w);
				guess_int(g, v + (w - v) / 2);              /* between two */
				guess_int(g, from_random_bits(r + (rw - r) / 2));
				guess_int(g, w + (w - v));                  /* beyond */
				guess_int(g, from_random_bits(rw + (rw - r)));
				guess_int(g, v ^ w);
			}
			for (int d = 1; phase == 0 && d <= 8; d++) {     /* neighbours */
				guess_int(g, from_random_bits(r + (u128)d));
				guess_int(g, from_random_bits(r - (u128)d));
				guess_int(g, v + (u128)d);
				guess_int(g, v - (u128)d);
			}
			for (int bit = 0; phase == 1 && bit < 122; bit++) /* one bit */
				guess_int(g, from_random_bits(r ^ ((u128)1 << bit)));
			for (int byte = 0; phase == 2 && byte < 16; byte++) {
				guess_int(g, v + ((u128)1 << (8 * byte)));  /* one byte */
				guess_int(g, v - ((u128)1 << (8 * byte)));
			}
		}
	}
	for (u128 d = 9; json_array_size(g->list) < GUESSES; d++) {
		for (size_t i = 0; i < n; i++) {
			u128 r = random_bits(to_int(json_string_value(json_array_get(seen, i))));
			guess_int(g, from_random_bits(r + d));
			guess_int(g, from_random_bits(r - d));
		}
	}
}

/* A ChaCha20 stream under keys one could guess (zero, two of B's own ids
 * as the key) at the block positions ids come from: 4 ids a block. */
static void stream_guesses(struct guesses *g, json_t *seen)
{
	uint32_t key[8] = { 0 }, nonce[3] = { 0 };
	uint8_t block[64];
	char id[37];

	for (size_t k = 0; k <= 50 && k < json_array_size(seen); k++) {
		if (k > 0) {
			uuid_t a, b;
			uuid_parse(json_string_value(json_array_get(seen, k - 1)), a);
			uuid_parse(json_string_value(json_array_get(seen, k)), b);
			memcpy(key, a, 16);
			memcpy(key + 4, b, 16);
		}
		for (uint32_t c = 0; c < 16; c++) {
			prng_chacha20_block(key, c, nonce, block);
			for (int q = 0; q < 4; q++) {
				to_text_v4(block + 16 * q, id);
				guess(g, id);
			}
		}
	}
}

static json_t *ok(struct harness *h, struct client *cl, const char *method, json_t *params)
{
	json_t *r = client_request(h, cl, method, params, NULL);

	if (code_of(r) != 0)
		fail_msg("%s: %s", method, json_string_value(json_object_get(json_object_get(r, "error"),
									  "message")));
	json_t *res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return res;
}

static struct harness *live_h;
static struct daemon live_d;
static struct client ca, cb;

static int teardown(void **state)
{
	(void)state;
	if (live_h == NULL)
		return 0;
	client_close(&ca);
	client_close(&cb);
	rpcworld_stop(&live_d, live_h);
	harness_free(live_h);
	live_h = NULL;
	return 0;
}

static void test_other_uid_never_guesses(void **state)
{
	struct harness_opts o = { .scratch_gib = -1 };
	json_t *a_ids = json_array(), *b_seen = json_array();
	struct guesses g = { json_object(), json_array(), json_object() };

	(void)state;
	live_h = harness_new(&o);
	rpcworld_start(&live_d, live_h);
	client_open(&live_d, &ca, UID_A);
	client_open(&live_d, &cb, UID_B);
	json_decref(ok(live_h, &ca, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", "a",
		    "storage", "ephemeral")));
	json_decref(ok(live_h, &cb, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", "b",
		    "storage", "ephemeral")));
	/* A's and B's ids alternate in the daemon's one stream. */
	for (int i = 0; i < ROUNDS; i++) {
		json_t *r = ok(live_h, &cb, RPC_TOKEN_ACQUIRE, json_pack("{s:s}", "name", "b"));
		json_t *tok = json_object_get(r, "token");
		json_array_append(b_seen, tok);
		json_object_set(g.own, json_string_value(tok), json_true());
		json_decref(ok(live_h, &cb, RPC_TOKEN_RELEASE, json_pack("{s:O}", "token", tok)));
		json_decref(r);
		r = ok(live_h, &ca, RPC_TOKEN_ACQUIRE, json_pack("{s:s}", "name", "a"));
		json_array_append(a_ids, json_object_get(r, "token"));
		json_decref(r);
	}
	stream_guesses(&g, b_seen);
	near_guesses(&g, b_seen);
	assert_int_equal(json_array_size(g.list), GUESSES);
	/* Guessed: a guess that is one of A's ids, as the test recorded them
	 * (the daemon's uid check would still refuse it; the id must not be
	 * guessable in the first place). */
	size_t i;
	json_t *v;
	long guessed = 0;
	json_array_foreach(a_ids, i, v) {
		if (json_object_get(g.set, json_string_value(v)) != NULL) {
			guessed++;
			print_message("guessed A's token %s\n", json_string_value(v));
		}
	}

	/* B sends every guess, half to token.release, half to token.renew. */
	long hits = 0, answers = 0;
	for (size_t b = 0; b < GUESSES; b += BATCH) {
		json_t *reqs = json_array();
		for (size_t k = b; k < b + BATCH; k++)
			json_array_append_new(reqs, json_pack("{s:s, s:I, s:s, s:{s:O}}", "jsonrpc", "2.0",
				"id", (json_int_t)k, "method", k % 2 ? RPC_TOKEN_RENEW : RPC_TOKEN_RELEASE,
				"params", "token", json_array_get(g.list, k)));
		char *text = json_dumps(reqs, JSON_COMPACT);
		json_decref(reqs);
		client_write(live_h, &cb, text);
		free(text);
		json_t *ans = client_wait_batch(live_h, &cb, 60), *r;
		size_t j;
		json_array_foreach(ans, j, r) {
			answers++;
			if (code_of(r) != RPC_ERR_NOT_FOUND) {
				hits++;
				print_message("guess %s: code %d\n", json_string_value(json_array_get(g.list,
					(size_t)json_integer_value(json_object_get(r, "id")))), code_of(r));
			}
		}
		json_decref(ans);
	}
	assert_int_equal(answers, GUESSES);
	if (guessed > 0 || hits > 0)
		fail_msg("uid %d guessed %ld token id(s) of uid %d and reached %ld token(s) with %d "
			 "guesses", UID_B, guessed, UID_A, hits, GUESSES);
	/* And A's tokens are all still there, as A acquired them. */
	json_array_foreach(a_ids, i, v) {
		struct token *t = token_find(live_d.core->tokens, json_string_value(v));
		if (t == NULL || t->lease.state != LEASE_HELD)
			fail_msg("A's token %s is gone", json_string_value(v));
		assert_int_equal(t->uid, UID_A);
	}
	assert_int_equal(holds_count(core_find(live_d.core, UID_A, "a")), ROUNDS);
	print_message("%d guesses from %d seen ids: none reached any of %d live tokens\n", GUESSES,
		      ROUNDS, ROUNDS);
	json_decref(a_ids);
	json_decref(b_seen);
	json_decref(g.set);
	json_decref(g.list);
	json_decref(g.own);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8439_block),
		cmocka_unit_test(test_rfc8439_zero_key),
		cmocka_unit_test(test_stream_in_order),
		cmocka_unit_test_teardown(test_other_uid_never_guesses, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
