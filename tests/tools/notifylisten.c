/*
 * notifylisten.c — stands in for systemd's end of NOTIFY_SOCKET in
 * behaviour scripts (sd_notify(3): datagrams of "FIELD=VALUE" lines on a
 * Unix datagram socket).
 *
 *   notifylisten listen PATH [SECONDS]
 *   notifylisten send PATH TEXT
 *
 * listen binds PATH (removing what is there) and prints every line of
 * every datagram as
 *
 *   MS PID FIELD=VALUE
 *
 * MS is milliseconds on the monotonic clock since the listener started,
 * PID the sender's (SCM_CREDENTIALS, as systemd checks NotifyAccess=main).
 * stdout is flushed after each datagram, so a script can watch the file
 * grow.  It ends after SECONDS (default 600), or at SIGTERM.
 *
 * send puts TEXT in one datagram to PATH: a script's own marker among the
 * daemon's messages ("MARK=..."), so that the order of the lines says
 * what came before and after something the script did.
 *
 * Exit status: 0, 1 a socket error, 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int address(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path) {
		fprintf(stderr, "notifylisten: path too long: %s\n", path);
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

static int do_send(const char *path, const char *text)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || address(path, &sun) < 0)
		return 1;
	if (sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sun, sizeof sun) < 0) {
		fprintf(stderr, "notifylisten: send to %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}

/* One datagram: its lines, each with the time and the sender. */
static void print_datagram(char *buf, size_t len, double ms, long pid)
{
	buf[len] = '\0';
	for (char *line = buf, *nl; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (*line != '\0')
			printf("%.0f %ld %s\n", ms, pid, line);
		if (nl == NULL)
			break;
	}
	fflush(stdout);
}

static int receive(int fd, double start)
{
	char buf[8192];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = { buf, sizeof buf - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
			    .msg_controllen = sizeof ctl };
	ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
	long pid = 0;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cred;
			memcpy(&cred, CMSG_DATA(c), sizeof cred);
			pid = (long)cred.pid;
		}
	print_datagram(buf, (size_t)n, mono_ms() - start, pid);
	return 0;
}

static int do_listen(const char *path, double seconds)
{
	struct sockaddr_un sun;
	int one = 1;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	double start = mono_ms();

	if (fd < 0 || address(path, &sun) < 0)
		return 1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) {
		fprintf(stderr, "notifylisten: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (mono_ms() - start < seconds * 1e3) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) > 0 && receive(fd, start) < 0) {
			fprintf(stderr, "notifylisten: recvmsg: %s\n", strerror(errno));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "listen") == 0)
		return do_listen(argv[2], argc == 4 ? atof(argv[3]) : 600);
	if (argc == 4 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], argv[3]);
	fputs("usage: notifylisten listen PATH [SECONDS] | notifylisten send PATH TEXT\n", stderr);
	return 2;
}
