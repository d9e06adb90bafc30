// SPDX-License-Identifier: GPL-2.0
/* Size and number parsing, and the command line's refusals. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "common.h"
#include "opts.h"
#include "test.h"

static bool size_ok(const char *s, uint64_t want)
{
	char err[256] = "";
	uint64_t v = 0;

	ASSERT_EQ(parse_size(s, "--unit", 512, 1 << 20, &v, err, sizeof(err)), 0, s);
	ASSERT_EQ(v, want, s);
	return true;
}

static bool size_bad(const char *s, const char *needle)
{
	char err[256] = "";
	uint64_t v = 0;

	ASSERT_EQ(parse_size(s, "--unit", 512, 1 << 20, &v, err, sizeof(err)),
		  strstr(needle, "range") ? -ERANGE : -1, s);
	ASSERT_TRUE(strstr(err, "--unit") != NULL, "message names the option");
	ASSERT_TRUE(strstr(err, needle) != NULL, needle);
	return true;
}

static bool test_sizes_accepted(void)
{
	return size_ok("8k", 8192) && size_ok("16K", 16384) && size_ok("1m", 1 << 20) &&
	       size_ok("1M", 1 << 20) && size_ok("512", 512) && size_ok("4096", 4096) &&
	       size_ok("8KB", 8192);
}

static bool test_sizes_refused(void)
{
	return size_bad("abc", "not a size") && size_bad("", "not a size") &&
	       size_bad("-8k", "not a size") && size_bad("8x", "not a size") &&
	       size_bad("2m", "out of range") && size_bad("256", "out of range") &&
	       size_bad("99999999999999999999k", "out of range") && size_bad("8k ", "not a size");
}

static bool test_uint(void)
{
	char err[256];
	uint64_t v;

	ASSERT_EQ(parse_uint("42", "-p", 1, 100, &v, err, sizeof(err)), 0, "42");
	ASSERT_EQ(v, 42, "value");
	ASSERT_EQ(parse_uint("0", "-p", 1, 100, &v, err, sizeof(err)), -1, "0 below min");
	ASSERT_EQ(parse_uint("12a", "-p", 1, 100, &v, err, sizeof(err)), -1, "12a");
	ASSERT_TRUE(strstr(err, "-p") != NULL, "names -p");
	ASSERT_EQ(parse_uint("-3", "-p", 1, 100, &v, err, sizeof(err)), -1, "negative");
	return true;
}

static int parse(struct tw_opts *o, char *err, size_t len, int argc, char **argv)
{
	return opts_parse(o, argc, argv, err, len);
}

#define ARGV(...) ((char *[]){ "tornwatch", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "tornwatch", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(...) parse(&o, err, sizeof(err), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))
/* o.cmd points into argv, and PARSE's argv dies with its ASSERT: one that lives on, for o.cmd. */
#define PARSE_ARGV(a) parse(&o, err, sizeof(err), (int)(sizeof(a) / sizeof(a[0])) - 1, a)

static bool test_opts(void)
{
	struct tw_opts o;
	char err[256];
	char *cmd_argv[] = { "tornwatch", "--unit", "16k", "--", "true", "x", NULL };
	char *interval_cmd_argv[] = { "tornwatch", "-i", "2", "--", "true", NULL };

	ASSERT_EQ(PARSE("-p", "1", "--unit", "8k"), OPTS_RUN, "-p 1 --unit 8k");
	ASSERT_EQ(o.unit_size, 8192, "unit");
	ASSERT_EQ(o.nr_pids, 1, "one pid");
	ASSERT_EQ(PARSE("-p", "1", "-p", "2", "-f"), OPTS_RUN, "two pids, -f");
	ASSERT_EQ(o.nr_pids, 2, "two pids");
	ASSERT_TRUE(o.follow, "follow");
	ASSERT_EQ(PARSE_ARGV(cmd_argv), OPTS_RUN, "-- cmd");
	ASSERT_STREQ(o.cmd[0], "true", "cmd[0]");
	ASSERT_STREQ(o.cmd[1], "x", "cmd[1]");

	ASSERT_EQ(PARSE("--unit", "12k", "--", "true"), OPTS_ERROR, "12k not a power of two");
	ASSERT_TRUE(strstr(err, "power of two") != NULL, "says power of two");
	ASSERT_EQ(PARSE("--unit", "8k"), OPTS_ERROR, "nothing to trace");
	ASSERT_TRUE(strstr(err, "-p PID") != NULL, "names the fix");
	ASSERT_EQ(PARSE("-p", "abc"), OPTS_ERROR, "-p abc");
	ASSERT_EQ(PARSE("-p", "1", "--", "true"), OPTS_ERROR, "both -p and cmd");
	ASSERT_EQ(PARSE("--bogus"), OPTS_ERROR, "unknown option");
	ASSERT_TRUE(strstr(err, "--bogus") != NULL, "names the option");
	ASSERT_EQ(PARSE("-p"), OPTS_ERROR, "-p without value");
	ASSERT_EQ(PARSE("--replay", "x", "-p", "1"), OPTS_ERROR, "replay with -p");
	ASSERT_EQ(PARSE("--replay", "x"), OPTS_RUN, "replay alone");
	ASSERT_EQ(PARSE("-f", "--", "true"), OPTS_ERROR, "-f with a command");
	ASSERT_EQ(PARSE("--ringbuf", "3m", "-p", "1"), OPTS_ERROR, "ringbuf not pow2");
	ASSERT_EQ(PARSE("-d", "0", "-p", "1"), OPTS_ERROR, "duration 0");
	ASSERT_EQ(PARSE("-i", "1", "5", "-p", "1"), OPTS_RUN, "-i 1 5");
	ASSERT_EQ(o.interval_s, 1, "interval");
	ASSERT_EQ(o.interval_count, 5, "interval count");
	ASSERT_EQ(PARSE_ARGV(interval_cmd_argv), OPTS_RUN, "-i 2 -- cmd");
	ASSERT_EQ(o.interval_count, 0, "no count");
	ASSERT_STREQ(o.cmd[0], "true", "the command after -i");
	ASSERT_EQ(PARSE("-i", "0", "-p", "1"), OPTS_ERROR, "interval 0");
	ASSERT_EQ(PARSE("--ringbuf", "3000", "-p", "1"), OPTS_ERROR, "ringbuf 3000");
	ASSERT_STREQ(err, "--ringbuf: 3000 is not a power of two; give one from 64k to 1g, "
		     "e.g. 4m or 64m", "ringbuf 3000: says power of two and the range");
	ASSERT_EQ(PARSE("-d", "1", "-d", "2", "-p", "1"), OPTS_ERROR, "-d twice");
	ASSERT_STREQ(err, "-d/--duration given twice; give it once", "-d twice: names -d");
	ASSERT_EQ(PARSE("-p", "1", "-p", "2", "-v", "-v"), OPTS_RUN, "-p and -v repeat");
	ASSERT_EQ(PARSE("--replay", "x", "--unit", "8k"), OPTS_ERROR, "replay with --unit");
	ASSERT_TRUE(strstr(err, "-u/--unit is for live tracing") != NULL, "names --unit");
	ASSERT_EQ(PARSE("--replay", "x", "--check", "--fail-on", "pending", "--max-units", "9"),
		  OPTS_RUN, "replay with --check --fail-on --max-units");
	ASSERT_EQ(PARSE("--check", "--fail-on", "split,", "-p", "1"), OPTS_ERROR, "split,");
	ASSERT_EQ(PARSE("--check", "--fail-on", "split,exposed", "-p", "1"), OPTS_RUN,
		  "--fail-on exposed");
	ASSERT_EQ(o.fail_on, (1u << TW_F_SPLIT) | (1u << TW_F_EXPOSED), "split and exposed");
	ASSERT_EQ(PARSE("--check", "--fail-on", "exposd", "-p", "1"), OPTS_ERROR, "exposd");
	ASSERT_STREQ(err, "--fail-on: unknown kind 'exposd'; give a comma list of split,modified,"
		     "misaligned,refused,pending,lost,untracked,inferred,exposed", "names every kind");
	return true;
}

/* --atomic-size DEV=SIZE: MAJ:MIN or a /dev node, a size; refusals name the option and fix. */
static bool test_atomic_size_opts(void)
{
	const char *nodes[] = { "/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/loop0" };
	struct tw_opts o;
	struct stat st;
	char err[256], arg[64];

	ASSERT_EQ(PARSE("--atomic-size", "259:0=16k", "--atomic-size", "7:3=4096", "--", "true"),
		  OPTS_RUN, "two devices");
	ASSERT_EQ(o.nr_atomic_sizes, 2, "two given");
	ASSERT_EQ(o.atomic_sizes[0].dev, (259u << 20) | 0, "259:0");
	ASSERT_EQ(o.atomic_sizes[0].bytes, 16384, "16k");
	ASSERT_EQ(o.atomic_sizes[1].dev, (7u << 20) | 3, "7:3");
	ASSERT_EQ(o.atomic_sizes[1].bytes, 4096, "4096");
	ASSERT_EQ(PARSE("--replay", "x", "--atomic-size", "7:0=8k"), OPTS_RUN, "with --replay");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (stat(nodes[i], &st) || !S_ISBLK(st.st_mode))
			continue;
		snprintf(arg, sizeof(arg), "%s=8k", nodes[i]);
		ASSERT_EQ(PARSE("--atomic-size", arg, "--", "true"), OPTS_RUN, arg);
		ASSERT_EQ(o.atomic_sizes[0].dev, (major(st.st_rdev) << 20) | minor(st.st_rdev),
			  "the node's MAJ:MIN");
		break;
	}
	{
		const char *bad[][2] = {
			{ "7:0", "not DEV=SIZE" }, { "=8k", "not DEV=SIZE" },
			{ "7:0=", "not DEV=SIZE" }, { "sda=8k", "neither MAJ:MIN" },
			{ "7:=8k", "neither MAJ:MIN" }, { "-1:0=8k", "neither MAJ:MIN" },
			{ "7:0=abc", "not a size" }, { "7:0=1000", "multiple of 512" },
			{ "7:0=256", "out of range" }, { "/dev/null=8k", "not a block device" },
			{ "/nonexistent/dev=8k", "cannot stat" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ASSERT_EQ(PARSE("--atomic-size", (char *)bad[i][0], "--", "true"), OPTS_ERROR,
				  bad[i][0]);
			ASSERT_TRUE(strstr(err, "--atomic-size") != NULL, "names the option");
			ASSERT_TRUE(strstr(err, bad[i][1]) != NULL, err);
		}
	}
	ASSERT_EQ(PARSE("--atomic-size", "7:0=abc", "--", "true"), OPTS_ERROR, "abc");
	ASSERT_TRUE(strstr(err, "8k") != NULL, "says how: an example size");
	return true;
}

int main(void)
{
	RUN(test_sizes_accepted);
	RUN(test_sizes_refused);
	RUN(test_uint);
	RUN(test_opts);
	RUN(test_atomic_size_opts);
	return TEST_EXIT();
}
