/*
 * test_node_intents.c - shoald's and shoalctl's intent helpers that need
 * neither a loop nor a socket: the App manifests check and spec reader, the intent YAML
 * file reader, key files, and shoalctl's per-command flag extraction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "shoal/intent.h"

#include "../../node/ctl.h"
#include "../../node/ctl_intent.h"
#include "../../node/manifests.h"

static void test_manifests(void **state)
{
	(void)state;
	char err[200];
	const char *good = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\n"
	                   "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n";
	assert_int_equal(node_manifests_check(good, strlen(good), err, sizeof(err)), 0);
	const char *bad[] = {
	        "",                            /* no document */
	        "kind: [unclosed\n",           /* not YAML */
	        "- a\n- b\n",                  /* not a mapping */
	        "apiVersion: v1\nkind: Pod\n", /* no metadata.name */
	        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: Pod\n", /* 2nd bad */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (node_manifests_check(bad[i], strlen(bad[i]), err, sizeof(err)) == 0)
			fail_msg("accepted bad manifests #%zu", i);
		assert_true(err[0] != '\0');
	}
}

/* An App spec's fields read from msgpack packed by hand: fixmap, fixstr keys. */
static void test_app_spec_read(void **state)
{
	(void)state;
	struct intent_app_spec app;
	/* {"namespace": "shop", "manifests": "x: 1", "extra": [1]} */
	const uint8_t full[] = {0x83, 0xa9, 'n', 'a', 'm', 'e', 's',  'p',  'a', 'c',
	                        'e',  0xa4, 's', 'h', 'o', 'p', 0xa9, 'm',  'a', 'n',
	                        'i',  'f',  'e', 's', 't', 's', 0xa4, 'x',  ':', ' ',
	                        '1',  0xa5, 'e', 'x', 't', 'r', 'a',  0x91, 0x01};
	assert_int_equal(intent_app_spec_read(full, sizeof(full), &app), 0);
	assert_int_equal(app.manifests_len, 4);
	assert_memory_equal(app.manifests, "x: 1", 4);
	assert_int_equal(app.ns_len, 4);
	assert_memory_equal(app.ns, "shop", 4);
	/* No namespace: NULL. */
	const uint8_t bare[] = {0x81, 0xa9, 'm', 'a', 'n', 'i', 'f', 'e', 's', 't', 's', 0xa1, 'y'};
	assert_int_equal(intent_app_spec_read(bare, sizeof(bare), &app), 0);
	assert_null(app.ns);
	assert_int_equal(app.manifests_len, 1);
	/* No manifests, a manifests that is not a string, and every truncation: refused. */
	const uint8_t none[] = {0x80};
	assert_int_equal(intent_app_spec_read(none, sizeof(none), &app), -1);
	const uint8_t num[] = {0x81, 0xa9, 'm', 'a', 'n', 'i', 'f', 'e', 's', 't', 's', 0x01};
	assert_int_equal(intent_app_spec_read(num, sizeof(num), &app), -1);
	for (size_t len = 0; len < sizeof(full); len++)
		assert_int_equal(intent_app_spec_read(full, len, &app), -1);
}

static char tmpdir[64];

static const char *tmpfile_with(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_intent_yaml(void **state)
{
	(void)state;
	struct ctl_intent_doc d;
	char err[256];
	const char *path = tmpfile_with("app.yaml", "apiVersion: shoal.io/v1\n"
	                                            "kind: App\n"
	                                            "metadata: {name: kuard}\n"
	                                            "spec:\n"
	                                            "  target: {selector: \"region in (jp)\"}\n"
	                                            "  strategy: {waves: 3}\n"
	                                            "  namespace: web\n"
	                                            "  manifests: |\n"
	                                            "    apiVersion: v1\n");
	assert_int_equal(ctl_intent_doc_load(&d, path, err, sizeof(err)), 0);
	assert_int_equal(d.kind, INTENT_APP);
	assert_string_equal(d.name, "kuard");
	assert_int_equal(d.target_type, INTENT_TARGET_SELECTOR);
	assert_string_equal(d.target, "region in (jp)");
	/* spec = {namespace, manifests}: a two-entry map; strategy = {waves: 3} */
	assert_int_equal(d.spec.data[0], 0x82);
	static const uint8_t strategy[] = {0x81, 0xa5, 'w', 'a', 'v', 'e', 's', 0x03};
	assert_int_equal(d.strategy.len, sizeof(strategy));
	assert_memory_equal(d.strategy.data, strategy, sizeof(strategy));
	struct intent_draft dr = ctl_intent_doc_draft(&d);
	struct intent_body b = {.kind = dr.kind,
	                        .op = INTENT_PUT,
	                        .spec = dr.spec,
	                        .spec_len = (uint32_t)dr.spec_len};
	assert_int_equal(intent_spec_validate(&b, NULL), 0);
	ctl_intent_doc_destroy(&d);

	const char *cases[] = {
	        "apiVersion: v2\nkind: App\nmetadata: {name: a}\nspec: {}\n",
	        "apiVersion: shoal.io/v1\nkind: Pod\nmetadata: {name: a}\nspec: {}\n",
	        "apiVersion: shoal.io/v1\nkind: App\nspec: {}\n",
	        "apiVersion: shoal.io/v1\nkind: App\nmetadata: {name: a}\nspec: [1]\n",
	        "apiVersion: shoal.io/v1\nkind: App\nmetadata: {name: a}\nspec:\n  target: {x: "
	        "y}\n",
	        "{{{\n",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		path = tmpfile_with("bad.yaml", cases[i]);
		if (ctl_intent_doc_load(&d, path, err, sizeof(err)) == 0)
			fail_msg("accepted bad intent file #%zu", i);
		assert_true(err[0] != '\0');
		ctl_intent_doc_destroy(&d);
	}
}

static void test_key_files(void **state)
{
	(void)state;
	char base[128], path[160], err[256];
	uint8_t pk[32], sk[64], pub[32];
	struct stat st;
	snprintf(base, sizeof(base), "%s/op", tmpdir);
	assert_int_equal(ctl_key_generate(base, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s.key", base);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(ctl_key_load_secret(path, pk, sk, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s.pub", base);
	assert_int_equal(ctl_key_load_public(path, pub, err, sizeof(err)), 0);
	assert_memory_equal(pk, pub, 32);
	/* a second keygen refuses to overwrite */
	assert_int_not_equal(ctl_key_generate(base, err, sizeof(err)), 0);
	assert_int_not_equal(ctl_key_load_public("not-a-key", pub, err, sizeof(err)), 0);
}

static void test_take_flag(void **state)
{
	(void)state;
	char a0[] = "apply", a1[] = "-f", a2[] = "x.yaml", a3[] = "--key=k", a4[] = "--force",
	     a5[] = "--node", a6[] = "h:1";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, NULL};
	int argc = 7;
	const char *v = NULL;
	assert_int_equal(ctl_take_flag(&argc, argv, "--file", "-f", &v), 1);
	assert_string_equal(v, "x.yaml");
	assert_int_equal(ctl_take_flag(&argc, argv, "--key", NULL, &v), 1);
	assert_string_equal(v, "k");
	assert_int_equal(ctl_take_switch(&argc, argv, "--force"), 1);
	assert_int_equal(argc, 3);
	assert_string_equal(argv[1], "--node");
	assert_int_equal(ctl_take_flag(&argc, argv, "--key", NULL, &v), 0);
	char b0[] = "sign", b1[] = "--key";
	char *argv2[] = {b0, b1, NULL};
	argc = 2;
	assert_int_equal(ctl_take_flag(&argc, argv2, "--key", NULL, &v), -1);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shoal-nodeint-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	const char *names[] = {"app.yaml", "bad.yaml", "op.key", "op.pub"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s", tmpdir, names[i]);
		unlink(cmd);
	}
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_manifests),   cmocka_unit_test(test_app_spec_read),
	        cmocka_unit_test(test_intent_yaml), cmocka_unit_test(test_key_files),
	        cmocka_unit_test(test_take_flag),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
