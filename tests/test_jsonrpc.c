/*
 * test_jsonrpc.c — the frame and envelope rules (rpc/jsonrpc.c), the
 * plain decoder they load frames with (common/jsonplain.c) and the text
 * writer replies are written with (common/jsontext.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonplain.h"
#include "../rpc/rpc.h"

static int error_code_of(const char *frame, size_t len)
{
	struct rpc_request req;
	json_t *reply = NULL;

	if (rpc_parse_request(frame, len, &req, &reply) == 0) {
		rpc_request_clear(&req);
		return 0;
	}
	int code = (int)json_integer_value(json_object_get(json_object_get(reply, "error"), "code"));
	json_decref(reply);
	return code;
}

#define CODE(s) error_code_of(s, strlen(s))

static void test_valid_requests(void **state)
{
	struct rpc_request req;
	json_t *reply;
	const char *f = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"session.get\",\"params\":{\"name\":\"x\"}}";

	(void)state;
	assert_int_equal(rpc_parse_request(f, strlen(f), &req, &reply), 0);
	assert_string_equal(req.method, "session.get");
	assert_int_equal(json_integer_value(req.id), 7);
	assert_string_equal(json_string_value(json_object_get(req.params, "name")), "x");
	rpc_request_clear(&req);
	assert_int_equal(CODE("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"daemon.info\"}"), 0);
	assert_int_equal(CODE("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}"), 0);
	/* A notification: no id. */
	assert_int_equal(CODE("{\"jsonrpc\":\"2.0\",\"method\":\"m\"}"), 0);
}

static void test_bad_frames(void **state)
{
	(void)state;
	assert_int_equal(CODE("{"), RPC_ERR_PARSE);
	assert_int_equal(CODE("nonsense"), RPC_ERR_PARSE);
	assert_int_equal(CODE("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"method\":\"n\"}"), RPC_ERR_PARSE);
	assert_int_equal(CODE("[1,2]"), RPC_ERR_INVALID_REQUEST);
	assert_int_equal(CODE("42"), RPC_ERR_INVALID_REQUEST);
	assert_int_equal(CODE("{\"id\":1,\"method\":\"m\"}"), RPC_ERR_INVALID_REQUEST);
	assert_int_equal(CODE("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}"), RPC_ERR_INVALID_REQUEST);
	assert_int_equal(CODE("{\"jsonrpc\":\"2.0\",\"id\":1}"), RPC_ERR_INVALID_REQUEST);
	assert_int_equal(CODE("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}"), RPC_ERR_INVALID_REQUEST);
	assert_int_equal(CODE("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}"), RPC_ERR_INVALID_REQUEST);
	assert_int_equal(CODE("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":3}"),
			 RPC_ERR_INVALID_REQUEST);
	/* Bad UTF-8 inside a string. */
	assert_int_equal(CODE("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}"), RPC_ERR_PARSE);
}

/*
 * A NUL in a string is a parse error (sessiond-protocol(7), Framing),
 * whether escaped or raw: C code downstream would see "a" where the
 * client sent "a\0b".  Each frame is passed whole (its real length), and
 * the same frame with U+0001 in place of the NUL must parse, so the
 * error can only come from the NUL.
 */
static void test_nul_in_string(void **state)
{
	static const char esc_nul[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\\u0000b\"}";
	static const char esc_one[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\\u0001b\"}";
	static const char key_nul[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"a\\u0000b\":1}}";
	static const char raw_byte[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\0b\"}";
	struct rpc_request req;
	json_t *reply = NULL;

	(void)state;
	assert_int_equal(error_code_of(esc_nul, sizeof esc_nul - 1), RPC_ERR_PARSE);
	assert_int_equal(error_code_of(key_nul, sizeof key_nul - 1), RPC_ERR_PARSE);
	assert_int_equal(error_code_of(raw_byte, sizeof raw_byte - 1), RPC_ERR_PARSE);
	/* The control: one code point up, the frame is a valid request. */
	assert_int_equal(rpc_parse_request(esc_one, sizeof esc_one - 1, &req, &reply), 0);
	assert_null(reply);
	assert_int_equal(strlen(req.method), 3);
	assert_memory_equal(req.method, "a\001b", 3);
	rpc_request_clear(&req);
}

static void test_oversized(void **state)
{
	size_t n = RPC_MAX_FRAME + 1;
	char *big = malloc(n);

	(void)state;
	memset(big, ' ', n);
	assert_int_equal(error_code_of(big, n), RPC_ERR_INVALID_REQUEST);
	free(big);
}

/* An error reply keeps the request id when it could be read. */
static void test_error_keeps_id(void **state)
{
	struct rpc_request req;
	json_t *reply = NULL;
	const char *f = "{\"jsonrpc\":\"1.0\",\"id\":\"abc\",\"method\":\"m\"}";

	(void)state;
	assert_int_equal(rpc_parse_request(f, strlen(f), &req, &reply), -1);
	assert_string_equal(json_string_value(json_object_get(reply, "id")), "abc");
	json_decref(reply);
}

static void test_encode_and_incoming(void **state)
{
	json_t *id = json_integer(3), *pid, *payload;
	json_t *m = rpc_make_result(id, json_pack("{s:i}", "x", 1));
	const char *method;
	size_t len;
	char *s = rpc_encode(m, &len);

	(void)state;
	assert_non_null(s);
	assert_int_equal(s[len - 1], '\n');
	assert_null(memchr(s, '\n', len - 1));
	assert_int_equal(rpc_parse_incoming(m, &pid, &payload, &method), RPC_IN_RESULT);
	assert_int_equal(json_integer_value(json_object_get(payload, "x")), 1);
	json_t *n = rpc_make_notification("session.event", NULL);
	assert_int_equal(rpc_parse_incoming(n, &pid, &payload, &method), RPC_IN_NOTIFICATION);
	assert_string_equal(method, "session.event");
	json_t *e = rpc_make_error(id, -32001, "gone");
	assert_int_equal(rpc_parse_incoming(e, &pid, &payload, &method), RPC_IN_ERROR);
	free(s);
	json_decref(m);
	json_decref(n);
	json_decref(e);
	json_decref(id);
}

/* rpc_dumpb writes what json_dumpb(JSON_COMPACT) writes, whatever the
 * buffer, and fails where it fails. */
static void assert_dumps_alike(const json_t *v)
{
	char a[2048], b[2048];
	size_t na = rpc_dumpb(v, a, sizeof a), nb = json_dumpb(v, b, sizeof b, JSON_COMPACT);

	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na < sizeof a ? na : sizeof a);
	assert_int_equal(rpc_dumpb(v, NULL, 0), nb);
	for (size_t cut = 0; cut < nb && cut < sizeof a; cut += 7) {
		memset(a, '#', sizeof a);
		assert_int_equal(rpc_dumpb(v, a, cut), nb);
		assert_int_equal(a[cut], '#');              /* nothing past the buffer */
	}
}

/* A random value: every type, strings of every kind of character. */
static json_t *random_value(unsigned *seed, int depth)
{
	static const char *const texts[] = {
		"", "plain", "q\"uote", "back\\slash", "tab\tnl\ncr\rbs\bff\f", "\x01\x1f\x7f",
		"sl/ash", "caf\xc3\xa9", "\xe2\x82\xac\xf0\x9f\x98\x80", "\xef\xbf\xbf",
	};
	int kind = depth > 3 ? rand_r(seed) % 6 : rand_r(seed) % 8;
	json_t *v;

	switch (kind) {
	case 0: return json_null();
	case 1: return json_boolean(rand_r(seed) & 1);
	case 2: return json_integer((json_int_t)rand_r(seed) * (rand_r(seed) & 1 ? 1 : -1000003));
	case 3: return json_real((double)rand_r(seed) / (rand_r(seed) | 1) * (rand_r(seed) & 1 ? 1e-9 : 1e12));
	case 4: return json_string(texts[rand_r(seed) % (sizeof texts / sizeof texts[0])]);
	case 5: return json_stringn("nul\0inside", 11);
	case 6:
		v = json_array();
		for (int i = rand_r(seed) % 5; i > 0; i--)
			json_array_append_new(v, random_value(seed, depth + 1));
		return v;
	default:
		v = json_object();
		for (int i = rand_r(seed) % 5; i > 0; i--)
			json_object_set_new(v, texts[rand_r(seed) % (sizeof texts / sizeof texts[0])],
					    random_value(seed, depth + 1));
		return v;
	}
}

/* rpc_encode_into: the frame in the caller's buffer when it fits with its
 * NUL (one byte less does not), else in an allocation; the same text
 * either way, and as rpc_encode's. */
static void test_encode_into(void **state)
{
	json_t *id = json_integer(7);
	json_t *m = rpc_make_result(id, json_pack("{s:s}", "name", "dev"));
	char buf[256];
	size_t len, n;
	char *whole = rpc_encode(m, &len);

	(void)state;
	assert_non_null(whole);
	for (size_t size = 0; size <= len + 2; size++) {
		memset(buf, 'x', sizeof buf);
		char *got = rpc_encode_into(m, buf, size, &n);
		assert_non_null(got);
		assert_int_equal(n, len);
		assert_string_equal(got, whole);
		if (size >= len + 1)
			assert_ptr_equal(got, buf);
		else {
			assert_ptr_not_equal(got, buf);
			assert_int_equal(buf[size < sizeof buf ? size : 0], 'x');
			free(got);
		}
	}
	json_t *big = rpc_make_result(id, json_string(""));
	char *huge = malloc(RPC_MAX_FRAME + 1);
	memset(huge, 'a', RPC_MAX_FRAME);
	huge[RPC_MAX_FRAME] = '\0';
	json_object_set_new(big, "result", json_string(huge));
	errno = 0;
	assert_null(rpc_encode_into(big, buf, sizeof buf, &n));
	assert_int_equal(errno, EMSGSIZE);
	free(huge);
	json_decref(big);
	free(whole);
	json_decref(m);
	json_decref(id);
}

static void test_dumpb_as_jansson(void **state)
{
	unsigned seed = 17;

	(void)state;
	json_t *edge = json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:[], s:{}, s:[n,b,b]}",
				 "min", (json_int_t)INT64_MIN, "max", (json_int_t)INT64_MAX, "zero",
				 (json_int_t)0, "r1", 1.0, "r2", -0.5, "r3", 1e300, "a", "o", "l", 1, 0);
	json_object_setn_new(edge, "k\0ey", 4, json_integer(1));
	assert_dumps_alike(edge);
	json_decref(edge);
	for (int i = 0; i < 2000; i++) {
		json_t *v = json_array();
		json_array_append_new(v, random_value(&seed, 0));
		assert_dumps_alike(v);
		json_decref(v);
	}
	/* Not text: both refuse it. */
	json_t *bad = json_pack("{s:o}", "s", json_stringn_nocheck("\xc0\x80", 2));
	assert_int_equal(rpc_dumpb(bad, NULL, 0), 0);
	assert_int_equal(json_dumpb(bad, NULL, 0, JSON_COMPACT), 0);
	json_decref(bad);
	/* A message is an object or an array. */
	json_t *one = json_integer(1);
	assert_int_equal(rpc_dumpb(one, NULL, 0), 0);
	json_decref(one);
	/* A cycle is refused, not followed for ever. */
	json_t *loop = json_array(), *inner = json_array();
	json_array_append(inner, loop);
	json_array_append_new(loop, inner);
	assert_int_equal(rpc_dumpb(loop, NULL, 0), 0);
	json_array_clear(inner);
	json_decref(loop);
}

/* A tree written member by member through the text writer (jsontext.h);
 * a string with a NUL inside (not a C string) goes as a tree. */
static void write_members(struct jtext *t, const char *key, json_t *v)
{
	const char *k;
	json_t *m;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jtext_open(t, key);
		json_object_foreach(v, k, m)
			write_members(t, k, m);
		jtext_close(t);
		break;
	case JSON_ARRAY:
		jtext_open_array(t, key);
		json_array_foreach(v, i, m)
			write_members(t, NULL, m);
		jtext_close_array(t);
		break;
	case JSON_STRING:
		if (strlen(json_string_value(v)) == json_string_length(v))
			jtext_string(t, key, json_string_value(v));
		else
			jtext_json(t, key, v);
		break;
	case JSON_INTEGER:
		jtext_int(t, key, json_integer_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		jtext_bool(t, key, json_is_true(v));
		break;
	case JSON_NULL:
		jtext_null(t, key);
		break;
	default:
		jtext_json(t, key, v);
	}
}

/* The writer writes what the encoder writes for the same tree (commas,
 * keys, escapes, nesting), growing past its first 512 bytes. */
static void test_text_as_encoder(void **state)
{
	unsigned seed = 23;
	char a[8192];
	size_t longest = 0;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		json_t *v = json_array();
		for (int j = i % 100 == 0 ? 80 : rand_r(&seed) % 4; j >= 0; j--)
			json_array_append_new(v, random_value(&seed, 0));
		struct jtext t;
		jtext_init(&t);
		write_members(&t, NULL, v);
		size_t n = rpc_dumpb(v, a, sizeof a);
		assert_true(n > 0 && n < sizeof a);
		assert_false(t.bad);
		assert_int_equal(t.used, n);
		assert_memory_equal(t.buf, a, n);
		longest = n > longest ? n : longest;
		jtext_free(&t);
		json_decref(v);
	}
	assert_true(longest > 512);
	/* NULL is null; invalid UTF-8 in a string or a key makes it unusable. */
	struct jtext t;
	jtext_init(&t);
	jtext_open(&t, NULL);
	jtext_string(&t, "s", NULL);
	jtext_close(&t);
	assert_int_equal(t.used, strlen("{\"s\":null}"));
	assert_memory_equal(t.buf, "{\"s\":null}", t.used);
	jtext_free(&t);
	/* Keys longer than the quick copy's room: whole in a growing text, and
	 * counted, not written, past a fixed buffer's end. */
	char key[601], want[700], fixed[64 + 16];
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	snprintf(want, sizeof want, "{\"a\":1,\"%s\":2}", key);
	jtext_init(&t);
	jtext_open(&t, NULL);
	jtext_int(&t, "a", 1);
	jtext_int(&t, key, 2);
	jtext_close(&t);
	assert_int_equal(t.used, strlen(want));
	assert_memory_equal(t.buf, want, t.used);
	jtext_free(&t);
	memset(fixed, '#', sizeof fixed);
	jtext_fixed(&t, fixed, 64);
	jtext_open(&t, NULL);
	jtext_int(&t, "a", 1);
	jtext_int(&t, key, 2);
	jtext_close(&t);
	assert_int_equal(t.used, strlen(want));
	assert_memory_equal(fixed, want, 7);
	for (size_t i = 64; i < sizeof fixed; i++)
		assert_int_equal(fixed[i], '#');
	const char *bad[][2] = { { "k", "\xc0\x80" }, { "\xff", "v" } };
	for (size_t i = 0; i < 2; i++) {
		jtext_init(&t);
		jtext_open(&t, NULL);
		jtext_string(&t, bad[i][0], bad[i][1]);
		jtext_close(&t);
		assert_true(t.bad);
		jtext_free(&t);
	}
}

/* A result as text or as a tree is framed as rpc_encode frames
 * rpc_make_result of the same value, whatever the id and whatever the
 * buffer; an unusable or too large text is no frame. */
static void test_result_text(void **state)
{
	json_t *ids[] = { json_integer(7), json_string("a\"b\u00e9"), json_null(), NULL };
	unsigned seed = 5;
	char buf[4096];
	size_t n, len;

	(void)state;
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		for (int r = 0; r < 50; r++) {
			json_t *v = random_value(&seed, 0);
			struct jtext t;
			jtext_init(&t);
			write_members(&t, NULL, v);
			json_t *msg = rpc_make_result(ids[i], json_incref(v));
			char *whole = rpc_encode(msg, &len), *got;
			assert_non_null(whole);
			for (size_t size = 0; size <= len + 2 && size <= sizeof buf; size += r ? 13 : 1) {
				for (int tree = 0; tree < 2; tree++) {
					got = tree ? rpc_encode_result(ids[i], v, buf, size, &n) :
					      rpc_encode_result_text(ids[i], &t, buf, size, &n);
					assert_non_null(got);
					assert_int_equal(n, len);
					assert_string_equal(got, whole);
					if (got != buf)
						free(got);
					else
						assert_true(size >= len + 1);
				}
			}
			free(whole);
			json_decref(msg);
			json_decref(v);
			jtext_free(&t);
		}
	}
	struct jtext t;
	jtext_init(&t);
	jtext_string(&t, NULL, "\xc0\x80");
	errno = 0;
	assert_null(rpc_encode_result_text(ids[0], &t, buf, sizeof buf, &n));
	assert_int_equal(errno, EMSGSIZE);
	jtext_free(&t);
	jtext_init(&t);
	jtext_open_array(&t, NULL);
	for (int i = 0; i < RPC_MAX_FRAME / 8; i++)
		jtext_string(&t, NULL, "abcdef");
	jtext_close_array(&t);
	errno = 0;
	assert_null(rpc_encode_result_text(ids[0], &t, buf, sizeof buf, &n));
	assert_int_equal(errno, EMSGSIZE);
	jtext_free(&t);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		json_decref(ids[i]);
}

/* Whatever json_plain_decode loads, jansson loads the same (values, types, key
 * order); what it gives up on is jansson's to load or refuse. */
static bool decodes_alike(const char *buf, size_t len)
{
	json_t *d = json_plain_decode(buf, len);
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	char a[4096], b[4096];

	if (d != NULL) {
		assert_non_null(j);
		size_t na = json_dumpb(d, a, sizeof a, JSON_ENCODE_ANY);
		size_t nb = json_dumpb(j, b, sizeof b, JSON_ENCODE_ANY);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na < sizeof a ? na : sizeof a);
	}
	json_decref(d);
	json_decref(j);
	return d != NULL;
}

#define DECODES(s) decodes_alike(s, strlen(s))

static void test_decode_as_jansson(void **state)
{
	static const char bytes[] = "{}[],:\"\\ \t\n\r0123456789-+.eEtrufalsn\x01\x7f\x80\xc3\xa9\xed\xff";
	unsigned seed = 23;
	int fast = 0, tries = 0;

	(void)state;
	/* A request is plain. */
	assert_true(DECODES("{\"jsonrpc\":\"2.0\",\"id\":15207,\"method\":\"token.acquire\","
			    "\"params\":{\"name\":\"bench\",\"reason\":\"caf\xc3\xa9\"}}"));
	assert_true(DECODES(" [ 1 , -0, true,false ,null,\"\",{} ,[]]\n"));
	assert_false(DECODES("{\"a\":1,\"a\":2}"));          /* jansson refuses it */
	assert_false(DECODES("{\"a\":\"\\n\"}"));            /* an escape: jansson's */
	assert_true(DECODES("[1.5, -0.0, 4.0, 300.0, 2.5E+3, 1e-2, 0.1, 1e-400, 1234567890.123]"));
	assert_true(DECODES("{\"created\":1764691514.9701,\"grace_s\":300.0}"));
	assert_false(DECODES("[1e400]"));                   /* overflow: jansson's error */
	assert_false(DECODES("[1.]"));
	assert_false(DECODES("[.5]"));
	assert_false(DECODES("[1.5e]"));
	assert_false(DECODES("[1.5.3]"));
	assert_false(DECODES("[0.10000000000000000000000000000000000000001]"));    /* long */
	assert_false(DECODES("[1234567890123456789]"));
	/* json_plain_loadb is json_loadb for the flags it is given. */
	json_error_t e;
	json_t *l = json_plain_loadb("5", 1, 0, &e);       /* a bare scalar: refused */
	assert_null(l);
	assert_non_null(strstr(e.text, "'[' or '{' expected"));
	l = json_plain_loadb("5", 1, JSON_DECODE_ANY, &e);
	assert_int_equal(json_integer_value(l), 5);
	json_decref(l);
	l = json_plain_loadb("{\"grace_s\":300.0}", 17, 0, &e);
	assert_true(json_real_value(json_object_get(l, "grace_s")) == 300.0);
	json_decref(l);
	assert_false(DECODES("[01]"));
	assert_false(DECODES("[1"));
	assert_false(decodes_alike("[\"a\0\"]", 6));
	for (int i = 0; i < 3000; i++) {
		json_t *v = random_value(&seed, 0);
		char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | (i % 3 ? 0 : JSON_INDENT(1)));
		size_t len = strlen(text);
		fast += decodes_alike(text, len);
		tries++;
		for (int m = 0; m < 8 && len > 0; m++) {
			char *mut = malloc(len);
			memcpy(mut, text, len);
			mut[(size_t)rand_r(&seed) % len] = bytes[(size_t)rand_r(&seed) % (sizeof bytes - 1)];
			decodes_alike(mut, m % 2 ? len : (size_t)rand_r(&seed) % len);
			free(mut);
		}
		free(text);
		json_decref(v);
	}
	assert_true(fast > tries / 4);                      /* the subset is not empty */
}

/* The method table's rows: what a method takes, needs and refuses. */
static void test_params_unknown(void **state)
{
	json_t *p = json_pack("{s:s, s:b}", "name", "x", "force", 1);
	struct rpc_args a;
	struct cause c;

	(void)state;
	assert_int_equal(rpc_args_parse(RPC_M_SESSION_STOP, p, &a, &c), 0);
	assert_string_equal(a.name, "x");
	assert_true(a.force);
	assert_true(a.given & RPB(RP_FORCE));
	json_object_set_new(p, "forse", json_true());
	assert_int_equal(rpc_args_parse(RPC_M_SESSION_STOP, p, &a, &c), -1);
	assert_non_null(strstr(c.msg, "'forse'"));
	json_object_del(p, "forse");
	json_object_set_new(p, "force", json_string("yes"));
	assert_int_equal(rpc_args_parse(RPC_M_SESSION_STOP, p, &a, &c), -1);
	assert_non_null(strstr(c.msg, "'force'"));
	json_object_del(p, "name");
	json_object_set_new(p, "force", json_true());
	assert_int_equal(rpc_args_parse(RPC_M_SESSION_STOP, p, &a, &c), -1);
	assert_non_null(strstr(c.msg, "'name' is required"));
	/* session.create takes settings besides its own parameters. */
	json_object_set_new(p, "name", json_string("x"));
	json_object_del(p, "force");
	json_object_set_new(p, "memory_mib", json_integer(64));
	assert_int_equal(rpc_args_parse(RPC_M_SESSION_CREATE, p, &a, &c), 0);
	assert_ptr_equal(a.rest, p);
	json_decref(p);
}

/* ---- the plain request (rpc/plain.c) against the full path ----------- */

/* What the full path makes of a frame: the server's steps for a request
 * that comes alone (rpc/call.c call_start).  0 when it would dispatch;
 * a's strings live in req (rpc_request_clear after). */
static int full_path(const char *buf, size_t len, struct rpc_request *req, int *m,
		     struct rpc_args *a)
{
	struct cause c;
	json_t *reply = NULL;

	*m = -1;
	if (rpc_parse_request(buf, len, req, &reply) < 0) {
		json_decref(reply);
		return -1;
	}
	*m = rpc_method_find(req->method);
	return *m >= 0 && !json_is_array(req->params) &&
	       rpc_args_parse((enum rpc_method_id)*m, req->params, a, &c) == 0 ? 0 : -1;
}

static void same_string(const char *x, const char *y)
{
	assert_non_null(x);
	assert_non_null(y);
	assert_string_equal(x, y);
}

/* Every member the full path gave is the same from the plain reader. */
static void same_args(const struct rpc_args *x, const struct rpc_args *y)
{
	assert_int_equal(x->given, y->given);
	if (x->given & RPB(RP_NAME))
		same_string(x->name, y->name);
	if (x->given & RPB(RP_TOKEN))
		same_string(x->token, y->token);
	if (x->given & RPB(RP_REASON))
		same_string(x->reason, y->reason);
	if (x->given & RPB(RP_AFTER))
		same_string(x->after, y->after);
	if (x->given & RPB(RP_STATE))
		same_string(x->state, y->state);
	if (x->given & RPB(RP_HOST))
		same_string(x->host, y->host);
	assert_int_equal(x->owner_uid, y->owner_uid);
	assert_true(x->ttl_s == y->ttl_s);
	assert_true(x->max_bytes == y->max_bytes);
	assert_int_equal(x->limit, y->limit);
	assert_int_equal(x->detach, y->detach);
	assert_int_equal(x->force, y->force);
	assert_int_equal(x->keep_storage, y->keep_storage);
}

struct gen {
	char buf[4096];
	size_t len;
	bool plain;                         /* in the plain form, if the full path takes it */
	unsigned *seed;
};

static unsigned pick(struct gen *g, unsigned n)
{
	return (unsigned)rand_r(g->seed) % n;
}

static void put(struct gen *g, const char *text)
{
	size_t n = strlen(text);

	if (g->len + n < sizeof g->buf) {
		memcpy(g->buf + g->len, text, n);
		g->len += n;
	}
}

static void ws(struct gen *g)
{
	static const char *const spaces[] = { "", "", "", " ", "\n", " \t ", "\r\n" };

	put(g, spaces[pick(g, 7)]);
}

/* A value: plain or not, as the reader should see it (null is plain only
 * as an id). */
static void value(struct gen *g, bool id)
{
	static const struct { const char *text; bool plain; } values[] = {
		{ "\"bench\"", true }, { "\"a b}c,d:e{\"", true }, { "\"\"", true },
		{ "\"00000000-0000-0000-0000-000000000000\"", true }, { "\"running\"", true },
		{ "\"caf\xc3\xa9\"", false }, { "\"a\\nb\"", false }, { "\"a\\u0041\"", false },
		{ "\"a\\u0000b\"", false }, { "\"tab\there\"", false },
		{ "0", true }, { "7", true }, { "-3", true }, { "1000", true }, { "300", true },
		{ "123456789012345", true }, { "123456789012345678", true },
		{ "12345678901234567890", false }, { "01", false }, { "-0", true }, { "1.5", true },
		{ "2e3", true }, { "0.001", true }, { "30.0", true }, { "1e400", false }, { "1.", false },
		{ "true", true }, { "false", true }, { "null", false }, { "{}", false },
		{ "[]", false }, { "[1]", false }, { "{\"a\":1}", false }, { "tru", false },
	};
	unsigned i = pick(g, sizeof values / sizeof values[0]);

	put(g, values[i].text);
	g->plain &= values[i].plain || (id && strcmp(values[i].text, "null") == 0);
}

static void params(struct gen *g)
{
	static const char *const keys[] = {
		"name", "owner_uid", "token", "reason", "ttl_s", "detach", "force", "keep_storage",
		"max_bytes", "limit", "after", "state", "host", "nope", "memory_mib",
	};
	unsigned n = pick(g, 5);

	put(g, "{");
	for (unsigned i = 0; i < n; i++) {
		ws(g);
		put(g, i ? ",\"" : "\"");
		put(g, keys[pick(g, sizeof keys / sizeof keys[0])]);
		put(g, "\":");
		ws(g);
		value(g, false);
	}
	ws(g);
	put(g, "}");
}

/* Parameters the method takes, every one it needs and some of the others,
 * each with a value it accepts. */
static void good_params(struct gen *g, int m)
{
	static const char *const good[RP__COUNT] = {
		[RP_NAME] = "\"w-1\"", [RP_OWNER_UID] = "1000",
		[RP_TOKEN] = "\"00000000-0000-0000-0000-000000000000\"", [RP_REASON] = "\"a b}c\"",
		[RP_TTL_S] = "2.5", [RP_DETACH] = "true", [RP_FORCE] = "false",
		[RP_KEEP_STORAGE] = "true", [RP_MAX_BYTES] = "4096", [RP_LIMIT] = "10",
		[RP_AFTER] = "\"w-0\"", [RP_STATE] = "\"running\"", [RP_HOST] = "\"h1\"",
	};
	int n = 0;

	put(g, "{");
	for (int id = 0; id < RP__COUNT; id++) {
		if (!(rpc_methods[m].required & RPB(id)) &&
		    !((rpc_methods[m].params & RPB(id)) && pick(g, 2)))
			continue;
		put(g, n++ ? ", \"" : "\"");
		put(g, rpc_param_name((enum rpc_param_id)id));
		put(g, "\": ");
		put(g, good[id]);
		if (pick(g, 12) == 0) {             /* the same member twice */
			put(g, ",\"");
			put(g, rpc_param_name((enum rpc_param_id)id));
			put(g, "\":");
			put(g, good[id]);
		}
	}
	put(g, "}");
}

/* A request, its members in any order, each sometimes wrong or missing. */
static void request(struct gen *g)
{
	static const char *const methods[] = {
		"token.acquire", "token.release", "token.renew", "session.get", "session.stop",
		"session.list", "session.holds", "vm.console", "daemon.info", "session.create",
		"no.such", "token.acquir",
	};
	unsigned order[5] = { 0, 1, 2, 3, 4 }, count = 0;
	unsigned mi = pick(g, sizeof methods / sizeof methods[0]);
	int m = rpc_method_find(methods[mi]);

	g->len = 0;
	g->plain = true;
	for (unsigned i = 4; i > 0; i--) {
		unsigned j = pick(g, i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	ws(g);
	put(g, "{");
	for (unsigned k = 0; k < 5; k++) {
		unsigned r = pick(g, 10);
		if (order[k] == 4 && r > 0)         /* an extra member, rarely */
			continue;
		if (order[k] != 1 && order[k] != 2 && r == 0)    /* id or params absent */
			continue;
		put(g, count++ ? "," : "");
		ws(g);
		switch (order[k]) {
		case 0:
			put(g, "\"id\":");
			ws(g);
			value(g, true);
			break;
		case 1:
			put(g, "\"jsonrpc\":");
			put(g, r == 0 ? "\"1.0\"" : r == 1 ? "2.0" : "\"2.0\"");
			if (r == 9 && pick(g, 2)) {     /* twice */
				put(g, ",\"jsonrpc\":\"2.0\"");
				g->plain = false;
			}
			break;
		case 2:
			put(g, "\"method\":\"");
			put(g, methods[mi]);
			put(g, "\"");
			g->plain &= strcmp(methods[mi], "session.create") != 0;
			break;
		case 3:
			put(g, "\"params\":");
			ws(g);
			if (r == 1)
				put(g, "[]");
			else if (r == 2)
				put(g, "null");
			else if (m >= 0 && r > 5)
				good_params(g, m);
			else
				params(g);
			g->plain &= r != 1 && r != 2;
			break;
		default:
			put(g, "\"x\":1");
			g->plain = false;
		}
		ws(g);
	}
	put(g, "}");
	switch (pick(g, 12)) {
	case 0: g->len -= 1 + pick(g, (unsigned)g->len); g->plain = false; break;   /* cut */
	case 1: put(g, "x"); g->plain = false; break;                           /* trailing */
	default: put(g, pick(g, 2) ? "\n" : ""); break;
	}
}

/*
 * The plain reader takes exactly the frames of its form that the full path
 * would dispatch, and gives the same method, id and arguments; it declines
 * everything else (the full path then answers).  Frames are generated with
 * members in any order, values of every kind, keys unknown or twice,
 * escapes, non-ASCII text, cut or trailing bytes.
 */
static void test_plain_request_as_full_path(void **state)
{
	unsigned seed = 41;
	struct gen g = { .seed = &seed };
	int taken = 0, full = 0;

	(void)state;
	for (int i = 0; i < 30000; i++) {
		struct rpc_args pa, fa;
		struct rpc_request req;
		json_t *pid;
		int pm, fm;
		char store[sizeof g.buf];

		request(&g);
		memset(&fa, 0, sizeof fa);
		bool plain = rpc_plain_request(g.buf, g.len, store, &pm, &pid, &pa);
		bool dispatched = full_path(g.buf, g.len, &req, &fm, &fa) == 0;
		full += dispatched;
		taken += plain;
		if (plain != (g.plain && dispatched))
			fail_msg("frame %d: plain reader %s, full path %s, form %s: %.*s", i,
				 plain ? "took it" : "declined", dispatched ? "dispatches" : "refuses",
				 g.plain ? "plain" : "not plain", (int)g.len, g.buf);
		if (plain) {
			assert_int_equal(pm, fm);
			assert_true(pid == req.id || json_equal(pid, req.id));
			same_args(&fa, &pa);
		} else {
			assert_int_equal(pm, -1);
			assert_null(pid);
		}
		json_decref(pid);
		rpc_request_clear(&req);
	}
	print_message("plain reader took %d of %d frames; the full path dispatched %d\n", taken,
		      30000, full);
	/* Both kinds came up often enough to mean something. */
	assert_true(taken > 2000);
	assert_true(full - taken > 500);
}

/* What the client library sends is in the plain form. */
static void test_plain_client_frames(void **state)
{
	static const struct { const char *method; const char *params; } reqs[] = {
		{ RPC_TOKEN_ACQUIRE, "{\"name\":\"bench\",\"reason\":\"bench\"}" },
		{ RPC_TOKEN_ACQUIRE, "{\"name\":\"w\",\"owner_uid\":1000,\"ttl_s\":30.0,\"detach\":true}" },
		{ RPC_TOKEN_RENEW, "{\"token\":\"00000000-0000-0000-0000-000000000000\",\"ttl_s\":2.5}" },
		{ RPC_TOKEN_RELEASE, "{\"token\":\"00000000-0000-0000-0000-000000000000\"}" },
		{ RPC_SESSION_GET, "{\"name\":\"w\"}" },
		{ RPC_DAEMON_INFO, NULL },
	};
	char store[512];

	(void)state;
	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
		json_t *id = json_integer((json_int_t)i + 1), *pid;
		json_t *msg = rpc_make_request(id, reqs[i].method,
					       reqs[i].params ? json_loads(reqs[i].params, 0, NULL) : NULL);
		struct rpc_args a;
		size_t len;
		char *frame = rpc_encode(msg, &len);
		int m;

		assert_true(len < sizeof store);
		assert_true(rpc_plain_request(frame, len, store, &m, &pid, &a));
		assert_string_equal(rpc_methods[m].name, reqs[i].method);
		assert_true(json_equal(pid, id));
		json_decref(pid);
		free(frame);
		json_decref(msg);
		json_decref(id);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_requests),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_nul_in_string),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_error_keeps_id),
		cmocka_unit_test(test_encode_and_incoming),
		cmocka_unit_test(test_encode_into),
		cmocka_unit_test(test_dumpb_as_jansson),
		cmocka_unit_test(test_text_as_encoder),
		cmocka_unit_test(test_result_text),
		cmocka_unit_test(test_decode_as_jansson),
		cmocka_unit_test(test_params_unknown),
		cmocka_unit_test(test_plain_request_as_full_path),
		cmocka_unit_test(test_plain_client_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
