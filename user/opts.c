// SPDX-License-Identifier: GPL-2.0
/* The command line: getopt_long into struct tw_opts, each value checked and what goes
 * together checked, the --help text. No side effects but printing -h and -V. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "common.h"
#include "opts.h"
#include "outfile.h"
#include "report.h"
#include "tracker.h"

static const char usage_text[] =
"Usage: tornwatch [OPTIONS] -p PID [-p PID ...]\n"
"       tornwatch [OPTIONS] -- COMMAND [ARGS...]\n"
"       tornwatch --replay FILE [--json FILE]\n"
"\n"
"Follow every write unit of the traced processes from the syscall to the device\n"
"and tell whether it reached the device whole, split (and where), superseded by a\n"
"later write, or still pending. Units are RWF_ATOMIC writes, and with --unit the\n"
"SIZE-aligned SIZE-long pieces of every write.\n"
"\n"
"Options:\n"
"  -p, --pid PID          trace this process (all threads); repeatable\n"
"  -f, --follow           also trace descendants of -p PIDs, present and future\n"
"  -u, --unit SIZE        unit size: power of two, 512 to 1m (e.g. 8k, 16K, 1m)\n"
"  -d, --duration SEC     stop after SEC seconds (default: until Ctrl-C or exit)\n"
"  -i, --interval SEC [N] print each SEC seconds' verdicts and histograms (N times),\n"
"                         then the totals\n"
"  -j, --json FILE        write the report as JSON to FILE ('-' for stdout)\n"
"  -w, --record FILE      save the run's records for --replay\n"
"                         (output files: a regular FILE is replaced by a rename; a\n"
"                         device, FIFO or socket is written in place; a symlink is\n"
"                         refused; every FILE is checked before tracing starts)\n"
"  -r, --replay FILE      report from a saved record; needs neither root nor BPF\n"
"      --check            exit 1 when a unit failed (see --fail-on), 3 when only the\n"
"                         command failed; a line per failure kind names the offenders\n"
"      --fail-on LIST     what fails --check: a comma list of split, modified,\n"
"                         misaligned, refused, pending, lost, untracked, inferred,\n"
"                         exposed (a power cut could have torn a unit)\n"
"                         (default split,modified,misaligned,lost,untracked)\n"
"      --events[=all]     a line per unit that is not whole (or every unit), with\n"
"                         --json as NDJSON on stdout; a unit on a volatile write\n"
"                         cache is told once a flush persisted it, or at the end\n"
"      --json-version N   the JSON written: schema 2 (the default), or 1 (the keys of\n"
"                         tornwatch 0.1.0 before it; docs/json.md says what changed)\n"
"      --prom FILE        node_exporter textfile metrics, rewritten at each -i interval\n"
"                         and at exit (atomic rename)\n"
"      --atomic-size DEV=SIZE\n"
"                         the power-fail atomic size of block device DEV (MAJ:MIN or\n"
"                         /dev/NAME), for a drive that promises more than sysfs says\n"
"                         (power-loss protection); repeatable. Default: sysfs\n"
"                         atomic_write_unit_max_bytes, else physical_block_size\n"
"      --no-stable        leave out stablepage (pages modified under writeback, waits)\n"
"      --top N            files listed in the text report (default 10)\n"
"      --max-units N      units followed at once in user space (default 1048576)\n"
"      --max-files N      traced files (default 16384)\n"
"      --max-bios N       bios in flight followed (default 65536)\n"
"      --max-procs N      traced processes (default 8192)\n"
"      --ringbuf SIZE     ring buffer size, power of two (default 16m)\n"
"  -v, --verbose          print what was probed and chosen, and libbpf debug\n"
"  -V, --version          print the version\n"
"  -h, --help             print this help\n"
"\n"
"Exit status: 0 on success; with -- COMMAND, COMMAND's own status; with --check,\n"
"1 when a unit failed, 3 when the checks passed but COMMAND failed; 2 when tornwatch\n"
"itself fails (bad option, not root, cannot load, an output FILE that cannot be\n"
"written, before tracing or at the end).\n"
"\n"
"EXAMPLES\n"
"  A live database (postmaster and all its backends), 8 KiB pages:\n"
"    sudo tornwatch -p $(pgrep -o postgres) -f --unit 8k\n"
"  CI: fail the job when a unit split, was modified in flight or was lost:\n"
"    sudo tornwatch --check --unit 8k --json report.json -- ./run_tests\n"
"  A fleet: Prometheus metrics every 15 s for node_exporter's textfile collector:\n"
"    sudo tornwatch -p PID -f --unit 8k -i 15 \\\n"
"        --prom /var/lib/prometheus/node-exporter/tornwatch.prom\n"
"  Record here, report elsewhere:\n"
"    sudo tornwatch --unit 8k --record run.twr -- ./load; tornwatch --replay run.twr\n";

void opts_usage(FILE *f)
{
	fputs(usage_text, f);
}

void opts_defaults(struct tw_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->top_files = 10;
	o->json_version = TW_JSON_SCHEMA;
	o->max_units = 1 << 20;
	o->max_files = 16384;
	o->max_bios = 65536;
	o->max_procs = 8192;
	o->ringbuf_bytes = 16 << 20;
	o->fail_on = TW_DEFAULT_FAIL_ON;
}

enum {
	OPT_TOP = 0x100,
	OPT_MAX_UNITS,
	OPT_MAX_FILES,
	OPT_MAX_BIOS,
	OPT_MAX_PROCS,
	OPT_RINGBUF,
	OPT_NO_STABLE,
	OPT_CHECK,
	OPT_FAIL_ON,
	OPT_EVENTS,
	OPT_PROM,
	OPT_ATOMIC_SIZE,
	OPT_JSON_VERSION,
	OPT_END,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "follow", no_argument, NULL, 'f' },
	{ "unit", required_argument, NULL, 'u' },
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'i' },
	{ "json", required_argument, NULL, 'j' },
	{ "record", required_argument, NULL, 'w' },
	{ "replay", required_argument, NULL, 'r' },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "max-units", required_argument, NULL, OPT_MAX_UNITS },
	{ "max-files", required_argument, NULL, OPT_MAX_FILES },
	{ "max-bios", required_argument, NULL, OPT_MAX_BIOS },
	{ "max-procs", required_argument, NULL, OPT_MAX_PROCS },
	{ "ringbuf", required_argument, NULL, OPT_RINGBUF },
	{ "no-stable", no_argument, NULL, OPT_NO_STABLE },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
	{ "events", optional_argument, NULL, OPT_EVENTS },
	{ "prom", required_argument, NULL, OPT_PROM },
	{ "atomic-size", required_argument, NULL, OPT_ATOMIC_SIZE },
	{ "json-version", required_argument, NULL, OPT_JSON_VERSION },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static int parse_atomic_size_opt(struct tw_opts *o, const char *arg, char *err, size_t errlen)
{
	if (o->nr_atomic_sizes >= TW_MAX_ATOMIC_SIZES) {
		snprintf(err, errlen, "--atomic-size: at most %d devices; give one per drive",
			 TW_MAX_ATOMIC_SIZES);
		return -1;
	}
	return tw_parse_atomic_size(arg, &o->atomic_sizes[o->nr_atomic_sizes++], err, errlen);
}

/* "-d/--duration" or "--ringbuf": how messages name option c. */
static const char *opt_name(int c)
{
	static char name[48];

	for (const struct option *lo = long_opts; lo->name; lo++) {
		if (lo->val != c)
			continue;
		if (c < OPT_TOP)
			snprintf(name, sizeof(name), "-%c/--%s", c, lo->name);
		else
			snprintf(name, sizeof(name), "--%s", lo->name);
		break;
	}
	return name;
}

/* Options with one value: a second one is a mistake, not an override. */
static bool takes_one_value(int c)
{
	return c != 'p' && c != OPT_ATOMIC_SIZE && c != 'f' && c != 'v' && c != OPT_NO_STABLE &&
	       c != OPT_CHECK;
}

/* Options of live tracing that a --replay has no use for. */
static const int live_only[] = { 'f', 'u', 'd', 'i', OPT_MAX_FILES, OPT_MAX_BIOS, OPT_MAX_PROCS,
				 OPT_RINGBUF, OPT_NO_STABLE };

/* A size that must be a power of two in [min, max]; example says what to give. */
static int parse_pow2(const char *arg, const char *opt, uint64_t min, uint64_t max,
		      const char *example, uint64_t *out, char *err, size_t errlen)
{
	char lo[24], hi[24];
	uint64_t v = 0;
	int rc = parse_size(arg, opt, 0, UINT64_MAX, &v, err, errlen);

	if (rc && rc != -ERANGE)
		return -1;
	fmt_size_arg(min, lo, sizeof(lo));
	fmt_size_arg(max, hi, sizeof(hi));
	if (!rc && v && !is_pow2(v)) {
		snprintf(err, errlen, "%s: %s is not a power of two; give one from %s to %s, %s",
			 opt, arg, lo, hi, example);
		return -1;
	}
	if (rc || v < min || v > max) {
		snprintf(err, errlen, "%s: %s is out of range; give a power of two from %s to %s, "
			 "%s", opt, arg, lo, hi, example);
		return -1;
	}
	*out = v;
	return 0;
}

/* --replay reads a record: nothing of live tracing goes with it. */
static int check_replay_alone(const struct tw_opts *o, const unsigned char *given, char *err,
			      size_t errlen)
{
	if (o->nr_pids || o->cmd) {
		snprintf(err, errlen, "--replay reports from a record file, it traces nothing: "
			 "drop %s, or drop --replay to trace", o->cmd ? "the command" : "-p");
		return -1;
	}
	if (o->record_path) {
		snprintf(err, errlen, "--replay reads a record, it makes none: drop --record (cp "
			 "copies a record)");
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(live_only); i++) {
		if (given[live_only[i]]) {
			snprintf(err, errlen, "%s is for live tracing; a --replay takes it from "
				 "its record or has no use for it: drop it", opt_name(live_only[i]));
			return -1;
		}
	}
	return 0;
}

/* -i SECONDS [COUNT]: like biolatency, an optional count follows. */
static int parse_interval(struct tw_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	if (parse_uint(optarg, "-i/--interval", 1, 86400, &o->interval_s, err, errlen))
		return OPTS_ERROR;
	if (optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9') {
		if (parse_uint(argv[optind], "-i/--interval COUNT", 1, 1ULL << 32,
			       &o->interval_count, err, errlen))
			return OPTS_ERROR;
		optind++;
	}
	return OPTS_RUN;
}

/* An option with a value to check (a number, a size, a list): OPTS_RUN or OPTS_ERROR. */
/* The sizes set before load: --max-units, --max-files, --max-bios, --max-procs, --ringbuf. */
static int parse_size_limit(struct tw_opts *o, int c, char *err, size_t errlen)
{
	int e = 0;

	switch (c) {
	case OPT_MAX_UNITS:
		e = parse_uint(optarg, "--max-units", 1, 1ULL << 30, &o->max_units, err, errlen);
		break;
	case OPT_MAX_FILES:
		e = parse_uint(optarg, "--max-files", 1, 1 << 24, &o->max_files, err, errlen);
		break;
	case OPT_MAX_BIOS:
		e = parse_uint(optarg, "--max-bios", 16, 1 << 24, &o->max_bios, err, errlen);
		break;
	case OPT_MAX_PROCS:
		e = parse_uint(optarg, "--max-procs", 1, 1 << 22, &o->max_procs, err, errlen);
		break;
	case OPT_RINGBUF:
		e = parse_pow2(optarg, "--ringbuf", 1 << 16, 1ULL << 30, "e.g. 4m or 64m",
			       &o->ringbuf_bytes, err, errlen);
		break;
	}
	return e ? OPTS_ERROR : OPTS_RUN;
}

static int parse_value(struct tw_opts *o, int c, int argc, char **argv, char *err, size_t errlen)
{
	uint64_t v;

	switch (c) {
	case 'p':
		if (o->nr_pids >= TW_MAX_PIDS) {
			snprintf(err, errlen, "-p: at most %d PIDs; use -f to follow children",
				 TW_MAX_PIDS);
			return OPTS_ERROR;
		}
		if (parse_uint(optarg, "-p/--pid", 1, 4194304, &v, err, errlen))
			return OPTS_ERROR;
		o->pids[o->nr_pids++] = (pid_t)v;
		break;
	case 'u':
		if (parse_pow2(optarg, "--unit", TW_UNIT_MIN, TW_UNIT_MAX, "e.g. 8k, 16k", &v, err,
			       errlen))
			return OPTS_ERROR;
		o->unit_size = v;
		break;
	case 'd':
		if (parse_uint(optarg, "-d/--duration", 1, 86400 * 365, &o->duration_s, err,
			       errlen))
			return OPTS_ERROR;
		break;
	case 'i':
		return parse_interval(o, argc, argv, err, errlen);
	case OPT_TOP:
		if (parse_uint(optarg, "--top", 0, 100000, &v, err, errlen))
			return OPTS_ERROR;
		o->top_files = (int)v;
		break;
	case OPT_JSON_VERSION:
		if (parse_uint(optarg, "--json-version", TW_JSON_SCHEMA_MIN, TW_JSON_SCHEMA, &v, err,
			       errlen))
			return OPTS_ERROR;
		o->json_version = (int)v;
		break;
	case OPT_MAX_UNITS: case OPT_MAX_FILES: case OPT_MAX_BIOS: case OPT_MAX_PROCS:
	case OPT_RINGBUF:
		return parse_size_limit(o, c, err, errlen);
	case OPT_FAIL_ON:
		if (tw_parse_fail_on(optarg, &o->fail_on, err, errlen))
			return OPTS_ERROR;
		break;
	case OPT_EVENTS:
		if (!optarg) {
			o->events = 1;
		} else if (!strcmp(optarg, "all")) {
			o->events = 2;
		} else {
			snprintf(err, errlen, "--events: '%s' is not 'all'; give --events or "
				 "--events=all", optarg);
			return OPTS_ERROR;
		}
		break;
	case OPT_ATOMIC_SIZE:
		if (parse_atomic_size_opt(o, optarg, err, errlen))
			return OPTS_ERROR;
		break;
	}
	return OPTS_RUN;
}

/* One option from getopt_long: OPTS_RUN to go on, OPTS_EXIT_OK or OPTS_ERROR to stop. */
static int parse_option(struct tw_opts *o, int c, int argc, char **argv, char *err,
			size_t errlen)
{
	switch (c) {
	case 'f':
		o->follow = true;
		break;
	case 'j':
		o->json_path = optarg;
		break;
	case 'w':
		o->record_path = optarg;
		break;
	case 'r':
		o->replay_path = optarg;
		break;
	case OPT_NO_STABLE:
		o->no_stable = true;
		break;
	case OPT_CHECK:
		o->check = true;
		break;
	case OPT_PROM:
		o->prom_path = optarg;
		break;
	case 'v':
		o->verbose = true;
		break;
	case 'V':
		printf("tornwatch %s\n", TW_VERSION);
		return OPTS_EXIT_OK;
	case 'h':
		opts_usage(stdout);
		return OPTS_EXIT_OK;
	case 'p': case 'u': case 'd': case 'i': case OPT_TOP: case OPT_MAX_UNITS:
	case OPT_MAX_FILES: case OPT_MAX_BIOS: case OPT_MAX_PROCS: case OPT_RINGBUF:
	case OPT_FAIL_ON: case OPT_EVENTS: case OPT_ATOMIC_SIZE: case OPT_JSON_VERSION:
		return parse_value(o, c, argc, argv, err, errlen);
	default:
		if (optopt && strchr("pudijwr", optopt))
			snprintf(err, errlen, "-%c needs a value; see 'tornwatch --help'",
				 optopt);
		else if (optopt >= OPT_TOP && optopt != OPT_EVENTS)
			snprintf(err, errlen, "%s needs a value; see 'tornwatch --help'",
				 argv[optind - 1]);
		else
			snprintf(err, errlen, "unknown option '%s'; see 'tornwatch --help'",
				 argv[optind - 1]);
		return OPTS_ERROR;
	}
	return OPTS_RUN;
}

/* After the options: the command, and what does not go together. */
static int check_combination(struct tw_opts *o, const unsigned char *given, int argc,
			     char **argv, char *err, size_t errlen)
{
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0) {
			snprintf(err, errlen, "unexpected argument '%s'; put the command after '--'",
				 argv[optind]);
			return OPTS_ERROR;
		}
		o->cmd = &argv[optind];
	}

	if (o->events && outfile_is_stdout(o->json_path)) {
		snprintf(err, errlen, "--events and --json - both write to stdout; give --json a "
			 "file name");
		return OPTS_ERROR;
	}
	if (given[OPT_JSON_VERSION] && !o->json_path) {
		snprintf(err, errlen, "--json-version says which JSON to write; add --json FILE");
		return OPTS_ERROR;
	}
	if (o->fail_on != TW_DEFAULT_FAIL_ON && !o->check) {
		snprintf(err, errlen, "--fail-on goes with --check; add --check");
		return OPTS_ERROR;
	}
	if (o->replay_path)
		return check_replay_alone(o, given, err, errlen) ? OPTS_ERROR : OPTS_RUN;
	if (!o->nr_pids && !o->cmd) {
		snprintf(err, errlen, "nothing to trace; give -p PID or -- COMMAND "
			 "(see 'tornwatch --help')");
		return OPTS_ERROR;
	}
	if (o->nr_pids && o->cmd) {
		snprintf(err, errlen, "give either -p PID or -- COMMAND, not both");
		return OPTS_ERROR;
	}
	if (o->follow && !o->nr_pids) {
		snprintf(err, errlen, "-f follows the children of -p PIDs; a -- COMMAND is always "
			 "followed with its children");
		return OPTS_ERROR;
	}
	return OPTS_RUN;
}

static int parse(struct tw_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	unsigned char given[OPT_END];
	int c, rc;

	opts_defaults(o);
	optind = 0;	/* glibc: 0 resets its state too (a second parse, the fuzzer) */
	opterr = 0;
	memset(given, 0, sizeof(given));
	while ((c = getopt_long(argc, argv, "+p:fu:d:i:j:w:r:vVh", long_opts, NULL)) != -1) {
		if (c > 0 && c < OPT_END && c != '?') {
			if (given[c] && takes_one_value(c)) {
				snprintf(err, errlen, "%s given twice; give it once", opt_name(c));
				return OPTS_ERROR;
			}
			given[c] = 1;
		}
		rc = parse_option(o, c, argc, argv, err, errlen);
		if (rc != OPTS_RUN)
			return rc;
	}
	return check_combination(o, given, argc, argv, err, errlen);
}

int opts_parse(struct tw_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	int ret = parse(o, argc, argv, err, errlen);

	/* The message quotes what was typed: keep it one printable line whatever that was. */
	if (ret == OPTS_ERROR)
		for (char *p = err; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	return ret;
}
