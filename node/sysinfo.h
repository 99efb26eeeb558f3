/*
 * sysinfo.h - system labels: what a site is, discovered from its own
 * files, as labels under sys.shoal.io/ that every selector can use.
 *
 * Discovery reads only files under a root directory (shoald's --sysroot,
 * "/" by default): proc/cpuinfo, proc/meminfo, proc/sys/kernel/{arch,
 * osrelease,ostype} and the DMI files in sys/class/dmi/id. A test points the root at a
 * prepared tree and controls every input; uname() is asked for the
 * machine, release and OS only when the root is "/" and the proc file is
 * missing (older kernels have no proc/sys/kernel/arch). A file that is
 * missing or unreadable leaves its label out: discovery never fails.
 *
 * Values are normalised to valid label values (lower case, runs of other
 * characters turned into one '-', alphanumeric at both ends, at most 63
 * characters); the raw DMI vendor and product strings are kept as
 * annotations, since "Dell Inc." cannot be a label value.
 *
 * Thread-safety: none needed; pure functions over caller-owned structs.
 */
#ifndef SHOAL_NODE_SYSINFO_H
#define SHOAL_NODE_SYSINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "shoal/labels.h"

/* The prefix of every system label and annotation; operators may not set
 * keys under it (config.c refuses them). */
#define NODE_SYS_PREFIX "sys.shoal.io/"

#define NODE_SYS_LABELS_MAX                                                                        \
	9 /* arch os kernel cpus memory-gib hw-vendor hw-product cloud k8s-version */
#define NODE_SYS_ANNOTATIONS_MAX 2   /* raw hw-vendor, hw-product */
#define NODE_SYS_RAW_MAX         256 /* a raw DMI string kept as an annotation, bytes */

struct node_sysinfo {
	char arch[SHOAL_LABEL_VALUE_MAX + 1];        /* amd64, arm64, arm, 386, ... */
	char os[SHOAL_LABEL_VALUE_MAX + 1];          /* linux */
	char kernel[SHOAL_LABEL_VALUE_MAX + 1];      /* release, normalised */
	char cpus[SHOAL_LABEL_VALUE_MAX + 1];        /* processors in proc/cpuinfo */
	char memory_gib[SHOAL_LABEL_VALUE_MAX + 1];  /* MemTotal rounded to GiB */
	char hw_vendor[SHOAL_LABEL_VALUE_MAX + 1];   /* DMI sys_vendor, normalised */
	char hw_product[SHOAL_LABEL_VALUE_MAX + 1];  /* DMI product_name, normalised */
	char cloud[SHOAL_LABEL_VALUE_MAX + 1];       /* aws, gcp, azure, ... or "" */
	char k8s_version[SHOAL_LABEL_VALUE_MAX + 1]; /* set by the k8s engine, or "" */
	char hw_vendor_raw[NODE_SYS_RAW_MAX + 1];    /* sys_vendor as read, trimmed */
	char hw_product_raw[NODE_SYS_RAW_MAX + 1];   /* product_name as read, trimmed */
};
/* Every char field is NUL-terminated; "" means "not known", and its label
 * is left out. */

/* Fill `out` from the tree at `root` (NULL means "/"). k8s_version is
 * kept as it was in `out` (discovery cannot know it), so a refresh does
 * not forget what the k8s engine set; zero `out` before the first call. */
void node_sysinfo_discover(const char *root, struct node_sysinfo *out);

/* Set (or clear with NULL or "") the Kubernetes version, normalised like
 * every value ("v1.29.3+k3s1" becomes "v1.29.3-k3s1"). Returns true if
 * the value changed. */
bool node_sysinfo_set_k8s_version(struct node_sysinfo *si, const char *version);

/* The known labels, keys under NODE_SYS_PREFIX, values pointing into si
 * (valid while si is unchanged), in a fixed order. Returns how many of
 * out[NODE_SYS_LABELS_MAX] were filled. */
size_t node_sysinfo_labels(const struct node_sysinfo *si, struct shoal_label *out);
/* The same for annotations (out[NODE_SYS_ANNOTATIONS_MAX]). */
size_t node_sysinfo_annotations(const struct node_sysinfo *si, struct shoal_label *out);

/* Normalise free text into a valid label value in out (cap >= 64 gives
 * the whole of it); out is "" when nothing usable remains. */
void node_sysinfo_normalize(const char *raw, char *out, size_t cap);
/* uname-style machine name as GOARCH: x86_64 -> amd64, aarch64 -> arm64,
 * armv7l -> arm, i686 -> 386; others normalised as they are. */
void node_sysinfo_arch(const char *machine, char *out, size_t cap);

/* The DMI strings cloud detection looks at (NULL or "" when absent). */
struct node_dmi {
	const char *sys_vendor;
	const char *product_name;
	const char *bios_vendor;
	const char *bios_version;
	const char *chassis_vendor;
	const char *chassis_asset_tag;
};
/* "aws", "gcp", "azure", "openstack", ... or NULL when nothing matches
 * (bare metal, or a provider not known here). */
const char *node_sysinfo_cloud(const struct node_dmi *dmi);

/* Is `key` under NODE_SYS_PREFIX (reserved for discovery)? */
bool node_sysinfo_key_reserved(const char *key);

#endif
