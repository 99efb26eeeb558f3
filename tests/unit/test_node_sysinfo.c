/*
 * test_node_sysinfo.c - system label discovery over prepared root trees
 * (tests/fixtures/sysroot-*): bare metal, AWS, GCP, Azure, an arm64 board
 * without DMI, and a machine whose strings all need normalising. Every
 * discovered value must itself be a valid label value.
 */
#include "../../node/sysinfo.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#ifndef FIXTURES
#define FIXTURES "tests/fixtures"
#endif

static void discover(const char *tree, struct node_sysinfo *si)
{
	char root[256];
	snprintf(root, sizeof(root), "%s/%s", FIXTURES, tree);
	memset(si, 0, sizeof(*si));
	node_sysinfo_discover(root, si);
	struct shoal_label l[NODE_SYS_LABELS_MAX];
	size_t n = node_sysinfo_labels(si, l);
	for (size_t i = 0; i < n; i++) {
		assert_true(shoal_label_key_valid(l[i].key, strlen(l[i].key)));
		assert_true(shoal_label_value_valid(l[i].value, strlen(l[i].value)));
	}
}

static void test_bare_metal(void **state)
{
	(void)state;
	struct node_sysinfo si;
	discover("sysroot-metal", &si);
	assert_string_equal(si.arch, "amd64");
	assert_string_equal(si.os, "linux");
	assert_string_equal(si.kernel, "6.1.0-18-amd64");
	assert_string_equal(si.cpus, "8");
	assert_string_equal(si.memory_gib, "63"); /* 65746788 kB = 62.7 GiB */
	assert_string_equal(si.hw_vendor, "dell-inc");
	assert_string_equal(si.hw_vendor_raw, "Dell Inc.");
	assert_string_equal(si.hw_product, "poweredge-r640");
	assert_string_equal(si.hw_product_raw, "PowerEdge R640");
	assert_string_equal(si.cloud, "");
	struct shoal_label l[NODE_SYS_LABELS_MAX];
	assert_int_equal(node_sysinfo_labels(&si, l), 7); /* no cloud, no k8s-version */
	assert_string_equal(l[0].key, "sys.shoal.io/arch");
	struct shoal_label a[NODE_SYS_ANNOTATIONS_MAX];
	assert_int_equal(node_sysinfo_annotations(&si, a), 2);
	assert_string_equal(a[0].key, "sys.shoal.io/hw-vendor");
	assert_string_equal(a[0].value, "Dell Inc.");
}

static void test_aws(void **state)
{
	(void)state;
	struct node_sysinfo si;
	discover("sysroot-aws", &si);
	assert_string_equal(si.cloud, "aws");
	assert_string_equal(si.hw_vendor, "amazon-ec2");
	assert_string_equal(si.hw_product, "m5.large");
	assert_string_equal(si.cpus, "2");
	assert_string_equal(si.memory_gib, "8"); /* 7999920 kB = 7.63 GiB */
	assert_string_equal(si.kernel, "5.15.0-1051-aws");
}

static void test_gcp(void **state)
{
	(void)state;
	struct node_sysinfo si;
	discover("sysroot-gcp", &si);
	assert_string_equal(si.cloud, "gcp");
	assert_string_equal(si.hw_product, "google-compute-engine");
	assert_string_equal(si.cpus, "4");
	assert_string_equal(si.memory_gib, "16");
}

static void test_azure(void **state)
{
	(void)state;
	struct node_sysinfo si;
	discover("sysroot-azure", &si);
	assert_string_equal(si.cloud, "azure");
	assert_string_equal(si.hw_vendor, "microsoft-corporation");
	assert_string_equal(si.hw_product, "virtual-machine");
}

static void test_arm64_without_dmi(void **state)
{
	(void)state;
	struct node_sysinfo si;
	discover("sysroot-arm64", &si);
	assert_string_equal(si.arch, "arm64");
	assert_string_equal(si.kernel, "6.6.31-rpt-rpi-v8"); /* '+' is not a label character */
	assert_string_equal(si.cpus, "4");                   /* "Hardware" lines not counted */
	assert_string_equal(si.memory_gib, "4");
	assert_string_equal(si.hw_vendor, "");
	assert_string_equal(si.hw_product, "");
	assert_string_equal(si.cloud, "");
	struct shoal_label a[NODE_SYS_ANNOTATIONS_MAX];
	assert_int_equal(node_sysinfo_annotations(&si, a), 0);
}

static void test_odd_strings(void **state)
{
	(void)state;
	struct node_sysinfo si;
	discover("sysroot-odd", &si);
	assert_string_equal(si.arch, "arm");
	assert_string_equal(si.kernel, "4.14.336-1-smp-preempt-custom");
	assert_string_equal(si.cpus, "1");
	assert_string_equal(si.memory_gib, "0"); /* 256 MiB rounds down */
	assert_string_equal(si.hw_vendor, "to-be-filled-by-o.e.m");
	assert_string_equal(si.hw_vendor_raw, "To Be Filled By O.E.M.");
	assert_string_equal(si.hw_product, ""); /* "___" leaves nothing */
	assert_string_equal(si.hw_product_raw, "");
	/* Microsoft's BIOS alone is not Azure: Hyper-V needs its product too. */
	assert_string_equal(si.cloud, "");
}

static void test_missing_root(void **state)
{
	(void)state;
	struct node_sysinfo si;
	memset(&si, 0, sizeof(si));
	node_sysinfo_discover("/nonexistent/shoal-sysroot", &si);
	struct shoal_label l[NODE_SYS_LABELS_MAX];
	/* Not "/": uname is not asked, so nothing of the host leaks in. */
	assert_int_equal(node_sysinfo_labels(&si, l), 0);
}

static void test_normalize(void **state)
{
	(void)state;
	char out[64];
	node_sysinfo_normalize("  Hello,  World!! ", out, sizeof(out));
	assert_string_equal(out, "hello-world");
	node_sysinfo_normalize("-_.abc._-", out, sizeof(out));
	assert_string_equal(out, "abc");
	node_sysinfo_normalize("", out, sizeof(out));
	assert_string_equal(out, "");
	char longtext[200];
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	longtext[62] = ' '; /* the cut lands right after a separator */
	node_sysinfo_normalize(longtext, out, sizeof(out));
	assert_true(shoal_label_value_valid(out, strlen(out)));
	assert_int_equal(strlen(out), 62);
	node_sysinfo_arch("i686", out, sizeof(out));
	assert_string_equal(out, "386");
	node_sysinfo_arch("mips64", out, sizeof(out));
	assert_string_equal(out, "mips64");
}

static void test_k8s_version_survives_refresh(void **state)
{
	(void)state;
	struct node_sysinfo si;
	discover("sysroot-aws", &si);
	assert_true(node_sysinfo_set_k8s_version(&si, "v1.29.3+k3s1"));
	assert_string_equal(si.k8s_version, "v1.29.3-k3s1");
	assert_false(node_sysinfo_set_k8s_version(&si, "v1.29.3+k3s1"));
	node_sysinfo_discover(FIXTURES "/sysroot-aws", &si);
	assert_string_equal(si.k8s_version, "v1.29.3-k3s1");
	struct shoal_label l[NODE_SYS_LABELS_MAX];
	assert_int_equal(node_sysinfo_labels(&si, l), NODE_SYS_LABELS_MAX);
	assert_true(node_sysinfo_set_k8s_version(&si, NULL));
	assert_int_equal(node_sysinfo_labels(&si, l), NODE_SYS_LABELS_MAX - 1);
}

static void test_cloud_rules(void **state)
{
	(void)state;
	struct node_dmi xen_ec2 = {
	        .sys_vendor = "Xen", .product_name = "HVM domU", .bios_version = "4.11.amazon"};
	assert_string_equal(node_sysinfo_cloud(&xen_ec2), "aws");
	struct node_dmi nova = {.sys_vendor = "OpenStack Foundation",
	                        .product_name = "OpenStack Nova"};
	assert_string_equal(node_sysinfo_cloud(&nova), "openstack");
	struct node_dmi hyperv = {.sys_vendor = "Microsoft Corporation",
	                          .product_name = "Virtual Machine"};
	assert_string_equal(node_sysinfo_cloud(&hyperv), "azure");
	struct node_dmi oci = {.chassis_asset_tag = "OracleCloud.com"};
	assert_string_equal(node_sysinfo_cloud(&oci), "oracle");
	struct node_dmi none = {0};
	assert_null(node_sysinfo_cloud(&none));
	assert_true(node_sysinfo_key_reserved("sys.shoal.io/arch"));
	assert_false(node_sysinfo_key_reserved("shoal.io/arch"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bare_metal),
	        cmocka_unit_test(test_aws),
	        cmocka_unit_test(test_gcp),
	        cmocka_unit_test(test_azure),
	        cmocka_unit_test(test_arm64_without_dmi),
	        cmocka_unit_test(test_odd_strings),
	        cmocka_unit_test(test_missing_root),
	        cmocka_unit_test(test_normalize),
	        cmocka_unit_test(test_k8s_version_survives_refresh),
	        cmocka_unit_test(test_cloud_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
