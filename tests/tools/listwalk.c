/*
 * listwalk.c — walks session.list or session.holds through the client
 * library's iterators (sdc_sessions_iter, sdc_holds_iter), for behaviour
 * scripts that check paging against the real daemon.
 *
 *   listwalk [-s SOCKET] [-l LIMIT] [-S STATE] [-H SESSION]
 *            [-c VICTIMS -k EVERY -m MAX]
 *
 * Prints one line per item as the iterator hands it out: a session's name
 * (session.list, with -S only sessions in STATE), or with -H a hold's id
 * (session.holds of SESSION).  -l sets the page size (default: the
 * daemon's).
 *
 * With -c, a second connection churns while the walk goes on: after every
 * EVERY items (default 10) it deletes the next session named in the file
 * VICTIMS (one name a line) and creates a new one named "lw-new-N", at
 * most MAX of each (default 100); each happens between two items, so with
 * EVERY below the page size the pages before and after it see different
 * registries.  What it did goes to stderr, one line each: "deleted NAME",
 * "created NAME"; then "listwalk: N items, D deleted, C created".
 *
 * Exit status: 0 the walk ended, 1 the daemon refused (message on
 * stderr), 2 usage, 3 cannot connect.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rpc/sessiond-client.h"

static void usage(void)
{
	fputs("usage: listwalk [-s SOCKET] [-l LIMIT] [-S STATE] [-H SESSION] "
	      "[-c VICTIMS -k EVERY -m MAX]\n", stderr);
	exit(2);
}

struct churn {
	struct sdc *c;
	FILE *victims;
	long every, max, deleted, created;
};

/* One delete and one create on the churning connection. */
static int churn_once(struct churn *ch)
{
	char name[256];
	struct sdc_error e;

	if (ch->deleted < ch->max && fgets(name, sizeof name, ch->victims) != NULL) {
		name[strcspn(name, "\n")] = '\0';
		if (sdc_session_delete(ch->c, name, false, &e) < 0) {
			fprintf(stderr, "listwalk: delete %s: %s\n", name, e.message);
			return -1;
		}
		fprintf(stderr, "deleted %s\n", name);
		ch->deleted++;
	}
	if (ch->created < ch->max) {
		json_t *set = json_pack("{s:s}", "storage", "ephemeral"), *r = NULL;
		snprintf(name, sizeof name, "lw-new-%ld", ch->created);
		int rc = sdc_session_create(ch->c, name, set, &r, &e);
		json_decref(set);
		json_decref(r);
		if (rc < 0) {
			fprintf(stderr, "listwalk: create %s: %s\n", name, e.message);
			return -1;
		}
		fprintf(stderr, "created %s\n", name);
		ch->created++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *victims = NULL, *holds = NULL;
	struct sdc_list_opts o = { .state = NULL };
	struct churn ch = { .every = 10, .max = 100 };
	struct sdc_error e;
	int opt;

	while ((opt = getopt(argc, argv, "s:l:S:H:c:k:m:h")) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'l': o.limit = (size_t)atol(optarg); break;
		case 'S': o.state = optarg; break;
		case 'H': holds = optarg; break;
		case 'c': victims = optarg; break;
		case 'k': ch.every = atol(optarg); break;
		case 'm': ch.max = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || ch.every < 1)
		usage();
	struct sdc *c = sdc_connect(sock, &e);
	if (c == NULL) {
		fprintf(stderr, "listwalk: %s\n", e.message);
		return 3;
	}
	if (victims != NULL) {
		ch.victims = fopen(victims, "r");
		ch.c = sdc_connect(sock, &e);
		if (ch.victims == NULL || ch.c == NULL) {
			fprintf(stderr, "listwalk: churn: cannot open %s or connect\n", victims);
			return 3;
		}
	}
	struct sdc_iter *it = holds ? sdc_holds_iter(c, holds, o.limit) : sdc_sessions_iter(c, &o);
	json_t *item;
	long n = 0;
	while ((item = sdc_iter_next(it, &e)) != NULL) {
		const char *key = json_string_value(json_object_get(item, holds ? "id" : "name"));
		printf("%s\n", key ? key : "?");
		if (++n % ch.every == 0 && ch.c != NULL && churn_once(&ch) < 0)
			return 1;
	}
	bool failed = sdc_iter_failed(it);
	sdc_iter_free(it);
	fflush(stdout);
	if (failed) {
		fprintf(stderr, "listwalk: %s\n", e.message);
		return 1;
	}
	fprintf(stderr, "listwalk: %ld items, %ld deleted, %ld created\n", n, ch.deleted, ch.created);
	if (ch.c != NULL) {
		sdc_close(ch.c);
		fclose(ch.victims);
	}
	sdc_close(c);
	return 0;
}
