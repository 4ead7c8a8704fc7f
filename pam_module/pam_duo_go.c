/*
 * pam_duo_go.so: the PAM entry points of pam_duo_go.
 *
 * This part is C on purpose: it starts no Go runtime when a PAM
 * application loads it. A Go runtime does not survive fork(), and sshd
 * loads PAM modules in its monitor and then runs keyboard-interactive
 * authentication in a forked child (see ARCHITECTURE.md).
 *
 * pam_sm_authenticate loads the Go core (pam_duo_go_core.so) with dlopen
 * the first time it runs and calls into it. If it finds it is running in
 * a different process from the one that loaded the core (a fork of it),
 * it never enters Go: it runs the login out of process through
 * `login_duo_go pam-worker`, relaying the conversation over a socket.
 * The module argument mode=exec always takes that path, and so does a
 * PAM application whose real uid is not root (sudo, su): the user could
 * signal or starve a login running in it. The worker runs isolated from
 * the caller (isolate_worker).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "converse.h"
#include "protocol.h"

#ifndef PAM_DUO_GO_CORE_PATH
#define PAM_DUO_GO_CORE_PATH "/usr/lib/x86_64-linux-gnu/pam_duo_go/pam_duo_go_core.so"
#endif
#ifndef PAM_DUO_GO_HELPER_PATH
#define PAM_DUO_GO_HELPER_PATH "/usr/sbin/login_duo_go"
#endif

/* Only the pam_sm_* entry points are exported (built with -fvisibility=hidden). */
#define EXPORT __attribute__((visibility("default")))

#define CORE_SYMBOL "pam_duo_go_core_authenticate_v2"
/* A whole out-of-process login takes at most login_timeout= (the
 * worker's own bound) plus PDG_WORKER_SLACK_SECONDS (protocol.h). */
#define START_MAX (PDG_MAX_PAYLOAD)

typedef int (*core_authenticate_fn)(pam_handle_t *, int, int, const char **, int *);

/*
 * log_tagged logs one line with facility LOG_AUTHPRIV under the tag
 * "pam_duo_go" and this process's pid, as the Go core and the worker do
 * (login.NewSyslog): every line of the module is "pam_duo_go[PID]: ...",
 * whichever process logs it, and `journalctl -t pam_duo_go` finds them
 * all. It writes one datagram to /dev/log itself: openlog() would change
 * the application's own ident. When that fails it falls back to
 * pam_syslog (the application's tag).
 */
static void log_tagged(pam_handle_t *pamh, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void log_tagged(pam_handle_t *pamh, int prio, const char *fmt, ...)
{
	static const struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	char msg[2048], line[2200], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	int fd, n, saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (localtime_r(&now, &tm) == NULL || strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	n = snprintf(line, sizeof line, "<%d>%s pam_duo_go[%d]: %s", LOG_AUTHPRIV | (prio & LOG_PRIMASK), stamp,
		     (int)getpid(), msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, line, (size_t)n, MSG_NOSIGNAL, (const struct sockaddr *)&addr, sizeof addr) != n)
		pam_syslog(pamh, prio, "%s", msg);
	if (fd >= 0)
		close(fd);
	errno = saved;
}

/*
 * sshd with AuthenticationMethods password,keyboard-interactive runs the
 * auth stack twice on one PAM handle: in the password step with a
 * conversation that answers only the password prompt, then for
 * keyboard-interactive (in a fork of the process that ran the first).
 * When the first run was allowed with an automatic push because it could
 * not prompt, the module leaves this mark in the handle (pam_set_data;
 * a fork inherits a copy), and a later run for the same user within
 * MARK_SECONDS succeeds without a second push, once.
 */
#define MARK_NAME "pam_duo_go_unprompted_allow"
#define MARK_SECONDS 300

struct mark {
	struct timespec when; /* CLOCK_MONOTONIC: not moved by clock changes */
	char user[];
};

/* The core, once loaded, and the process that loaded it. Never unloaded:
 * a started Go runtime cannot be unloaded. */
static core_authenticate_fn core_authenticate;
static pid_t core_pid;

struct options {
	int exec;
	int debug;
	long login_timeout; /* seconds */
	const char *core;
	const char *helper;
};

static void parse_options(int argc, const char **argv, struct options *o)
{
	int i;

	o->exec = 0;
	o->debug = 0;
	o->login_timeout = PDG_LOGIN_TIMEOUT_DEFAULT;
	o->core = PAM_DUO_GO_CORE_PATH;
	o->helper = PAM_DUO_GO_HELPER_PATH;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "mode=exec") == 0)
			o->exec = 1;
		else if (strcmp(argv[i], "debug") == 0)
			o->debug = 1;
		else if (strncmp(argv[i], "core=", 5) == 0 && argv[i][5] == '/')
			o->core = argv[i] + 5;
		else if (strncmp(argv[i], "helper=", 7) == 0 && argv[i][7] == '/')
			o->helper = argv[i] + 7;
		else if (strncmp(argv[i], "login_timeout=", 14) == 0) {
			char *end;
			long v = strtol(argv[i] + 14, &end, 10);

			/* out of range or not a number: the default (the worker reports it) */
			if (end != argv[i] + 14 && *end == '\0' && v >= PDG_LOGIN_TIMEOUT_MIN && v <= PDG_LOGIN_TIMEOUT_MAX)
				o->login_timeout = v;
		}
		/* every other argument is the core's or the worker's to check */
	}
}

/* ---- the worker path ------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* io_full reads or writes exactly n bytes before the deadline. */
static int io_full(int fd, void *buf, size_t n, double deadline, int writing)
{
	size_t done = 0;

	while (done < n) {
		struct pollfd p = { .fd = fd, .events = writing ? POLLOUT : POLLIN };
		double left = deadline - now_seconds();
		ssize_t r;
		int pr;

		if (left <= 0)
			return -1;
		pr = poll(&p, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		if (writing)
			r = send(fd, (char *)buf + done, n - done, MSG_NOSIGNAL);
		else
			r = recv(fd, (char *)buf + done, n - done, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int send_message(int fd, char type, const char *payload, size_t len, double deadline)
{
	unsigned char h[PDG_HEADER_LEN];

	if (len > PDG_MAX_PAYLOAD)
		return -1;
	h[0] = (unsigned char)type;
	h[1] = (unsigned char)(len >> 24);
	h[2] = (unsigned char)(len >> 16);
	h[3] = (unsigned char)(len >> 8);
	h[4] = (unsigned char)len;
	if (io_full(fd, h, sizeof h, deadline, 1) != 0)
		return -1;
	return len == 0 ? 0 : io_full(fd, (void *)payload, len, deadline, 1);
}

/* recv_message reads one message into buf (PDG_MAX_PAYLOAD + 1 bytes) and
 * NUL-terminates it. */
static int recv_message(int fd, char *type, char *buf, size_t *len, double deadline)
{
	unsigned char h[PDG_HEADER_LEN];
	uint32_t n;

	if (io_full(fd, h, sizeof h, deadline, 0) != 0)
		return -1;
	n = ((uint32_t)h[1] << 24) | ((uint32_t)h[2] << 16) | ((uint32_t)h[3] << 8) | h[4];
	if (n > PDG_MAX_PAYLOAD)
		return -1;
	if (n > 0 && io_full(fd, buf, n, deadline, 0) != 0)
		return -1;
	buf[n] = '\0';
	*type = (char)h[0];
	*len = n;
	return 0;
}

/* add_field appends key=value and a NUL to the start payload. */
static int add_field(char *buf, size_t *len, const char *key, const char *value)
{
	size_t k = strlen(key), v = value ? strlen(value) : 0;

	if (*len + k + 1 + v + 1 > START_MAX)
		return -1;
	memcpy(buf + *len, key, k);
	buf[*len + k] = '=';
	if (v)
		memcpy(buf + *len + k + 1, value, v);
	buf[*len + k + 1 + v] = '\0';
	*len += k + 1 + v + 1;
	return 0;
}

static const char *item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS)
		return NULL;
	return (const char *)v;
}

/* helper_is_trusted checks that the helper is a regular file owned by
 * root and not writable by group or others. */
static int helper_is_trusted(pam_handle_t *pamh, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		log_tagged(pamh, LOG_ERR, "worker %s: %s", path, strerror(errno));
		return 0;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		log_tagged(pamh, LOG_ERR, "worker %s must be a regular file owned by root and not writable by group or others", path);
		return 0;
	}
	return 1;
}

/*
 * The worker decides the login, so nothing the user controls may stop,
 * slow or starve it. Under sudo and su the PAM process runs with the
 * user's real uid: the user may signal it, and it inherits the user's
 * session, process group, rlimits, nice value, scheduling policy and CPU
 * affinity. isolate_worker gives the worker none of that: its own session
 * (no controlling terminal, so Ctrl-Z and the terminal's signals never
 * reach it), cwd /, the limits below, nice 0, SCHED_OTHER, best-effort
 * I/O priority, every CPU, default timer slack. It runs with uid 0 in all
 * three ids, so an ordinary user cannot signal it.
 *
 * The limits: soft = hard = the value below, whatever the caller set
 * (root, with CAP_SYS_RESOURCE, may raise a hard limit). "Unlimited"
 * where Linux's default is unlimited; RLIMIT_CORE 0, so a root worker
 * never dumps core with a user's answers in it; RLIMIT_NOFILE 4096
 * (Linux's default hard limit; a login needs a few dozen); RLIMIT_STACK
 * and RLIMIT_MEMLOCK 8 MiB and RLIMIT_MSGQUEUE 819200 (Linux's defaults);
 * RLIMIT_NICE and RLIMIT_RTPRIO 0 (the worker needs neither). Without
 * CAP_SYS_RESOURCE (some containers) a hard limit below the value cannot
 * be raised: the worker then gets soft = hard = that hard limit if it is
 * at least the floor, and is not run at all (the login fails closed) if
 * it is lower, which only a caller who lowered it can have caused.
 */
#define IOPRIO_CLASS_BE 2
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_VALUE(class, data) (((class) << 13) | (data))

struct worker_limit {
	int resource;
	rlim_t value, floor;
};

static const struct worker_limit worker_limits[] = {
	{ RLIMIT_CPU, RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_FSIZE, RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_DATA, RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_STACK, 8 << 20, 8 << 20 },
	{ RLIMIT_CORE, 0, 0 },
	{ RLIMIT_RSS, RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_NPROC, RLIM_INFINITY, 4096 },
	{ RLIMIT_NOFILE, 4096, 1024 },
	{ RLIMIT_MEMLOCK, 8 << 20, 0 },
	{ RLIMIT_AS, RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_LOCKS, RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_SIGPENDING, RLIM_INFINITY, 1024 },
	{ RLIMIT_MSGQUEUE, 819200, 0 },
	{ RLIMIT_NICE, 0, 0 },
	{ RLIMIT_RTPRIO, 0, 0 },
	{ RLIMIT_RTTIME, RLIM_INFINITY, RLIM_INFINITY },
};

/* reset_limit sets one resource limit as worker_limits says. */
static int reset_limit(const struct worker_limit *l)
{
	struct rlimit rl = { l->value, l->value };

	if (setrlimit(l->resource, &rl) == 0)
		return 0;
	if (getrlimit(l->resource, &rl) != 0 || rl.rlim_max < l->floor)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(l->resource, &rl);
}

/* close_from closes every fd >= lowfd: close_range(2) when the kernel has
 * it (Linux 5.9), else one by one up to limit. */
static void close_from(int lowfd, int limit)
{
	int fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned int)lowfd, ~0U, 0) == 0)
		return;
#endif
	for (fd = lowfd; fd < limit; fd++)
		close(fd);
}

/* isolate_worker runs in the worker child before the exec; it returns -1
 * if any step failed (the child then exits without running the worker:
 * a worker that is not isolated must not decide). */
static int isolate_worker(void)
{
	struct sched_param sp = { .sched_priority = 0 };
	cpu_set_t cpus;
	size_t i;

	if (setsid() < 0 || chdir("/") != 0)
		return -1;
	umask(077);
	for (i = 0; i < sizeof worker_limits / sizeof worker_limits[0]; i++)
		if (reset_limit(&worker_limits[i]) != 0)
			return -1;
	if (setpriority(PRIO_PROCESS, 0, 0) != 0)
		return -1;
	if (sched_setscheduler(0, SCHED_OTHER, &sp) != 0)
		return -1;
	CPU_ZERO(&cpus);
	for (i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &cpus); /* the kernel keeps the CPUs this cgroup may use */
	if (sched_setaffinity(0, sizeof cpus, &cpus) != 0)
		return -1;
	/* ionice -c3 (idle) would starve the worker's reads */
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_VALUE(IOPRIO_CLASS_BE, 4)) != 0)
		return -1;
	if (prctl(PR_SET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL) != 0) /* 0: the default */
		return -1;
	return 0;
}

/* exec_worker runs in the child: a clean, isolated process that runs the
 * helper. */
static void exec_worker(int sock, const char *helper)
{
	static char *const worker_argv[] = { "login_duo_go", "pam-worker", NULL };
	/* GOMAXPROCS=1: the worker makes one call to Duo at a time, and a Go
	 * runtime started with one P starts fewer threads (bench: 77 fewer
	 * page faults and about 3 ms less CPU per mode=exec login). */
	static char *const worker_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GOMAXPROCS=1", NULL };
	sigset_t none;
	int sig, fd, maxfd;

	/* Under sudo and su, PAM runs with the user's real uid and euid 0.
	 * The worker refuses to run unless its real uid is root (anyone else
	 * could point it at a config of their own), so become root fully:
	 * then the user can no longer signal it either. */
	if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0))
		_exit(PDG_WORKER_EXIT_SETUP);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP and gaps */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* the caller's fd limit, before isolate_worker changes it: the
	 * fallback loop must reach every fd the caller could have open */
	maxfd = (int)sysconf(_SC_OPEN_MAX);
	if (maxfd < 4096 || maxfd > 65536)
		maxfd = maxfd < 4096 ? 4096 : 65536;
	if (geteuid() == 0 && isolate_worker() != 0)
		_exit(PDG_WORKER_EXIT_SETUP);
	if (dup2(sock, 0) < 0 || dup2(sock, 1) < 0)
		_exit(PDG_WORKER_EXIT_SETUP);
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || dup2(fd, 2) < 0)
		_exit(PDG_WORKER_EXIT_SETUP);
	close_from(3, maxfd);
	execve(helper, worker_argv, worker_env);
	_exit(PDG_WORKER_EXIT_EXEC);
}

static int run_worker(pam_handle_t *pamh, int flags, int argc, const char **argv,
		      const struct options *o, const char *why, int *unprompted)
{
	char *start = NULL, *buf = NULL, num[32];
	const char *user = NULL, *command, *authinfo;
	size_t len = 0;
	int sv[2], i, status, rc = PAM_SERVICE_ERR, have_result = 0;
	double deadline = now_seconds() + (double)(o->login_timeout + PDG_WORKER_SLACK_SECONDS);
	pid_t pid;

	if (o->debug)
		log_tagged(pamh, LOG_DEBUG, "running the login in %s pam-worker (%s)", o->helper, why);
	if (!helper_is_trusted(pamh, o->helper))
		return PAM_SERVICE_ERR;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL || *user == '\0')
		return PAM_USER_UNKNOWN;

	start = malloc(START_MAX);
	buf = malloc(PDG_MAX_PAYLOAD + 1);
	if (start == NULL || buf == NULL)
		goto out;
	/* SUDO_COMMAND as found, as the Go core reads it (sudo sets it
	 * before it authenticates): the worker reads it only for sudo*
	 * services (internal/pamhandler, the one place of that rule). The
	 * start message carries no ruser and no pid: nothing read them. */
	command = getenv("SUDO_COMMAND");
	if (add_field(start, &len, "user", user) || add_field(start, &len, "rhost", item(pamh, PAM_RHOST)) ||
	    add_field(start, &len, "service", item(pamh, PAM_SERVICE)) ||
	    add_field(start, &len, "tty", item(pamh, PAM_TTY)) ||
	    (command && add_field(start, &len, "command", command))) {
		log_tagged(pamh, LOG_ERR, "worker start message too large");
		goto out;
	}
	snprintf(num, sizeof num, "%ld", (long)getuid());
	if (add_field(start, &len, "uid", num) || add_field(start, &len, "silent", (flags & PAM_SILENT) ? "1" : "0"))
		goto out;
	/* sshd's ExposeAuthInfo: the first factor's public key binds
	 * remembered approvals (the remember key). */
	authinfo = pam_getenv(pamh, "SSH_AUTH_INFO_0");
	if (authinfo && add_field(start, &len, "authinfo", authinfo) &&
	    add_field(start, &len, "authinfo", "unreadable (too large)"))
		goto out; /* the worker then remembers nothing for this login */
	for (i = 0; i < argc; i++)
		if (add_field(start, &len, "arg", argv[i]))
			goto out;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		log_tagged(pamh, LOG_ERR, "socketpair: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		log_tagged(pamh, LOG_ERR, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		exec_worker(sv[1], o->helper);
	}
	close(sv[1]);

	if (send_message(sv[0], PDG_MSG_START, start, len, deadline) != 0) {
		log_tagged(pamh, LOG_ERR, "worker did not take the start message");
	} else {
		for (;;) {
			char type;
			size_t n;
			char *answer = NULL;
			int crc;

			if (recv_message(sv[0], &type, buf, &n, deadline) != 0) {
				log_tagged(pamh, LOG_ERR, "worker ended or timed out without a result");
				break;
			}
			if (type == PDG_MSG_RESULT && n >= 4) {
				rc = (int)(((uint32_t)(unsigned char)buf[0] << 24) | ((uint32_t)(unsigned char)buf[1] << 16) |
					   ((uint32_t)(unsigned char)buf[2] << 8) | (unsigned char)buf[3]);
				have_result = 1;
				break;
			}
			if (type == PDG_MSG_UNPROMPTED) { /* allowed without a prompt: see struct mark */
				*unprompted = 1;
				continue;
			}
			if (type == PDG_MSG_INFO || type == PDG_MSG_ERROR) { /* PAM_SILENT: the worker is quiet */
				converse(pamh, type == PDG_MSG_INFO ? PAM_TEXT_INFO : PAM_ERROR_MSG, buf, NULL);
				continue;
			}
			if (type != PDG_MSG_PROMPT_ECHO_OFF && type != PDG_MSG_PROMPT_ECHO_ON) {
				log_tagged(pamh, LOG_ERR, "worker sent an unknown message type 0x%02x", (unsigned char)type);
				break;
			}
			crc = converse(pamh, type == PDG_MSG_PROMPT_ECHO_OFF ? PAM_PROMPT_ECHO_OFF : PAM_PROMPT_ECHO_ON, buf, &answer);
			if (crc == PAM_SUCCESS && strlen(answer) <= PDG_MAX_PAYLOAD) {
				crc = send_message(sv[0], PDG_MSG_ANSWER, answer, strlen(answer), deadline);
			} else {
				crc = send_message(sv[0], PDG_MSG_CONV_FAILED, "", 0, deadline);
			}
			if (answer != NULL) {
				explicit_bzero(answer, strlen(answer));
				free(answer);
			}
			explicit_bzero(buf, n);
			if (crc != 0)
				break;
		}
	}
	close(sv[0]);

	/* Our own child, by pid: sshd has a SIGCHLD handler of its own. */
	if (!have_result)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (!have_result) {
		rc = (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == PDG_WORKER_EXIT_DENIED) ? PAM_AUTH_ERR : PAM_SERVICE_ERR;
		if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == PDG_WORKER_EXIT_SETUP)
			log_tagged(pamh, LOG_ERR, "could not isolate the worker (session, limits, scheduling); returning %s",
				   pam_strerror(pamh, rc));
		else
			log_tagged(pamh, LOG_ERR, "no result from %s pam-worker; returning %s", o->helper, pam_strerror(pamh, rc));
	}
out:
	if (buf != NULL) {
		explicit_bzero(buf, PDG_MAX_PAYLOAD + 1);
		free(buf);
	}
	free(start);
	return rc;
}

/* ---- the password-step mark ------------------------------------------ */

/* escape_log copies s into dst (size n) for a log line: space, "=",
 * "\\" and every byte outside printable ASCII become \xNN; a long name is
 * cut. This is the Go side's log-field policy, internal/escape.LogField;
 * its TestCEscapeLog runs this function over the same hostile table. */
static void escape_log(char *dst, size_t n, const char *s)
{
	size_t j = 0;

	if (s == NULL || *s == '\0')
		s = "-";
	for (; *s != '\0' && j + 5 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '=')
			j += (size_t)snprintf(dst + j, n - j, "\\x%02x", c);
		else
			dst[j++] = (char)c;
	}
	dst[j] = '\0';
}

static void mark_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh, (void)error_status;
	free(data);
}

/* set_mark remembers that user passed Duo in this handle without a prompt. */
static void set_mark(pam_handle_t *pamh)
{
	const char *user = NULL;
	struct mark *m;

	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL)
		return;
	m = malloc(sizeof *m + strlen(user) + 1);
	if (m == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &m->when);
	strcpy(m->user, user);
	if (pam_set_data(pamh, MARK_NAME, m, mark_cleanup) != PAM_SUCCESS)
		free(m);
}

/* take_mark reports whether a fresh mark for the current user is in the
 * handle, and removes any mark (it is good for one later run only). */
static int take_mark(pam_handle_t *pamh, double *age)
{
	const void *data = NULL;
	const struct mark *m;
	const char *user = NULL;
	struct timespec now;
	int ok;

	if (pam_get_data(pamh, MARK_NAME, &data) != PAM_SUCCESS || data == NULL)
		return 0;
	m = data;
	clock_gettime(CLOCK_MONOTONIC, &now);
	*age = (double)(now.tv_sec - m->when.tv_sec) + (double)(now.tv_nsec - m->when.tv_nsec) / 1e9;
	ok = *age >= 0 && *age <= MARK_SECONDS && pam_get_user(pamh, &user, NULL) == PAM_SUCCESS && user != NULL &&
	     strcmp(user, m->user) == 0;
	pam_set_data(pamh, MARK_NAME, NULL, NULL); /* frees m */
	return ok;
}

/* ---- entry points ---------------------------------------------------- */

static int authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv, int *unprompted);

EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	int unprompted = 0, rc;
	double age = 0;

	if (take_mark(pamh, &age)) {
		char user[4 * 64 + 1], rhost[4 * 64 + 1], service[4 * 64 + 1];

		escape_log(user, sizeof user, item(pamh, PAM_USER));
		escape_log(rhost, sizeof rhost, item(pamh, PAM_RHOST));
		escape_log(service, sizeof service, item(pamh, PAM_SERVICE));
		/* The field set of every login line (pam_duo_go(8), login.LogFields):
		 * nothing was sent to Duo in this step. */
		log_tagged(pamh, LOG_INFO,
			   "allow user=%s rhost=%s service=%s ipaddr=- factor=- txid=- elapsed_ms=0 cause=none "
			   "reason=second factor approved %.0f s earlier in this login's password step "
			   "(automatic push); not asking again", user, rhost, service, age);
		return PAM_SUCCESS;
	}
	rc = authenticate(pamh, flags, argc, argv, &unprompted);
	if (rc == PAM_SUCCESS && unprompted)
		set_mark(pamh);
	return rc;
}

static int authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv, int *unprompted)
{
	struct options o;

	parse_options(argc, argv, &o);
	if (o.exec)
		return run_worker(pamh, flags, argc, argv, &o, "mode=exec", unprompted);
	/* The login runs in this process only when the user cannot signal,
	 * stop or starve it: under real uid 0 (sshd, login). sudo and su run
	 * with the caller's real uid: their logins go to the isolated worker. */
	if (getuid() != 0) {
		char why[96];

		snprintf(why, sizeof why, "the PAM application runs with real uid %ld, not root", (long)getuid());
		return run_worker(pamh, flags, argc, argv, &o, why, unprompted);
	}
	if (core_authenticate == NULL) {
		void *h = dlopen(o.core, RTLD_NOW | RTLD_LOCAL);
		void *sym;

		if (h == NULL) {
			log_tagged(pamh, LOG_ERR, "cannot load the Go core: %s", dlerror());
			return PAM_SERVICE_ERR;
		}
		sym = dlsym(h, CORE_SYMBOL);
		if (sym == NULL) {
			log_tagged(pamh, LOG_ERR, "%s has no %s", o.core, CORE_SYMBOL);
			return PAM_SERVICE_ERR; /* never dlclose: its runtime may have started */
		}
		*(void **)&core_authenticate = sym;
		core_pid = getpid();
	}
	if (core_pid != getpid())
		return run_worker(pamh, flags, argc, argv, &o, "the Go core was loaded before a fork", unprompted);
	return core_authenticate(pamh, flags, argc, (const char **)argv, unprompted);
}

/* Duo only authenticates: setcred succeeds like duo_unix's pam_duo, and
 * the other services leave the decision to the rest of the stack. */
EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_SUCCESS;
}

EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}

EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}

EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}

EXPORT int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}
