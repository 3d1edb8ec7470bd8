/*
 * watch.c — session.watch and the event stream: a connection that watches
 * gets every session event it may see (its own sessions; root: all, or
 * one owner's), as session.event notifications.
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

void watch_conn_close(struct daemon *d, struct conn_data *cd)
{
	if (cd->watch_all || cd->watch_names != NULL)
		d->watchers--;
}

void watch_start(struct request *rq)
{
	struct conn_data *cd = rpc_conn_data(rpc_call_conn(rq->call));

	if (!cd->watch_all && cd->watch_names == NULL)
		rq->d->watchers++;

	if (rq->s == NULL) {
		if (rq->args->given & RPB(RP_OWNER_UID)) {
			cd->watch_owner_set = true;
			cd->watch_owner = rq->owner;
		}
		cd->watch_all = true;
	} else {
		if (cd->watch_names == NULL)
			cd->watch_names = json_array();
		json_array_append_new(cd->watch_names, json_string(rq->s->key));
	}
	rpc_call_reply(rq->call, json_object());
}

struct broadcast {
	struct session *s;
	json_t *params;
};

static bool watches(struct conn_data *cd, struct session *s)
{
	size_t i;
	json_t *v;

	if (cd->watch_all && (!cd->watch_owner_set || cd->watch_owner == s->owner))
		return true;
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

