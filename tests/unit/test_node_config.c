/*
 * test_node_config.c - shoald's flags and YAML config file.
 *
 * Good configurations are checked field by field (defaults, both flag
 * spellings, the file, flags winning over the file, repeatable flags
 * replacing the file's list); then every error path is driven once and the
 * message is checked to name the culprit, since that one line on stderr is
 * all an operator gets before shoald exits 2.
 */
#include "../../node/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "shoal/error.h"

/* A temp dir holding the config files each test writes. */
static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shoal-config-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write `text` to tmpdir/name and return the path (static buffer). */
static char *write_file(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

#define ARGV(...) ((char *[]){"shoald", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"shoald", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, err, ...)                                                                       \
	node_config_parse(cfg, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), err, sizeof(err))

static void addr_is(const struct shoal_addr *a, const char *want)
{
	char text[SHOAL_ADDR_STRLEN];
	assert_int_equal(shoal_addr_format(a, text, sizeof(text)), 0);
	assert_string_equal(text, want);
}

/* Parse must fail with SHOAL_E_CONFIG and an error containing `needle`. */
static void fails_with(int argc, char **argv, const char *needle)
{
	struct node_config cfg;
	char err[512] = "";
	int rc = node_config_parse(&cfg, argc, argv, err, sizeof(err));
	if (rc != SHOAL_E_CONFIG || strstr(err, needle) == NULL)
		fail_msg("want error containing \"%s\", got rc=%d \"%s\"", needle, rc, err);
	assert_null(strchr(err, '\n')); /* one line */
}
#define FAILS(needle, ...) fails_with(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), needle)

static void test_defaults(void **state)
{
	struct node_config cfg;
	char err[256];
	char host[256] = {0};
	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--data-dir", "/tmp/d"), 0);
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(cfg.name, host);
	addr_is(&cfg.bind, "0.0.0.0:7600");
	addr_is(&cfg.api, "127.0.0.1:7680");
	assert_string_equal(cfg.data_dir, "/tmp/d");
	assert_null(cfg.keyring_path);
	assert_null(cfg.config_path);
	assert_int_equal(cfg.profile, NODE_PROFILE_LAN);
	assert_int_equal(cfg.log_level, NODE_LOG_INFO);
	assert_int_equal(cfg.njoin, 0);
	assert_int_equal(cfg.nlabels, 0);
	/* Unspecified bind IP: advertise a real IPv4 address, same port. */
	assert_false(cfg.advertise_set);
	assert_int_equal(cfg.advertise.family, 4);
	assert_int_equal(cfg.advertise.port, 7600);
	assert_false(cfg.advertise.ip[0] == 0);
	node_config_destroy(&cfg);
}

static void test_all_flags(void **state)
{
	struct node_config cfg;
	char err[256];
	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--name", "n1", "--bind=127.0.0.1:7601", "--join",
	                       "127.0.0.1:7602", "--join=[::1]:7603", "--label", "region=eu-west",
	                       "--label=example.com/tier=", "--data-dir", "/tmp/d", "--api",
	                       "127.0.0.1:7681", "--keyring", "/tmp/k", "--profile", "fast",
	                       "--log-level=debug"),
	                 0);
	assert_string_equal(cfg.name, "n1");
	addr_is(&cfg.bind, "127.0.0.1:7601");
	/* A specific bind address is advertised as is. */
	addr_is(&cfg.advertise, "127.0.0.1:7601");
	assert_int_equal(cfg.njoin, 2);
	addr_is(&cfg.join[0], "127.0.0.1:7602");
	addr_is(&cfg.join[1], "[::1]:7603");
	assert_int_equal(cfg.nlabels, 2);
	assert_string_equal(cfg.labels[0].key, "region");
	assert_string_equal(cfg.labels[0].value, "eu-west");
	assert_string_equal(cfg.labels[1].key, "example.com/tier");
	assert_string_equal(cfg.labels[1].value, "");
	addr_is(&cfg.api, "127.0.0.1:7681");
	assert_string_equal(cfg.keyring_path, "/tmp/k");
	assert_int_equal(cfg.profile, NODE_PROFILE_FAST);
	assert_int_equal(cfg.log_level, NODE_LOG_DEBUG);
	node_config_destroy(&cfg);

	assert_int_equal(PARSE(&cfg, err, "--data-dir", "/d", "--bind", "0.0.0.0:9000",
	                       "--advertise", "10.1.2.3:9001"),
	                 0);
	assert_true(cfg.advertise_set);
	addr_is(&cfg.advertise, "10.1.2.3:9001");
	node_config_destroy(&cfg);
}

static void test_help_version(void **state)
{
	struct node_config cfg;
	char err[256];
	(void)state;
	/* --help wins even without the required flags. */
	assert_int_equal(PARSE(&cfg, err, "--help"), 0);
	assert_true(cfg.help);
	node_config_destroy(&cfg);
	assert_int_equal(PARSE(&cfg, err, "--version"), 0);
	assert_true(cfg.version);
	node_config_destroy(&cfg);
	assert_non_null(strstr(node_config_usage(), "--data-dir"));
}

static void test_file(void **state)
{
	struct node_config cfg;
	char err[256];
	(void)state;
	char *path = write_file("good.yaml", "# a comment\n"
	                                     "name: site-a\n"
	                                     "bind: 127.0.0.1:7611\n"
	                                     "advertise: 127.0.0.2:7611\n"
	                                     "join:\n"
	                                     "  - 127.0.0.1:7612\n"
	                                     "  - 127.0.0.1:7613\n"
	                                     "labels:\n"
	                                     "  region: eu-west\n"
	                                     "  tier: \"1\"\n"
	                                     "data-dir: /var/lib/shoal\n"
	                                     "api: 127.0.0.1:7690\n"
	                                     "keyring: /etc/shoal/keyring\n"
	                                     "profile: fast\n"
	                                     "log_level: warn\n");
	assert_int_equal(PARSE(&cfg, err, "--config", path), 0);
	assert_string_equal(cfg.config_path, path);
	assert_string_equal(cfg.name, "site-a");
	addr_is(&cfg.bind, "127.0.0.1:7611");
	addr_is(&cfg.advertise, "127.0.0.2:7611");
	assert_int_equal(cfg.njoin, 2);
	addr_is(&cfg.join[1], "127.0.0.1:7613");
	assert_int_equal(cfg.nlabels, 2);
	assert_string_equal(cfg.labels[1].key, "tier");
	assert_string_equal(cfg.labels[1].value, "1");
	assert_string_equal(cfg.data_dir, "/var/lib/shoal");
	addr_is(&cfg.api, "127.0.0.1:7690");
	assert_string_equal(cfg.keyring_path, "/etc/shoal/keyring");
	assert_int_equal(cfg.profile, NODE_PROFILE_FAST);
	assert_int_equal(cfg.log_level, NODE_LOG_WARN);
	node_config_destroy(&cfg);

	/* A single join as a scalar; an empty file; "labels:" empty. */
	path = write_file("scalar.yaml", "join: 127.0.0.1:1\nlabels:\ndata_dir: /x\n");
	assert_int_equal(PARSE(&cfg, err, "--config", path), 0);
	assert_int_equal(cfg.njoin, 1);
	assert_int_equal(cfg.nlabels, 0);
	node_config_destroy(&cfg);
	path = write_file("empty.yaml", "");
	assert_int_equal(PARSE(&cfg, err, "--config", path, "--data-dir", "/x"), 0);
	node_config_destroy(&cfg);
}

/* The cluster: flags, file keys (either spelling), flags win, no cluster by default. */
static void test_kubeconfig(void **state)
{
	struct node_config cfg;
	char err[256];
	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--data-dir", "/d"), 0);
	assert_null(cfg.kubeconfig);
	assert_null(cfg.kube_context);
	node_config_destroy(&cfg);
	assert_int_equal(PARSE(&cfg, err, "--data-dir", "/d", "--kubeconfig", "/etc/kube/site.yaml",
	                       "--kube-context=edge"),
	                 0);
	assert_string_equal(cfg.kubeconfig, "/etc/kube/site.yaml");
	assert_string_equal(cfg.kube_context, "edge");
	node_config_destroy(&cfg);
	char *path = write_file("kube.yaml", "data-dir: /x\nkubeconfig: /k/config\n"
	                                     "kube_context: prod\n");
	assert_int_equal(PARSE(&cfg, err, "--config", path, "--kube-context", "dev"), 0);
	assert_string_equal(cfg.kubeconfig, "/k/config");
	assert_string_equal(cfg.kube_context, "dev");
	node_config_destroy(&cfg);
	FAILS("--kubeconfig: must not be empty", "--data-dir", "/d", "--kubeconfig", "");
	FAILS("--kube-context needs a value", "--data-dir", "/d", "--kube-context");
}

static void test_flags_win(void **state)
{
	struct node_config cfg;
	char err[256];
	(void)state;
	char *path = write_file("base.yaml", "name: from-file\n"
	                                     "bind: 127.0.0.1:7000\n"
	                                     "join: [127.0.0.1:7001, 127.0.0.1:7002]\n"
	                                     "labels: {a: \"1\", b: \"2\"}\n"
	                                     "data-dir: /file\n");
	/* Flags may come before --config; they still win. */
	assert_int_equal(PARSE(&cfg, err, "--name", "from-flag", "--config", path, "--join",
	                       "127.0.0.1:7009", "--label", "c=3"),
	                 0);
	assert_string_equal(cfg.name, "from-flag");
	addr_is(&cfg.bind, "127.0.0.1:7000");
	assert_int_equal(cfg.njoin, 1); /* replaced, not appended */
	addr_is(&cfg.join[0], "127.0.0.1:7009");
	assert_int_equal(cfg.nlabels, 1);
	assert_string_equal(cfg.labels[0].key, "c");
	assert_string_equal(cfg.data_dir, "/file");
	node_config_destroy(&cfg);

	/* Without join/label flags the file's lists stay. */
	assert_int_equal(PARSE(&cfg, err, "--config", path), 0);
	assert_int_equal(cfg.njoin, 2);
	assert_int_equal(cfg.nlabels, 2);
	node_config_destroy(&cfg);
}

static void test_flag_errors(void **state)
{
	(void)state;
	FAILS("--data-dir is required", "--name", "n1");
	FAILS("unknown flag --nmae", "--nmae", "x", "--data-dir", "/d");
	FAILS("unexpected argument \"extra\"", "--data-dir", "/d", "extra");
	FAILS("unexpected argument \"-x\"", "-x");
	FAILS("--name needs a value", "--data-dir", "/d", "--name");
	FAILS("--help takes no value", "--help=yes");
	FAILS("--name given twice", "--name", "a", "--name", "b", "--data-dir", "/d");
	FAILS("--name: \"-bad\" is not a valid name", "--name", "-bad", "--data-dir", "/d");
	FAILS("--name: \"a b\" is not a valid name", "--name", "a b", "--data-dir", "/d");
	FAILS("is not a valid name", "--name",
	      "a23456789012345678901234567890123456789012345678901234567890123456789", "--data-dir",
	      "/d");
	FAILS("--bind: \"nowhere\" is not HOST:PORT", "--bind", "nowhere", "--data-dir", "/d");
	FAILS("--bind: \"1.2.3.4:0\"", "--bind", "1.2.3.4:0", "--data-dir", "/d");
	FAILS("--bind: \"1.2.3.4:65536\"", "--bind", "1.2.3.4:65536", "--data-dir", "/d");
	FAILS("--advertise: \"x:1\"", "--advertise", "x:1", "--data-dir", "/d");
	FAILS("--join: \"1.2.3:7\"", "--join", "1.2.3:7", "--data-dir", "/d");
	FAILS("--api: \"127.0.0.1\"", "--api", "127.0.0.1", "--data-dir", "/d");
	FAILS("--data-dir: must not be empty", "--data-dir", "");
	FAILS("--keyring: must not be empty", "--data-dir", "/d", "--keyring", "");
	FAILS("--config: must not be empty", "--config", "");
	FAILS("--profile: \"wan\" is not a profile", "--profile", "wan", "--data-dir", "/d");
	FAILS("--log-level: \"loud\" is not a log level", "--log-level", "loud", "--data-dir",
	      "/d");
	FAILS("--config: cannot open /nonexistent/shoald.yaml", "--config",
	      "/nonexistent/shoald.yaml");
}

static void test_label_errors(void **state)
{
	(void)state;
	FAILS("--label: \"novalue\" is not KEY=VALUE", "--label", "novalue", "--data-dir", "/d");
	FAILS("label key \"\": key is empty", "--label", "=v", "--data-dir", "/d");
	FAILS("label key \"-a\": must begin and end with an alphanumeric", "--label", "-a=v",
	      "--data-dir", "/d");
	FAILS("label key \"Example.com/a\": prefix must be a DNS subdomain", "--label",
	      "Example.com/a=v", "--data-dir", "/d");
	FAILS("label key \"/a\": prefix before '/' is empty", "--label", "/a=v", "--data-dir",
	      "/d");
	FAILS("label key \"a..b/c\": prefix has an empty part", "--label", "a..b/c=v", "--data-dir",
	      "/d");
	FAILS("label key \"a/\": name after '/' is empty", "--label", "a/=v", "--data-dir", "/d");
	FAILS("label a: value \"v!\": value may hold only", "--label", "a=v!", "--data-dir", "/d");
	FAILS("label a: value \"-v\": must begin and end", "--label", "a=-v", "--data-dir", "/d");
	/* System labels are discovered, never set by hand. */
	FAILS("\"sys.shoal.io/arch\": the prefix sys.shoal.io/ is reserved", "--label",
	      "sys.shoal.io/arch=arm64", "--data-dir", "/d");
	FAILS("value longer than 63 characters", "--label",
	      "a=1234567890123456789012345678901234567890123456789012345678901234", "--data-dir",
	      "/d");
	FAILS("label key", "--label",
	      "a1234567890123456789012345678901234567890123456789012345678901234=v", "--data-dir",
	      "/d");
	FAILS("label \"a\" given twice", "--label", "a=1", "--label", "a=2", "--data-dir", "/d");
	FAILS("the prefix sys.shoal.io/ is reserved", "--label", "sys.shoal.io/trust=0",
	      "--data-dir", "/d");

	/* Valid but too many bytes once encoded: 10 labels of 60+60 chars. */
	char *argv[32];
	char texts[10][140];
	int argc = 0;
	argv[argc++] = "shoald";
	for (int i = 0; i < 10; i++) {
		snprintf(texts[i], sizeof(texts[i]), "k%02d%057d=v%059d", i, 0, 0);
		argv[argc++] = "--label";
		argv[argc++] = texts[i];
	}
	argv[argc++] = "--data-dir";
	argv[argc++] = "/d";
	argv[argc] = NULL;
	fails_with(argc, argv, "labels exceed 512 bytes encoded");

	/* Exactly at a comfortable size it passes: 3 such labels (~370 B). */
	struct node_config cfg;
	char err[256];
	char *ok[] = {"shoald",  "--label", texts[0],     "--label", texts[1],
	              "--label", texts[2],  "--data-dir", "/d",      NULL};
	assert_int_equal(node_config_parse(&cfg, 9, ok, err, sizeof(err)), 0);
	assert_int_equal(cfg.nlabels, 3);
	node_config_destroy(&cfg);
}

static void test_annotations(void **state)
{
	(void)state;
	struct node_config cfg;
	char err[512];
	char *path = write_file("ann.yaml", "annotations:\n"
	                                    "  geo.shoal.io/lat: \"35.68\"\n"
	                                    "  note: Rack 4, row B (left of the door)\n"
	                                    "labels: {region: jp}\n");
	assert_int_equal(PARSE(&cfg, err, "--config", path, "--data-dir", "/d"), 0);
	assert_int_equal(cfg.nannotations, 2);
	assert_string_equal(cfg.annotations[1].key, "note");
	assert_string_equal(cfg.annotations[1].value, "Rack 4, row B (left of the door)");
	assert_int_equal(cfg.nlabels, 1);
	node_config_destroy(&cfg);

	/* A flag replaces the file's whole list. */
	assert_int_equal(PARSE(&cfg, err, "--config", path, "--annotation", "owner=Ops Team <x@y>",
	                       "--data-dir", "/d", "--sysroot", "/srv/root"),
	                 0);
	assert_int_equal(cfg.nannotations, 1);
	assert_string_equal(cfg.annotations[0].value, "Ops Team <x@y>");
	assert_string_equal(cfg.sysroot, "/srv/root");
	node_config_destroy(&cfg);

	char big[300];
	snprintf(big, sizeof(big), "a=%0257d", 0);
	FAILS("--annotation: annotation a: value is 257 bytes, at most 256", "--annotation", big,
	      "--data-dir", "/d");
	FAILS("annotation key \"Bad Key\"", "--annotation", "Bad Key=x", "--data-dir", "/d");
	FAILS("annotation key \"sys.shoal.io/hw-vendor\": the prefix sys.shoal.io/ is reserved",
	      "--annotation", "sys.shoal.io/hw-vendor=x", "--data-dir", "/d");
	FAILS("annotation a: value is not valid UTF-8", "--annotation", "a=\xff\xfe", "--data-dir",
	      "/d");
	FAILS("annotation \"a\" given twice", "--annotation", "a=1", "--annotation", "a=2",
	      "--data-dir", "/d");
	FAILS("--annotation: \"x\" is not KEY=VALUE", "--annotation", "x", "--data-dir", "/d");
	path = write_file("ann2.yaml", "annotations: [a, b]\n");
	FAILS("annotations: must be a mapping", "--config", path, "--data-dir", "/d");
}

static void test_file_errors(void **state)
{
	(void)state;
	char *p;
	p = write_file("bad1.yaml", "name: [unclosed\n");
	FAILS("bad1.yaml:", "--config", p);
	p = write_file("bad2.yaml", "- a\n- b\n");
	FAILS("must be a mapping of setting: value", "--config", p);
	p = write_file("bad3.yaml", "data-dir: /d\nnmae: x\n");
	FAILS("bad3.yaml:2: nmae: unknown key", "--config", p);
	p = write_file("bad4.yaml", "data-dir: /d\nname: a\nname: b\n");
	FAILS("bad4.yaml:3: name: given twice", "--config", p);
	p = write_file("bad5.yaml", "data-dir: /d\nbind: [1, 2]\n");
	FAILS("bad5.yaml:2: bind: must be a single value", "--config", p);
	p = write_file("bad6.yaml", "data-dir: /d\njoin: {a: b}\n");
	FAILS("bad6.yaml:2: join: must be a list of HOST:PORT", "--config", p);
	p = write_file("bad7.yaml", "data-dir: /d\njoin: [[1]]\n");
	FAILS("join: must be a list of HOST:PORT", "--config", p);
	p = write_file("bad8.yaml", "data-dir: /d\nlabels: [a]\n");
	FAILS("bad8.yaml:2: labels: must be a mapping of KEY: VALUE", "--config", p);
	p = write_file("bad9.yaml", "data-dir: /d\nlabels:\n  a: [1]\n");
	FAILS("labels: each entry must be KEY: VALUE text", "--config", p);
	p = write_file("bad10.yaml", "data-dir: /d\nlabels:\n  ok: v\n  bad key: v\n");
	FAILS("bad10.yaml:4: labels: label key \"bad key\"", "--config", p);
	p = write_file("bad11.yaml", "data-dir: /d\nconfig: other.yaml\n");
	FAILS("config: unknown key", "--config", p);
	p = write_file("bad12.yaml", "data-dir: /d\nlabel: {a: b}\n");
	FAILS("label: unknown key", "--config", p);
	p = write_file("bad13.yaml", "data-dir: /d\nbind: nowhere\n");
	FAILS("bad13.yaml:2: bind: \"nowhere\" is not HOST:PORT", "--config", p);
	p = write_file("bad14.yaml", "data-dir: /d\nprofile: wan\n");
	FAILS("bad14.yaml:2: profile: \"wan\" is not a profile", "--config", p);
	p = write_file("bad15.yaml", "data-dir: /d\n[a]: b\n");
	FAILS("keys must be setting names", "--config", p);
	p = write_file("bad16.yaml", "data-dir: /d\nlabels: {a: 1}\nlabels: {b: 2}\n");
	FAILS("labels: given twice", "--config", p);
	p = write_file("bad17.yaml", "data-dir: \"\"\n");
	FAILS("data-dir: must not be empty", "--config", p);
	p = write_file("bad18.yaml", "data-dir: /d\nlog-level: loud\n");
	FAILS("log-level: \"loud\" is not a log level", "--config", p);
	p = write_file("bad19.yaml", "data-dir: /d\nname: \"-x\"\n");
	FAILS("name: \"-x\" is not a valid name", "--config", p);

	/* Too many seeds, and a file over the size cap. */
	char seeds[4096] = "data-dir: /d\njoin:\n";
	for (int i = 0; i <= NODE_JOIN_MAX; i++) {
		size_t used = strlen(seeds);
		snprintf(seeds + used, sizeof(seeds) - used, "  - 127.0.0.1:%d\n", 1000 + i);
	}
	p = write_file("bad20.yaml", seeds);
	FAILS("join: at most 64 seeds", "--config", p);

	char *big = malloc(NODE_CONFIG_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, '#', NODE_CONFIG_FILE_MAX + 1);
	big[NODE_CONFIG_FILE_MAX + 1] = '\0';
	p = write_file("big.yaml", big);
	free(big);
	FAILS("larger than 1048576 bytes", "--config", p);
}

static void test_validators(void **state)
{
	char err[256];
	(void)state;
	assert_true(node_config_name_valid("a"));
	assert_true(node_config_name_valid("site-1.eu_west"));
	assert_false(node_config_name_valid(""));
	assert_false(node_config_name_valid(".a"));
	assert_false(node_config_name_valid("a/b"));
	assert_int_equal(
	        node_config_label_valid("app.kubernetes.io/name", "shoal", err, sizeof(err)), 0);
	assert_int_equal(node_config_label_valid("a", "", err, sizeof(err)), 0);
	assert_int_equal(node_config_label_valid("a-", "x", err, sizeof(err)), SHOAL_E_CONFIG);
	assert_int_equal(node_config_label_valid("x-.y/a", "x", err, sizeof(err)), SHOAL_E_CONFIG);

	/* Default advertise: a concrete bind is kept; 0.0.0.0 becomes an
	 * interface address (or 127.0.0.1), never 0.0.0.0. */
	struct shoal_addr bind, adv;
	shoal_addr_parse(&bind, "10.9.8.7:1234");
	node_config_default_advertise(&bind, &adv);
	addr_is(&adv, "10.9.8.7:1234");
	shoal_addr_parse(&bind, "0.0.0.0:1234");
	node_config_default_advertise(&bind, &adv);
	assert_int_equal(adv.family, 4);
	assert_int_equal(adv.port, 1234);
	assert_false(adv.ip[0] == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_all_flags),
	        cmocka_unit_test(test_help_version), cmocka_unit_test(test_file),
	        cmocka_unit_test(test_kubeconfig),   cmocka_unit_test(test_flags_win),
	        cmocka_unit_test(test_flag_errors),  cmocka_unit_test(test_label_errors),
	        cmocka_unit_test(test_file_errors),  cmocka_unit_test(test_annotations),
	        cmocka_unit_test(test_validators),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
