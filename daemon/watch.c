/*
 * watch.c — session.watch and the event stream: a connection that watches
 * gets the events of what it asked for, as session.event notifications:
 * sessions by name, one owner's sessions (root), or all it may see (its
 * own; root: all).  Calls add up.
 */
#include "daemon.h"

#include <string.h>

#include "../common/xalloc.h"

/* Events are built only while some connection watches (d->watchers). */
bool watch_listening(struct session *s, void *arg)
{
	struct daemon *d = arg;

	(void)s;
	return d->watchers > 0;
}

static bool watching(const struct conn_data *cd)
{
	return cd->watch_all || cd->watch_owners != NULL || cd->watch_names != NULL;
}

void watch_conn_close(struct daemon *d, struct conn_data *cd)
{
	if (watching(cd))
		d->watchers--;
	json_decref(cd->watch_owners);
	json_decref(cd->watch_names);
}

/* Each call adds to what the connection watches: a session, one owner's
 * sessions (root), or every session it may see. */
void watch_start(struct request *rq)
{
	struct conn_data *cd = rpc_conn_data(rpc_call_conn(rq->call));
	json_t **list = NULL;
	json_t *item = NULL;

	if (!watching(cd))
		rq->d->watchers++;
	if (rq->s != NULL) {
		list = &cd->watch_names;
		item = json_string(rq->s->key);
	} else if (rq->args->given & RPB(RP_OWNER_UID)) {
		list = &cd->watch_owners;
		item = json_integer((json_int_t)rq->owner);
	} else {
		cd->watch_all = true;
	}
	if (list != NULL) {
		if (*list == NULL)
			*list = json_array();
		json_array_append_new(*list, item);
	}
	rpc_call_reply(rq->call, NULL);
}

struct broadcast {
	struct session *s;
	json_t *params;
};

static bool watches(struct conn_data *cd, struct session *s)
{
	size_t i;
	json_t *v;

	if (cd->watch_all)
		return true;
	json_array_foreach(cd->watch_owners, i, v) {
		if (json_integer_value(v) == (json_int_t)s->owner)
			return true;
	}
	json_array_foreach(cd->watch_names, i, v) {
		if (strcmp(json_string_value(v), s->key) == 0)
			return true;
	}
	return false;
}

static void broadcast_one(struct rpc_conn *c, void *arg)
{
	struct broadcast *b = arg;
	struct conn_data *cd = rpc_conn_data(c);

	if (cd == NULL || !watches(cd, b->s))
		return;
	if (rpc_conn_uid(c) != 0 && rpc_conn_uid(c) != b->s->owner)
		return;
	rpc_conn_notify(c, RPC_NOTIFY_SESSION_EVENT, b->params);
}

void watch_event_hook(struct session *s, json_t *params, void *arg)
{
	struct daemon *d = arg;
	struct broadcast b = { s, params };

	if (d->srv != NULL)
		rpc_server_foreach(d->srv, broadcast_one, &b);
}

