/*
 * complete.c — "sessionctl complete -- WORD...": the words that may come
 * next on a sessionctl command line, for the shell completion
 * (contrib/bash-completion/sessionctl).
 *
 * The shell passes the line's words up to the one being completed, that
 * one last (possibly empty).  One candidate per line comes out (the shell
 * keeps those that start with what was typed), or one directive:
 *
 *   @files      complete a file name (the argument of --socket; the
 *               arguments of what run runs)
 *   @commands   complete a program name (what run runs, after "--")
 *
 * Nothing is listed here a second time: command names, operands and a
 * command's own options come from the command table (sessionctl.c, the
 * same rows usage() prints), create's options and the values of its
 * enums from settings_table, the options every command takes from
 * CTL_COMMON_OPTS, and session names from the daemon (session.list, as
 * the caller sees them: a user completes only its own; --socket and
 * --owner on the line are honoured).  A daemon that is not there, or does
 * not answer within a few seconds, completes no name and prints nothing:
 * completion never shows an error.
 */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPTS_MAX 64
/* A daemon that does not answer must not hang the shell: the default
 * action of SIGALRM ends the process, and the shell completes nothing. */
#define SESSIONS_TIMEOUT_S 3

struct opt {
	char name[64];                      /* "--ttl" */
	bool arg;                           /* takes a value */
	const struct field *f;              /* a field table's row, or NULL */
};

struct opts {
	struct opt o[OPTS_MAX];
	int n;
};

static void opt_add(struct opts *os, const char *name, size_t len, bool arg,
		    const struct field *f)
{
	if (os->n == OPTS_MAX || len + 3 > sizeof os->o[0].name)
		return;
	struct opt *o = &os->o[os->n++];
	snprintf(o->name, sizeof o->name, "--%.*s", (int)len, name);
	o->arg = arg;
	o->f = f;
}

/* The options every command takes (CTL_COMMON_OPTS), and --version before
 * a command. */
static void common_options(struct opts *os, bool global)
{
	static const struct option common[] = { CTL_COMMON_OPTS };

	for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
		opt_add(os, common[i].name, strlen(common[i].name),
			common[i].has_arg == required_argument, NULL);
	if (global)
		opt_add(os, "version", 7, false, NULL);
}

/* A command's own options, as its synopsis says them: "[--ttl D]" takes a
 * value, "[--detach]" does not; then one per row of its field table. */
static void command_options(struct opts *os, const struct command *c)
{
	const char *p = c->args;

	while (*p != '\0') {
		size_t len = strcspn(p, " ");
		const char *tok = p[0] == '[' ? p + 1 : p;
		size_t tlen = len - (size_t)(tok - p);
		if (tlen > 2 && tok[0] == '-' && tok[1] == '-') {
			size_t nlen = strcspn(tok + 2, "] ");
			bool closed = tok[2 + nlen] == ']';
			opt_add(os, tok + 2, nlen, !closed && p[len] == ' ', NULL);
		}
		p += len;
		p += strspn(p, " ");
	}
	for (const struct field *f = c->fields; f != NULL && f->key != NULL; f++)
		if (f->flag != NULL)
			opt_add(os, f->flag, strlen(f->flag), true, f);
}

static void options_of(struct opts *os, const struct command *c)
{
	os->n = 0;
	common_options(os, c == NULL);
	if (c != NULL)
		command_options(os, c);
}

static const struct opt *opt_find(const struct opts *os, const char *word)
{
	for (int i = 0; i < os->n; i++)
		if (strcmp(os->o[i].name, word) == 0)
			return &os->o[i];
	return NULL;
}

static const struct command *command_find(const char *name)
{
	for (const struct command *c = ctl_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Does the command's first operand name a session ("NAME", "[NAME]")? */
static bool first_operand_is_session(const struct command *c)
{
	return strncmp(c->args, "NAME", 4) == 0 || strncmp(c->args, "[NAME]", 6) == 0;
}

/* An option's value: a file, or the names of an enum. */
static void complete_value(const struct opt *o)
{
	if (strcmp(o->name, "--socket") == 0) {
		puts("@files");
		return;
	}
	if (o->f == NULL)
		return;
	if (o->f->type == FT_ENUM)
		for (const char *const *n = o->f->names; *n != NULL; n++)
			puts(*n);
	if (o->f->type == FT_SECONDS_NEVER)
		puts("never");
}

/* The caller's session names, quietly: no daemon, no names. */
static void complete_sessions(struct ctx *x, const char *socket, long owner)
{
	struct sdc_error e;
	json_t *item;

	alarm(SESSIONS_TIMEOUT_S);
	x->c = sdc_connect(socket, &e);
	if (x->c == NULL)
		return;
	sdc_set_owner(x->c, owner);
	struct sdc_iter *it = sdc_sessions_iter(x->c, NULL);
	while ((item = sdc_iter_next(it, &e)) != NULL)
		puts(out_str(item, "name", ""));
	sdc_iter_free(it);
}

/* What the words before the last one say. */
struct line {
	const struct command *cmd;
	int operands;                       /* after the command */
	bool dashdash;                      /* "--" after the command */
	int after_dashdash;                 /* words after it */
	bool unknown;                       /* no such command: nothing follows */
	const struct opt *pending;          /* the last word is this option's value */
	const char *socket;
	long owner;
};

static void read_line(struct line *l, char **w, int n, struct opts *os)
{
	*l = (struct line){ .owner = -1 };
	options_of(os, NULL);
	for (int k = 0; k < n; k++) {
		const char *word = w[k];
		if (l->pending != NULL) {
			if (strcmp(l->pending->name, "--socket") == 0)
				l->socket = word;
			else if (strcmp(l->pending->name, "--owner") == 0)
				l->owner = strtol(word, NULL, 10);
			l->pending = NULL;
		} else if (l->dashdash) {
			l->after_dashdash++;
		} else if (l->cmd != NULL && strcmp(word, "--") == 0) {
			l->dashdash = true;
		} else if (word[0] == '-' && word[1] != '\0') {
			const struct opt *o = opt_find(os, word);
			l->pending = o != NULL && o->arg ? o : NULL;
		} else if (l->cmd == NULL) {
			l->cmd = command_find(word);
			l->unknown = l->cmd == NULL;
			if (l->unknown)
				return;
			options_of(os, l->cmd);
		} else {
			l->operands++;
		}
	}
}

int cmd_complete(struct ctx *x, int argc, char **argv)
{
	struct opts os;
	struct line l;
	int i = 1;

	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	/* argv[i] is the program, then the words; the last one is completed. */
	if (argc - i < 2)
		return ctl_usage_error("complete: expected -- PROGRAM WORD...");
	char **w = argv + i + 1;
	int n = argc - i - 1;
	const char *cur = w[n - 1];
	read_line(&l, w, n - 1, &os);
	if (l.unknown) {
		return 0;
	} else if (l.pending != NULL) {
		complete_value(l.pending);
	} else if (l.dashdash) {
		if (l.cmd->fn == cmd_run)
			puts(l.after_dashdash == 0 ? "@commands" : "@files");
	} else if (cur[0] == '-') {
		for (int k = 0; k < os.n; k++)
			puts(os.o[k].name);
	} else if (l.cmd == NULL) {
		for (const struct command *c = ctl_commands; c->name != NULL; c++)
			if (c->help != NULL)
				puts(c->name);
	} else if (l.operands == 0 && first_operand_is_session(l.cmd)) {
		complete_sessions(x, l.socket, l.owner);
	}
	return 0;
}
