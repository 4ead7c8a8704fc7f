/*
 * coreload: the cost of loading pam_duo_go's Go core into a C process,
 * as pam_duo_go.so does on the first login: dlopen the core, dlsym its
 * entry point, and print the time taken and the resident-memory change
 * (VmRSS, VmHWM from /proc/self/status) as one JSON line.
 *
 *   gcc -O2 -Wall -Wextra -o coreload coreload.c -ldl
 *   ./coreload /path/to/pam_duo_go_core.so
 *
 * It never calls into the core: the figures are the load (the Go
 * runtime's start-up included), not a login.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* memory reads VmRSS and VmHWM in kB; -1 when they cannot be read. */
static void memory(long *rss, long *hwm) {
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	*rss = *hwm = -1;
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

static double now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
	long rss0, hwm0, rss1, hwm1;
	double t0, t1, t2;
	void *core, *sym;

	if (argc != 2) {
		fprintf(stderr, "usage: coreload /path/to/pam_duo_go_core.so\n");
		return 2;
	}
	memory(&rss0, &hwm0);
	t0 = now_ms();
	core = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	t1 = now_ms();
	if (core == NULL) {
		fprintf(stderr, "coreload: dlopen: %s\n", dlerror());
		return 1;
	}
	sym = dlsym(core, "pam_duo_go_core_authenticate_v2");
	t2 = now_ms();
	if (sym == NULL) {
		fprintf(stderr, "coreload: dlsym pam_duo_go_core_authenticate_v2: %s\n", dlerror());
		return 1;
	}
	memory(&rss1, &hwm1);
	printf("{\"dlopen_ms\":%.3f,\"dlsym_ms\":%.3f,\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,"
	       "\"hwm_before_kb\":%ld,\"hwm_after_kb\":%ld}\n",
	       t1 - t0, t2 - t1, rss0, rss1, hwm0, hwm1);
	return 0;
}
