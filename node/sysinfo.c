/*
 * sysinfo.c - discovering system labels from files under a root.
 *
 * Everything is read through one path join onto the root, so a test tree
 * stands in for the machine completely. Files are read with a cap (a DMI
 * string is short; /proc/cpuinfo is read line by line), numbers are parsed
 * by hand (no sscanf), and anything odd leaves its label out rather than
 * guessing.
 *
 * Cloud detection follows what the providers document for their DMI
 * tables: EC2 says "Amazon EC2" (Nitro) or "amazon" in its BIOS version
 * (Xen); GCE "Google" / "Google Compute Engine"; Azure the asset tag
 * 7783-7084-3265-9085-8269-3286-77, or Microsoft's "Virtual Machine"
 * product; OpenStack Nova "OpenStack" in vendor or product.
 */
#include "sysinfo.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#define PATH_CAP 4096
#define LINE_CAP 512

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

void node_sysinfo_normalize(const char *raw, char *out, size_t cap)
{
	size_t n = 0;
	size_t limit = cap > 0 ? cap - 1 : 0;
	if (limit > SHOAL_LABEL_VALUE_MAX)
		limit = SHOAL_LABEL_VALUE_MAX;
	if (cap == 0)
		return;
	for (const char *p = raw != NULL ? raw : ""; *p != '\0' && n < limit; p++) {
		char c = *p;
		if (is_alnum(c)) {
			out[n++] = lower(c);
		} else if (c == '.' || c == '_' || c == '-') {
			if (n > 0)
				out[n++] = c;
		} else if (n > 0 && out[n - 1] != '-') {
			out[n++] = '-'; /* a run of other characters becomes one '-' */
		}
	}
	while (n > 0 && !is_alnum(out[n - 1]))
		n--;
	out[n] = '\0';
}

void node_sysinfo_arch(const char *machine, char *out, size_t cap)
{
	static const struct {
		const char *machine, *arch;
	} table[] = {
	        {"x86_64", "amd64"},    {"amd64", "amd64"}, {"aarch64", "arm64"},
	        {"arm64", "arm64"},     {"armv8l", "arm"},  {"armv7l", "arm"},
	        {"armv7", "arm"},       {"armv6l", "arm"},  {"i386", "386"},
	        {"i486", "386"},        {"i586", "386"},    {"i686", "386"},
	        {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"},
	};
	char norm[SHOAL_LABEL_VALUE_MAX + 1];
	node_sysinfo_normalize(machine, norm, sizeof(norm));
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(norm, table[i].machine) == 0) {
			snprintf(out, cap, "%s", table[i].arch);
			return;
		}
	snprintf(out, cap, "%s", norm);
}

/* root + "/" + rel into buf; false if it does not fit. */
static bool join(char *buf, size_t cap, const char *root, const char *rel)
{
	size_t rl = strlen(root);
	while (rl > 0 && root[rl - 1] == '/')
		rl--;
	int len = snprintf(buf, cap, "%.*s/%s", (int)rl, root, rel);
	return len > 0 && (size_t)len < cap;
}

/* The first line of a small file, whitespace-trimmed, into out; false if
 * the file is missing or unreadable. */
static bool read_line(const char *root, const char *rel, char *out, size_t cap)
{
	char path[PATH_CAP];
	out[0] = '\0';
	if (!join(path, sizeof(path), root, rel))
		return false;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	bool ok = fgets(out, (int)cap, f) != NULL;
	fclose(f);
	if (!ok) {
		out[0] = '\0';
		return false;
	}
	size_t n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' ||
	                 out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
	size_t lead = 0;
	while (out[lead] == ' ' || out[lead] == '\t')
		lead++;
	memmove(out, out + lead, n - lead + 1);
	return true;
}

/* Lines of proc/cpuinfo that start with "processor"; 0 if unreadable. */
static unsigned count_cpus(const char *root)
{
	char path[PATH_CAP], line[LINE_CAP];
	if (!join(path, sizeof(path), root, "proc/cpuinfo"))
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	unsigned n = 0;
	bool line_start = true;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* A line longer than the buffer arrives in pieces: only the
		 * first piece starts a line. */
		if (line_start && strncmp(line, "processor", 9) == 0 &&
		    (line[9] == ' ' || line[9] == '\t' || line[9] == ':'))
			n++;
		line_start = strchr(line, '\n') != NULL;
	}
	fclose(f);
	return n;
}

/* MemTotal from proc/meminfo in KiB; 0 if absent or malformed. */
static uint64_t mem_total_kib(const char *root)
{
	char path[PATH_CAP], line[LINE_CAP];
	if (!join(path, sizeof(path), root, "proc/meminfo"))
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	uint64_t kib = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "MemTotal:", 9) != 0)
			continue;
		const char *p = line + 9;
		while (*p == ' ' || *p == '\t')
			p++;
		uint64_t v = 0;
		bool digits = false;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (v > UINT64_MAX / 10 - 10)
				break; /* absurd: leave it out */
			v = v * 10 + (uint64_t)(*p - '0');
			digits = true;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (digits && strncmp(p, "kB", 2) == 0)
			kib = v;
		break;
	}
	fclose(f);
	return kib;
}

/* Case-insensitive substring. */
static bool contains(const char *hay, const char *needle)
{
	if (hay == NULL || needle == NULL)
		return false;
	size_t nl = strlen(needle);
	for (const char *h = hay; *h != '\0'; h++) {
		size_t i = 0;
		while (i < nl && h[i] != '\0' && lower(h[i]) == lower(needle[i]))
			i++;
		if (i == nl)
			return true;
	}
	return false;
}

const char *node_sysinfo_cloud(const struct node_dmi *d)
{
	/* Which DMI fields each rule looks at. */
	enum { VENDOR = 1, PRODUCT = 2, BIOS_VENDOR = 4, BIOS_VERSION = 8, CHASSIS = 16, TAG = 32 };
	static const struct {
		const char *needle;
		unsigned fields;
		const char *cloud;
	} rules[] = {
	        {"amazon ec2", VENDOR | PRODUCT | BIOS_VENDOR, "aws"},
	        {"amazon", BIOS_VERSION, "aws"},
	        {"google", VENDOR | PRODUCT | BIOS_VENDOR, "gcp"},
	        {"7783-7084-3265-9085-8269-3286-77", TAG, "azure"},
	        {"openstack", VENDOR | PRODUCT | CHASSIS, "openstack"},
	        {"digitalocean", VENDOR | PRODUCT, "digitalocean"},
	        {"hetzner", VENDOR | PRODUCT, "hetzner"},
	        {"alibaba cloud", VENDOR | PRODUCT, "alibaba"},
	        {"oraclecloud.com", TAG, "oracle"},
	        {"scaleway", VENDOR | PRODUCT, "scaleway"},
	        {"vultr", VENDOR | PRODUCT, "vultr"},
	        {"linode", VENDOR | PRODUCT, "linode"},
	        {"exoscale", VENDOR | PRODUCT, "exoscale"},
	};
	const char *field[6] = {d->sys_vendor,   d->product_name,   d->bios_vendor,
	                        d->bios_version, d->chassis_vendor, d->chassis_asset_tag};
	for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++)
		for (unsigned f = 0; f < 6; f++)
			if ((rules[r].fields & (1u << f)) && contains(field[f], rules[r].needle))
				return rules[r].cloud;
	/* Azure without its asset tag readable: Microsoft's VM product. This
	 * also matches Hyper-V on premises, which has no better marker. */
	if (contains(d->sys_vendor, "microsoft corporation") &&
	    contains(d->product_name, "virtual machine"))
		return "azure";
	return NULL;
}

bool node_sysinfo_key_reserved(const char *key)
{
	return strncmp(key, NODE_SYS_PREFIX, strlen(NODE_SYS_PREFIX)) == 0;
}

bool node_sysinfo_set_k8s_version(struct node_sysinfo *si, const char *version)
{
	char v[sizeof(si->k8s_version)];
	node_sysinfo_normalize(version != NULL ? version : "", v, sizeof(v));
	if (strcmp(v, si->k8s_version) == 0)
		return false;
	memcpy(si->k8s_version, v, sizeof(v));
	return true;
}

void node_sysinfo_discover(const char *root, struct node_sysinfo *out)
{
	char k8s[sizeof(out->k8s_version)];
	char text[LINE_CAP];
	bool real_root;
	struct utsname u;
	bool have_uname;

	if (root == NULL || root[0] == '\0')
		root = "/";
	real_root = strspn(root, "/") == strlen(root);
	have_uname = real_root && uname(&u) == 0;
	memcpy(k8s, out->k8s_version, sizeof(k8s));
	memset(out, 0, sizeof(*out));
	memcpy(out->k8s_version, k8s, sizeof(k8s));

	if (read_line(root, "proc/sys/kernel/arch", text, sizeof(text)) && text[0] != '\0')
		node_sysinfo_arch(text, out->arch, sizeof(out->arch));
	else if (have_uname)
		node_sysinfo_arch(u.machine, out->arch, sizeof(out->arch));

	if (read_line(root, "proc/sys/kernel/ostype", text, sizeof(text)) && text[0] != '\0')
		node_sysinfo_normalize(text, out->os, sizeof(out->os));
	else if (have_uname)
		node_sysinfo_normalize(u.sysname, out->os, sizeof(out->os));

	if (read_line(root, "proc/sys/kernel/osrelease", text, sizeof(text)) && text[0] != '\0')
		node_sysinfo_normalize(text, out->kernel, sizeof(out->kernel));
	else if (have_uname)
		node_sysinfo_normalize(u.release, out->kernel, sizeof(out->kernel));

	unsigned cpus = count_cpus(root);
	if (cpus > 0)
		snprintf(out->cpus, sizeof(out->cpus), "%u", cpus);
	uint64_t kib = mem_total_kib(root);
	if (kib > 0) /* rounded to the nearest GiB: 15.6 GiB of usable RAM is "16" */
		snprintf(out->memory_gib, sizeof(out->memory_gib), "%llu",
		         (unsigned long long)((kib + 512 * 1024) / (1024 * 1024)));

	char vendor[NODE_SYS_RAW_MAX + 1], product[NODE_SYS_RAW_MAX + 1];
	char bios_vendor[NODE_SYS_RAW_MAX + 1], bios_version[NODE_SYS_RAW_MAX + 1];
	char chassis[NODE_SYS_RAW_MAX + 1], tag[NODE_SYS_RAW_MAX + 1];
	read_line(root, "sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
	read_line(root, "sys/class/dmi/id/product_name", product, sizeof(product));
	read_line(root, "sys/class/dmi/id/bios_vendor", bios_vendor, sizeof(bios_vendor));
	read_line(root, "sys/class/dmi/id/bios_version", bios_version, sizeof(bios_version));
	read_line(root, "sys/class/dmi/id/chassis_vendor", chassis, sizeof(chassis));
	read_line(root, "sys/class/dmi/id/chassis_asset_tag", tag, sizeof(tag));

	node_sysinfo_normalize(vendor, out->hw_vendor, sizeof(out->hw_vendor));
	node_sysinfo_normalize(product, out->hw_product, sizeof(out->hw_product));
	if (out->hw_vendor[0] != '\0')
		memcpy(out->hw_vendor_raw, vendor, sizeof(vendor));
	if (out->hw_product[0] != '\0')
		memcpy(out->hw_product_raw, product, sizeof(product));

	struct node_dmi dmi = {vendor, product, bios_vendor, bios_version, chassis, tag};
	const char *cloud = node_sysinfo_cloud(&dmi);
	if (cloud != NULL)
		snprintf(out->cloud, sizeof(out->cloud), "%s", cloud);
}

size_t node_sysinfo_labels(const struct node_sysinfo *si, struct shoal_label *out)
{
	const struct shoal_label all[NODE_SYS_LABELS_MAX] = {
	        {NODE_SYS_PREFIX "arch", si->arch},
	        {NODE_SYS_PREFIX "os", si->os},
	        {NODE_SYS_PREFIX "kernel", si->kernel},
	        {NODE_SYS_PREFIX "cpus", si->cpus},
	        {NODE_SYS_PREFIX "memory-gib", si->memory_gib},
	        {NODE_SYS_PREFIX "hw-vendor", si->hw_vendor},
	        {NODE_SYS_PREFIX "hw-product", si->hw_product},
	        {NODE_SYS_PREFIX "cloud", si->cloud},
	        {NODE_SYS_PREFIX "k8s-version", si->k8s_version},
	};
	size_t n = 0;
	for (size_t i = 0; i < NODE_SYS_LABELS_MAX; i++)
		if (all[i].value[0] != '\0')
			out[n++] = all[i];
	return n;
}

size_t node_sysinfo_annotations(const struct node_sysinfo *si, struct shoal_label *out)
{
	size_t n = 0;
	if (si->hw_vendor_raw[0] != '\0')
		out[n++] = (struct shoal_label){NODE_SYS_PREFIX "hw-vendor", si->hw_vendor_raw};
	if (si->hw_product_raw[0] != '\0')
		out[n++] = (struct shoal_label){NODE_SYS_PREFIX "hw-product", si->hw_product_raw};
	return n;
}
