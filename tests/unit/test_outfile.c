// SPDX-License-Identifier: GPL-2.0
/*
 * Output files (user/report/outfile.c): how a path is classified, and what writing it does,
 * in a private temporary directory (no root needed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include "opts.h"
#include "outfile.h"
#include "test.h"

static char dir[] = "/tmp/tw-unit-outfile.XXXXXX";

static bool kind_is(const char *path, int e, mode_t mode, enum outfile_kind want,
		    const char *why_needle)
{
	const char *why;

	ASSERT_EQ(outfile_kind_of(path, e, mode, &why), want, path);
	if (why_needle)
		ASSERT_TRUE(why && strstr(why, why_needle), why_needle);
	else
		ASSERT_TRUE(why == NULL, "no reason for a path that is written");
	return true;
}

static bool test_kind_by_name(void)
{
	/* the names win over what lstat says (/dev/stdout is a link) */
	return kind_is("-", ENOENT, 0, OUTFILE_STDOUT, NULL) &&
	       kind_is("/dev/stdout", 0, S_IFLNK, OUTFILE_STDOUT, NULL) &&
	       kind_is("/dev/fd/1", 0, S_IFLNK, OUTFILE_STDOUT, NULL) &&
	       kind_is("/dev/stderr", 0, S_IFLNK, OUTFILE_STDERR, NULL) &&
	       kind_is("/dev/fd/2", 0, S_IFLNK, OUTFILE_STDERR, NULL) &&
	       kind_is("/dev/fd/3", 0, S_IFLNK, OUTFILE_REFUSED, "symbolic link") &&
	       kind_is("", ENOENT, 0, OUTFILE_REFUSED, "empty") &&
	       kind_is("out/", ENOENT, 0, OUTFILE_REFUSED, "ends in '/'");
}

static bool test_kind_by_type(void)
{
	return kind_is("r.json", 0, S_IFREG | 0644, OUTFILE_REPLACE, NULL) &&
	       kind_is("new.json", ENOENT, 0, OUTFILE_REPLACE, NULL) &&
	       kind_is("/dev/null", 0, S_IFCHR | 0666, OUTFILE_IN_PLACE, NULL) &&
	       kind_is("fifo", 0, S_IFIFO | 0600, OUTFILE_IN_PLACE, NULL) &&
	       kind_is("sock", 0, S_IFSOCK | 0600, OUTFILE_IN_PLACE, NULL) &&
	       kind_is("link", 0, S_IFLNK | 0777, OUTFILE_REFUSED, "symbolic link") &&
	       kind_is("d", 0, S_IFDIR | 0755, OUTFILE_REFUSED, "directory") &&
	       kind_is("/dev/loop0", 0, S_IFBLK | 0660, OUTFILE_REFUSED, "block device") &&
	       kind_is("x/y", ENOTDIR, 0, OUTFILE_REFUSED, "looked up");
}

static bool test_is_stdout(void)
{
	ASSERT_TRUE(outfile_is_stdout("-"), "-");
	ASSERT_TRUE(outfile_is_stdout("/dev/stdout"), "/dev/stdout");
	ASSERT_TRUE(!outfile_is_stdout(NULL), "NULL");
	ASSERT_TRUE(!outfile_is_stdout("./-x"), "./-x");
	ASSERT_TRUE(!outfile_is_stdout("/dev/stderr"), "/dev/stderr");
	return true;
}

static char *in_dir(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(in_dir(name), "w");

	fputs(text, f);
	fclose(f);
}

static const char *get(const char *name)
{
	static char buf[256];
	FILE *f = fopen(in_dir(name), "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return f ? buf : "(missing)";
}

/* Entries in dir, "." and ".." left out. */
static int nr_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlink(in_dir(e->d_name));
	closedir(d);
}

/* A name someone planted, a link to a file or to nothing, is never opened or created. */
static bool test_excl_never_follows(void)
{
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY);

	empty_dir();
	put("victim", "precious");
	ASSERT_EQ(symlink("victim", in_dir("out.json.tmp.1")), 0, "plant a link");
	ASSERT_EQ(symlink("ghost", in_dir("out.json.tmp.2")), 0, "plant a dangling link");
	ASSERT_EQ(outfile_open_excl(dirfd, "out.json.tmp.1", 0600), -EEXIST, "link to a file");
	ASSERT_EQ(outfile_open_excl(dirfd, "out.json.tmp.2", 0600), -EEXIST, "dangling link");
	close(dirfd);
	ASSERT_STREQ(get("victim"), "precious", "the link's target");
	ASSERT_EQ(access(in_dir("ghost"), F_OK), -1, "nothing created through the dangling link");
	return true;
}

static bool write_to(const char *path, const char *text, int want_rc, char *err, size_t len)
{
	struct outfile *of = outfile__open(path, "--json", err, len);

	ASSERT_TRUE(of != NULL, err);
	fputs(text, outfile__stream(of));
	ASSERT_EQ(outfile__commit(of, err, len), want_rc, path);
	return true;
}

/* An existing file is replaced whole, keeps its permission bits, and no temporary is left. */
static bool test_replace_regular(void)
{
	char err[256] = "";
	struct stat st;

	empty_dir();
	put("out.json", "old");
	chmod(in_dir("out.json"), 0640);
	if (!write_to(in_dir("out.json"), "new", 0, err, sizeof(err)))
		return false;
	ASSERT_STREQ(get("out.json"), "new", "content");
	ASSERT_EQ(stat(in_dir("out.json"), &st), 0, "stat");
	ASSERT_EQ(st.st_mode & 07777, 0640, "mode kept");
	ASSERT_EQ(nr_entries(), 1, "files in the directory (no temporary left)");
	/* group and other write bits of the old file are not carried over */
	chmod(in_dir("out.json"), 0666);
	if (!write_to(in_dir("out.json"), "newer", 0, err, sizeof(err)))
		return false;
	ASSERT_EQ(stat(in_dir("out.json"), &st), 0, "stat");
	ASSERT_EQ(st.st_mode & 07777, 0644, "mode without group/other write");
	return true;
}

static bool test_new_file(void)
{
	char err[256] = "";
	struct stat st;
	mode_t mask = umask(022);

	empty_dir();
	if (!write_to(in_dir("new.json"), "{}", 0, err, sizeof(err)))
		return false;
	umask(mask);
	ASSERT_STREQ(get("new.json"), "{}", "content");
	ASSERT_EQ(stat(in_dir("new.json"), &st), 0, "stat");
	ASSERT_EQ(st.st_mode & 07777, 0644, "0666 narrowed by the umask");
	ASSERT_EQ(nr_entries(), 1, "files in the directory");
	return true;
}

static bool test_discard_leaves_old(void)
{
	char err[256] = "";
	struct outfile *of;

	empty_dir();
	put("out.json", "old");
	of = outfile__open(in_dir("out.json"), "--json", err, sizeof(err));
	ASSERT_TRUE(of != NULL, err);
	fputs("half", outfile__stream(of));
	outfile__discard(of);
	ASSERT_STREQ(get("out.json"), "old", "content");
	ASSERT_EQ(nr_entries(), 1, "files in the directory");
	return true;
}

static bool test_symlink_refused(void)
{
	char err[256] = "";

	empty_dir();
	put("victim", "precious");
	ASSERT_EQ(symlink("victim", in_dir("link")), 0, "symlink");
	ASSERT_TRUE(outfile__open(in_dir("link"), "--json", err, sizeof(err)) == NULL, "open");
	ASSERT_TRUE(strstr(err, "--json: '") && strstr(err, in_dir("link")), err);
	ASSERT_TRUE(strstr(err, "symbolic link") != NULL, err);
	ASSERT_EQ(outfile_check(in_dir("link"), "--prom", err, sizeof(err)), -EINVAL, "check");
	ASSERT_TRUE(strstr(err, "--prom") != NULL, err);
	ASSERT_STREQ(get("victim"), "precious", "the link's target");
	ASSERT_EQ(nr_entries(), 2, "files in the directory");
	return true;
}

/* The early check creates nothing where the file goes, and names a missing directory. */
static bool test_check(void)
{
	char err[256] = "";

	empty_dir();
	ASSERT_EQ(outfile_check(in_dir("new.json"), "--json", err, sizeof(err)), 0, err);
	ASSERT_EQ(nr_entries(), 0, "files in the directory after the check");
	ASSERT_EQ(outfile_check(in_dir("no/new.json"), "--json", err, sizeof(err)), -ENOENT,
		  "missing directory");
	ASSERT_TRUE(strstr(err, "--json: cannot write ") && strstr(err, in_dir("no/new.json")),
		    err);
	ASSERT_TRUE(strstr(err, "No such file or directory") != NULL, err);
	ASSERT_EQ(outfile_check(dir, "--record", err, sizeof(err)), -EINVAL, "a directory");
	ASSERT_TRUE(strstr(err, "is a directory") != NULL, err);
	return true;
}

/* /dev/full: ENOSPC at the flush is an error naming the path; /dev/full stays a device. */
static bool test_write_error(void)
{
	char err[256] = "";
	struct stat st;

	if (!write_to("/dev/full", "{}", -ENOSPC, err, sizeof(err)))
		return false;
	ASSERT_STREQ(err, "--json: cannot write /dev/full: No space left on device", "message");
	ASSERT_EQ(lstat("/dev/full", &st), 0, "lstat");
	ASSERT_TRUE(S_ISCHR(st.st_mode), "/dev/full is still a character device");
	return true;
}

/* A FIFO is written in place; a reader that went away is EPIPE, not a SIGPIPE. */
static bool test_fifo(void)
{
	char err[256] = "", buf[16] = "";
	struct outfile *of;
	struct stat st;
	int rd;

	empty_dir();
	ASSERT_EQ(mkfifo(in_dir("fifo"), 0600), 0, "mkfifo");
	rd = open(in_dir("fifo"), O_RDONLY | O_NONBLOCK);
	ASSERT_TRUE(rd >= 0, "reader");
	if (!write_to(in_dir("fifo"), "hello", 0, err, sizeof(err)))
		return false;
	ASSERT_EQ(read(rd, buf, sizeof(buf) - 1), 5, "bytes read");
	ASSERT_STREQ(buf, "hello", "what the reader got");
	ASSERT_EQ(lstat(in_dir("fifo"), &st), 0, "lstat");
	ASSERT_TRUE(S_ISFIFO(st.st_mode), "still a FIFO");
	ASSERT_EQ(nr_entries(), 1, "files in the directory");

	of = outfile__open(in_dir("fifo"), "--record", err, sizeof(err));
	ASSERT_TRUE(of != NULL, err);
	close(rd);
	fputs("nobody reads this", outfile__stream(of));
	ASSERT_EQ(outfile__commit(of, err, sizeof(err)), -EPIPE, "reader gone");
	ASSERT_TRUE(strstr(err, "--record: cannot write") != NULL, err);
	return true;
}

static int parse_args(struct tw_opts *o, char *err, size_t len, const char *a, const char *b)
{
	char *argv[] = { "tornwatch", (char *)a, (char *)b, "--", "true", NULL };

	return opts_parse(o, 5, argv, err, len);
}

/* Standard output by any of its names: one writer of stdout at a time; no record there. */
static bool test_stdout_options(void)
{
	char err[256] = "";
	struct tw_opts o;

	ASSERT_EQ(parse_args(&o, err, sizeof(err), "--events", "--json=/dev/stdout"), OPTS_ERROR,
		  "--events with --json /dev/stdout");
	ASSERT_TRUE(strstr(err, "both write to stdout") != NULL, err);
	ASSERT_EQ(parse_args(&o, err, sizeof(err), "--events", "--json=/dev/stderr"), OPTS_RUN,
		  "--events with --json /dev/stderr");
	ASSERT_EQ(parse_args(&o, err, sizeof(err), "--record=/dev/fd/1", "-v"), OPTS_RUN, "parse");
	ASSERT_EQ(outputs_check(&o, err, sizeof(err)), -EINVAL, "--record /dev/fd/1");
	ASSERT_STREQ(err, "--record: standard output carries the text report; give a file or "
		     "a FIFO", "message");
	ASSERT_EQ(parse_args(&o, err, sizeof(err), "--prom=-", "--json=/dev/null"), OPTS_RUN,
		  "parse");
	ASSERT_EQ(outputs_check(&o, err, sizeof(err)), 0, "--prom - and --json /dev/null");
	return true;
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_kind_by_name);
	RUN(test_kind_by_type);
	RUN(test_is_stdout);
	RUN(test_excl_never_follows);
	RUN(test_replace_regular);
	RUN(test_new_file);
	RUN(test_discard_leaves_old);
	RUN(test_symlink_refused);
	RUN(test_check);
	RUN(test_write_error);
	RUN(test_fifo);
	RUN(test_stdout_options);
	empty_dir();
	rmdir(dir);
	return TEST_EXIT();
}
