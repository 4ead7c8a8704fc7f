/*
 * treeusage: run a program and report the CPU time and peak resident
 * memory of its whole process tree (wait4's rusage: the program and every
 * descendant it reaped), for the side-by-side benchmark.
 *
 *   gcc -O2 -Wall -Wextra -o treeusage treeusage.c
 *   ./treeusage OUTFILE PROGRAM [ARG...]
 *
 * It writes "utime_us stime_us maxrss_kb minflt nvcsw" to OUTFILE and exits with the
 * program's exit status (128 + the signal when it was killed). The
 * program's stdin, stdout and stderr are this process's.
 *
 * Why not the benchmark's own wait4: a child forked by a large process
 * (the Go test binary, with the mock in it) inherits that process's
 * resident-memory high-water mark, which the kernel keeps across exec;
 * forked from this small program the mark starts near zero.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	pid_t pid;
	int status;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: treeusage OUTFILE PROGRAM [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("treeusage: fork");
		return 2;
	}
	if (pid == 0) {
		execv(argv[2], argv + 2);
		perror("treeusage: exec");
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("treeusage: wait4");
		return 2;
	}
	if ((out = fopen(argv[1], "w")) == NULL) {
		perror("treeusage: open");
		return 2;
	}
	fprintf(out, "%ld %ld %ld %ld %ld\n",
		(long)ru.ru_utime.tv_sec * 1000000L + (long)ru.ru_utime.tv_usec,
		(long)ru.ru_stime.tv_sec * 1000000L + (long)ru.ru_stime.tv_usec,
		ru.ru_maxrss, ru.ru_minflt, ru.ru_nvcsw);
	if (fclose(out) != 0) {
		perror("treeusage: write");
		return 2;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
